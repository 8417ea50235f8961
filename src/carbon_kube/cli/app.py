"""The root ``carbon-kube`` command and its error boundary.

User mistakes (``InputError``) become one line on stderr and exit code 2, never a traceback.
Sub-command groups live in sibling modules and are registered here with one line each.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.logging import RichHandler
from typer._click.exceptions import NoArgsIsHelpError, UsageError

from carbon_kube import __version__
from carbon_kube.cli import paths, settings_sources
from carbon_kube.cli.lazy import LazyCommand, LazyGroup
from carbon_kube.domain.errors import CarbonKubeError, InputError, ProviderError

# The exit codes, one table for every command (docs/cli.md is written from EXIT_CODES).
EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_INPUT_ERROR = 2
EXIT_PROVIDER_ERROR = 3
EXIT_INTERRUPTED = 130
EXIT_CODES = {
    EXIT_OK: "success",
    EXIT_FAILURE: "Carbon-Kube failed, or a check it reports failed (`lab status` unhealthy, "
    "`dashboards generate --check` found drift); a traceback means a bug: please report it",
    EXIT_INPUT_ERROR: "a flag, file, path or value is wrong; the one-line message names the file, "
    "line and field and what was expected; nothing was written",
    EXIT_PROVIDER_ERROR: "a network source failed (a carbon API, Prometheus): retry later; "
    "stale data, when served instead, is flagged and exits 0",
    EXIT_INTERRUPTED: "interrupted (Ctrl-C)",
}

_PIPE_HELP_WIDTH = 160

# name -> where it lives and its one-line help (checked against the command's own docstring).
LazyGroup.lazy_commands = {
    "zones": LazyCommand(
        "carbon_kube.cli.zones:zones_command",
        "List cloud regions and their grid zones; regions sharing a zone share a grid.",
    ),
    "simulate": LazyCommand(
        "carbon_kube.cli.simulate:simulate_command",
        "Replay jobs through carbon-aware policies on real intensity and report the savings.",
    ),
    "report": LazyCommand(
        "carbon_kube.cli.report:report_command",
        "Render the savings tables and charts of a simulation as one self-contained page.",
    ),
    "plan": LazyCommand(
        "carbon_kube.cli.plan:plan_command",
        "Print the plan the webhook would write for a job with these annotations, decided now.",
    ),
    "intensity": LazyCommand(
        "carbon_kube.cli.intensity:app", "Show and fetch grid carbon intensity."
    ),
    "traces": LazyCommand(
        "carbon_kube.cli.traces:app", "Convert public job traces for the simulator."
    ),
    "lab": LazyCommand(
        "carbon_kube.cli.lab:app",
        "Run a local Kubernetes control plane to watch Carbon-Kube work before a cluster.",
    ),
    "webhook": LazyCommand(
        "carbon_kube.cli.webhook:app",
        "Admission webhook: admits opted-in workloads gated or suspended, with their plan.",
    ),
    "extender": LazyCommand(
        "carbon_kube.cli.extender:app",
        "kube-scheduler HTTP extender: score nodes by intensity x energy, filter by zone.",
    ),
    "dashboards": LazyCommand(
        "carbon_kube.cli.dashboards:app",
        "Grafana dashboards as code: Carbon savings, Held work, Signal, Job latency.",
    ),
    "forecast": LazyCommand(
        "carbon_kube.cli.forecast:app",
        "Forecast grid carbon intensity 1-72 h ahead and backtest the forecasts.",
    ),
    "controller": LazyCommand(
        "carbon_kube.cli.controller:app",
        "The controller: releases held work on time, labels nodes, weighs NodePools.",
    ),
    "metrics": LazyCommand(
        "carbon_kube.cli.metrics:app",
        "Carbon-Kube's Prometheus series as files (for notebooks/plot_savings.ipynb).",
    ),
}

app = typer.Typer(
    name="carbon-kube",
    cls=LazyGroup,
    help=(
        "Carbon-aware scheduling for Kubernetes batch and big-data work: read grid carbon "
        "intensity, decide where and when flexible jobs run, and prove the savings."
    ),
    epilog=settings_sources.EPILOG,
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _version(show: bool) -> None:
    if show:
        typer.echo(f"carbon-kube {__version__}")
        raise typer.Exit


@app.callback()
def root(
    ctx: typer.Context,
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
    config: Path | None = typer.Option(
        None,
        "--config",
        envvar="CARBON_KUBE_CONFIG",
        parser=paths.INPUT_TEXT,
        help="YAML file of option values (names as in --help or the Helm values).",
    ),
) -> None:
    """Carbon-aware scheduling for Kubernetes batch and big-data work."""
    settings_sources.apply(ctx, config)


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point with the error boundary around every command."""
    # Library code logs; only the CLI decides how logs look. Warnings (retries, fallbacks to
    # stale data) are worth a user's attention, so they go to stderr, tersely.
    logging.basicConfig(
        level=logging.WARNING,
        format="%(message)s",
        handlers=[RichHandler(console=Console(stderr=True), show_path=False, show_time=False)],
    )
    # httpx logs every request's full URL at INFO, and ENTSO-E's token travels in the query
    # string: a server run at --log-level INFO must not write it to its logs.
    for chatty in ("httpx", "httpcore"):
        logging.getLogger(chatty).setLevel(logging.WARNING)
    _wide_help_on_pipes()
    run_guarded(lambda: app(args=argv, prog_name="carbon-kube", standalone_mode=False))


def _wide_help_on_pipes() -> None:
    """Typer draws --help at 80 columns on a pipe and cuts long words with an ellipsis."""
    if sys.stdout.isatty():
        return
    os.environ.setdefault("TERMINAL_WIDTH", str(_PIPE_HELP_WIDTH))
    # typer reads the variable when its help module is first imported (only to draw help);
    # in a process that drew help before (tests), set the width it read then.
    drawn = sys.modules.get("typer.rich_utils")
    if drawn is not None:
        setattr(drawn, "MAX_WIDTH", int(os.environ["TERMINAL_WIDTH"]))  # noqa: B010


def run_guarded(call: Callable[[], Any]) -> None:
    """Turn the package's expected errors into a one-line message and an exit code.

    ``call`` runs the app with ``standalone_mode=False``, so click's own usage errors (a
    missing option, a value out of its range) reach this boundary too and read like ours:
    one line naming the option, exit 2, instead of a usage box.
    """
    err = Console(stderr=True, highlight=False, soft_wrap=True)
    try:
        result = call()
    except NoArgsIsHelpError:
        sys.exit(EXIT_INPUT_ERROR)  # typer has drawn the help already; nothing was asked
    except UsageError as error:
        where = error.ctx.command_path if error.ctx is not None else "carbon-kube"
        err.print(f"error: {error.format_message()} (see `{where} --help`)", markup=False)
        sys.exit(EXIT_INPUT_ERROR)
    except typer.Abort:
        err.print("error: interrupted", markup=False)
        sys.exit(EXIT_INTERRUPTED)
    except InputError as error:
        err.print(f"error: {error.render()}", markup=False)
        sys.exit(EXIT_INPUT_ERROR)
    except ProviderError as error:
        err.print(f"error: {error}", markup=False)
        sys.exit(EXIT_PROVIDER_ERROR)
    except CarbonKubeError as error:
        err.print(f"error: {error}", markup=False)
        sys.exit(EXIT_FAILURE)
    except BrokenPipeError:
        # `carbon-kube zones | head`: the reader left; that is not an error of ours.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(EXIT_OK)
    except OSError as error:
        # The last net under every file a command writes or reads: a path the user gave that
        # the checks at parse time could not foresee (a disk that filled, a folder removed).
        if error.filename is None:
            raise
        err.print(f"error: {error.filename}: {error.strerror or error}", markup=False)
        sys.exit(EXIT_INPUT_ERROR)
    # A command that ends with typer.Exit(code) (or --help, 0) returns its code here.
    sys.exit(result if isinstance(result, int) else EXIT_OK)
