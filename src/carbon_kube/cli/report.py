"""``carbon-kube report``: a simulation's savings as one self-contained HTML or Markdown page."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

from carbon_kube.cli import paths
from carbon_kube.sim.outputs import read_outputs
from carbon_kube.sim.pages import PageFormat, build_report, write_report


def report_command(
    from_dir: Path = typer.Option(
        ...,
        "--from",
        parser=paths.INPUT_PATH,
        help="A `carbon-kube simulate --out` folder (summary.json and jobs.csv).",
    ),
    page_format: PageFormat = typer.Option(
        PageFormat.HTML, "--format", help="html (a page for browsers) or md (Markdown)."
    ),
    out: Path | None = typer.Option(
        None,
        "--out",
        parser=paths.OUTPUT_FILE,
        help="The page to write (default: report.html or report.md in --from).",
    ),
    policy: str | None = typer.Option(
        None,
        "--policy",
        help="Carbon-aware policy for the per-zone timelines (default: the largest saving "
        "without deadline misses).",
    ),
) -> None:
    """Render the savings tables and charts of a simulation as one self-contained page.

    The page embeds its charts (PNG as data: URIs) and styles, so it opens offline and can be
    shared as a single file. It is written atomically: an existing page is replaced only when
    the new one is complete.
    """
    console = Console(stderr=True)
    with console.status("rendering the report"):
        outputs = read_outputs(from_dir)
        report = build_report(outputs, policy)
        target = out or from_dir / f"report.{page_format.value}"
        written = write_report(target, report, page_format)
    for path in written:
        typer.echo(f"wrote {path}")
