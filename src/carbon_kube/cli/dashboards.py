"""``carbon-kube dashboards generate``: write (or check) the Grafana dashboards' JSON.

Parses options and calls ``carbon_kube.dashboards``; no logic of its own.
"""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

from carbon_kube.cli import paths
from carbon_kube.dashboards import find_drift, write_dashboards

app = typer.Typer(
    help="Grafana dashboards as code: Carbon savings, Held work, Signal, Job latency.",
    no_args_is_help=True,
)

EXIT_DRIFT = 1


@app.command("generate")
def generate(
    out: Path = typer.Option(
        Path("dashboards"),
        "--out",
        parser=paths.OUTPUT_FOLDER,
        help="Directory the dashboard JSON files are written to.",
    ),
    check: bool = typer.Option(
        False,
        "--check",
        help="Write nothing; exit 1 listing every file that differs from the code "
        "(for CI: the committed JSON must be regenerated after changing a dashboard).",
    ),
) -> None:
    """Render every dashboard from code into --out (atomically, one file per dashboard).

    Import the files in Grafana (Dashboards > New > Import) or provision them; each reads
    the Prometheus data source picked in its 'Data source' variable.
    """
    console = Console(highlight=False, soft_wrap=True)
    if check:
        problems = find_drift(out)
        for problem in problems:
            console.print(f"drift: {problem}", markup=False)
        if problems:
            console.print("run `carbon-kube dashboards generate` and commit the result")
            raise typer.Exit(EXIT_DRIFT)
        console.print(f"{out}: dashboards match the code")
        return
    for path in write_dashboards(out):
        console.print(f"wrote {path}", markup=False)
