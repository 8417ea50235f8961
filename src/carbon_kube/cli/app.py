"""The root ``carbon-kube`` command and its error boundary.

User mistakes (``InputError``) become one line on stderr and exit code 2, never a traceback.
Sub-command groups live in sibling modules and are registered here with one line each.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from typing import Any

import typer
from rich.console import Console
from rich.logging import RichHandler

from carbon_kube import __version__
from carbon_kube.cli import (
    controller,
    dashboards,
    extender,
    fetch,
    forecast,
    forecast_show,
    intensity,
    lab,
    metrics,
    plan,
    report,
    simulate,
    traces,
    webhook,
    zones,
)
from carbon_kube.domain.errors import CarbonKubeError, InputError, ProviderError

EXIT_INPUT_ERROR = 2
EXIT_PROVIDER_ERROR = 3

app = typer.Typer(
    name="carbon-kube",
    help=(
        "Carbon-aware scheduling for Kubernetes batch and big-data work: read grid carbon "
        "intensity, decide where and when flexible jobs run, and prove the savings."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(intensity.app, name="intensity")
intensity.app.command("fetch")(fetch.fetch_command)
app.add_typer(traces.app, name="traces")
app.add_typer(lab.app, name="lab")
app.command("zones")(zones.zones_command)
app.command("simulate")(simulate.simulate_command)
app.add_typer(webhook.app, name="webhook")
app.add_typer(extender.app, name="extender")
app.add_typer(dashboards.app, name="dashboards")
app.add_typer(forecast.app, name="forecast")
forecast.app.command("show")(forecast_show.show_command)
app.add_typer(controller.app, name="controller")
app.command("report")(report.report_command)
app.command("plan")(plan.plan_command)
app.add_typer(metrics.app, name="metrics")


def _version(show: bool) -> None:
    if show:
        typer.echo(f"carbon-kube {__version__}")
        raise typer.Exit


@app.callback()
def root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """Carbon-aware scheduling for Kubernetes batch and big-data work."""


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point with the error boundary around every command."""
    # Library code logs; only the CLI decides how logs look. Warnings (retries, fallbacks to
    # stale data) are worth a user's attention, so they go to stderr, tersely.
    logging.basicConfig(
        level=logging.WARNING,
        format="%(message)s",
        handlers=[RichHandler(console=Console(stderr=True), show_path=False, show_time=False)],
    )
    run_guarded(lambda: app(args=argv, standalone_mode=True))


def run_guarded(call: Callable[[], Any]) -> None:
    """Turn the package's expected errors into a one-line message and an exit code."""
    err = Console(stderr=True, highlight=False, soft_wrap=True)
    try:
        call()
    except InputError as error:
        err.print(f"error: {error.render()}", markup=False)
        sys.exit(EXIT_INPUT_ERROR)
    except ProviderError as error:
        err.print(f"error: {error}", markup=False)
        sys.exit(EXIT_PROVIDER_ERROR)
    except CarbonKubeError as error:
        err.print(f"error: {error}", markup=False)
        sys.exit(1)
