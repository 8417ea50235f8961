"""``carbon-kube lab up|down|status|env``: a real Kubernetes control plane on this machine.

Parses options into :class:`~carbon_kube.lab.settings.LabSettings` and calls
``carbon_kube.lab.control_plane``; no logic of its own. The binaries come from
``hack/lab/build.sh``.

The lab's one edge to the environment: :func:`default_bin_dir` and :func:`default_state_dir`
read ``$CARBON_KUBE_LAB_BIN``, ``$XDG_CACHE_HOME``, the home directory, ``/dev/shm`` and the
user id; the test fixtures and benches call them too, and nothing under ``carbon_kube.lab``
reads the environment.
"""

from __future__ import annotations

import logging
import os
import shlex
import shutil
import sys
import tempfile
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

import typer
import yaml
from rich.console import Console
from rich.table import Table

from carbon_kube.cli import paths
from carbon_kube.cli.output import OUTPUT, Answer, OutputFormat, emit
from carbon_kube.cli.schemas import CSV_COLUMNS
from carbon_kube.cli.settings_options import field_default
from carbon_kube.domain.errors import InputError
from carbon_kube.lab.control_plane import read_status, run_down, run_up
from carbon_kube.lab.install import INSTALLED_COMPONENTS
from carbon_kube.lab.settings import (
    ExtenderConfig,
    InstallSettings,
    LabSettings,
    RealNodeSettings,
    bin_dir_in_cache,
    default_node_pools,
    state_dir_in,
)
from carbon_kube.lab.state import read_state
from carbon_kube.storage.reading import read_user_text

__all__ = ["app", "default_bin_dir", "default_state_dir"]

app = typer.Typer(
    help="Run a local Kubernetes control plane (etcd, apiserver, controller-manager, "
    "scheduler, kwok fake nodes) to watch Carbon-Kube work before touching a cluster.",
    no_args_is_help=True,
)


def default_bin_dir(environ: Mapping[str, str] | None = None) -> Path:
    """Where hack/lab/build.sh puts binaries: $CARBON_KUBE_LAB_BIN or the versioned cache."""
    env = os.environ if environ is None else environ
    explicit = env.get("CARBON_KUBE_LAB_BIN")
    if explicit:
        return Path(explicit)
    return bin_dir_in_cache(Path(env.get("XDG_CACHE_HOME") or Path.home() / ".cache"))


def default_state_dir() -> Path:
    """Per-user state directory (PKI, etcd data, logs, PIDs); ``down`` removes it."""
    base = Path("/dev/shm") if Path("/dev/shm").is_dir() else Path(tempfile.gettempdir())  # noqa: S108 - tmpfs keeps etcd fast; the path is per-user below
    return state_dir_in(base, os.getuid())


_STATE_DIR_HELP = "Where PKI, etcd data, logs and PIDs live; `down` deletes it."


# The variable `lab env` exports, so `lab status` and `lab down` find the lab it described.
_STATE_DIR_OPTION: Any = typer.Option(
    None,
    "--state-dir",
    parser=paths.OUTPUT_FOLDER,
    envvar="CARBON_KUBE_LAB_STATE_DIR",
    help=_STATE_DIR_HELP,
)


def _which(tool: str) -> Path | None:
    found = shutil.which(tool)
    return Path(found) if found else None


def _read_overrides(path: Path | None) -> dict[str, object]:
    if path is None:
        return {}
    try:
        loaded = yaml.safe_load(read_user_text(path))
    except yaml.YAMLError as error:
        raise InputError(f"cannot read YAML: {error}", source=path) from None
    if not isinstance(loaded, dict):
        raise InputError(
            "expected a mapping of KubeSchedulerConfiguration keys (e.g. profiles:, extenders:)",
            source=path,
        )
    return {str(k): v for k, v in loaded.items()}


@app.command("up")
def up(
    state_dir: Path | None = _STATE_DIR_OPTION,
    bin_dir: Path | None = typer.Option(
        None,
        "--bin-dir",
        parser=paths.INPUT_PATH,
        help="Directory with etcd, kube-*, kwok (default: hack/lab/build.sh's cache).",
    ),
    zones: int = typer.Option(3, min=1, max=64, help="Number of zones with fake nodes."),
    nodes_per_zone: int = typer.Option(10, min=1, max=10_000, help="Fake nodes in each zone."),
    speedup: float = typer.Option(
        1.0,
        min=0.001,
        max=1e6,
        help="Virtual clock speed-up: 60 plays an hour of carbon data per minute.",
    ),
    extender: list[str] = typer.Option(
        [],
        "--extender",
        help="Scheduler extender URL prefix (repeatable), e.g. http://127.0.0.1:8888.",
    ),
    extender_weight: int = typer.Option(1, min=1, max=100, help="Weight of every --extender."),
    extender_filter: bool = typer.Option(
        False,
        "--extender-filter",
        help="Also call each --extender's filter verb (default: prioritize only; allowed-zones "
        "is node affinity written by the webhook).",
    ),
    scheduler_config: Path | None = typer.Option(
        None,
        "--scheduler-config",
        parser=paths.INPUT_TEXT,
        help="YAML with KubeSchedulerConfiguration keys merged over the generated ones.",
    ),
    ready_timeout_s: float = typer.Option(
        180.0, min=1.0, max=86_400.0, help="Readiness timeout per component."
    ),
    install: bool = typer.Option(
        False,
        "--install",
        help="Also run Carbon-Kube in the lab: its webhook (registered for the chart's kinds "
        "and namespaces) and its controller, as host processes on the lab's virtual clock, "
        "plus the stand-in Spark and Flink CRDs, so `kubectl apply -f examples/` is held and "
        "released as in a cluster.",
    ),
    real_node: bool = typer.Option(
        False,
        "--real-node",
        help="Also run one real kubelet node (containerd, runc, CNI bridge; tainted "
        "carbon-kube.io/real-node) beside the fake ones, in a private mount namespace so the "
        "host's sysctls and mounts stay untouched. Needs root, hack/ensure-real-node.sh and "
        "`hack/lab/build.sh kubelet`.",
    ),
    node_image: list[Path] = typer.Option(
        [],
        "--node-image",
        parser=paths.INPUT_PATH,
        help="With --real-node: an OCI image archive to import into the node (repeatable), "
        "e.g. build/images/carbon-kube-VERSION.oci.tar from `make image`.",
    ),
    home_zone: str = typer.Option(
        field_default(InstallSettings, "home_zone"),
        "--home-zone",
        help="With --install: the grid zone the lab's Carbon-Kube plans for (the chart's "
        "zones.home).",
    ),
) -> None:
    """Start the lab and wait until every component and fake node is ready."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    settings = LabSettings(
        bin_dir=bin_dir or default_bin_dir(),
        state_dir=state_dir or default_state_dir(),
        node_pools=default_node_pools(zones, nodes_per_zone),
        extenders=tuple(
            ExtenderConfig(
                url_prefix=url,
                weight=extender_weight,
                filter_verb="filter" if extender_filter else None,
            )
            for url in extender
        ),
        scheduler_config_overrides=_read_overrides(scheduler_config),
        speedup=speedup,
        ready_timeout=timedelta(seconds=ready_timeout_s),
        install=InstallSettings(
            python=Path(sys.executable), home_zone=home_zone, prometheus=_which("prometheus")
        )
        if install
        else None,
        real_node=RealNodeSettings(
            python=Path(sys.executable), images=tuple(p.resolve() for p in node_image)
        )
        if real_node
        else None,
    )
    if node_image and not real_node:
        raise InputError(
            "--node-image needs --real-node (only a real node runs images)", field="--node-image"
        )
    state = run_up(settings)
    real = " and 1 real node (localhost)" if state.real_node_bridge else ""
    fake = len(state.nodes) - (1 if real else 0)
    typer.echo(
        f"lab is up: {state.server_url}, {fake} fake nodes{real}, state in {state.state_dir}"
    )
    if state.installed:
        pids = ", ".join(
            f"{p.name} pid {p.pid}" for p in state.processes if p.name in INSTALLED_COMPONENTS
        )
        typer.echo(
            f"Carbon-Kube runs as host processes ({pids}; logs in {state.state_dir / 'logs'}), "
            f"planning for {home_zone} on the lab's virtual clock. The chart's pods would run "
            "on the real clock, so --install does not use them yet; to run the chart on a real "
            "node see hack/lab/README.md, 'A real node'."
        )
        if state.prometheus_url:
            typer.echo(
                f"Prometheus {state.prometheus_url} scrapes both (`carbon-kube metrics export`)"
            )
        else:
            typer.echo("no Prometheus: install Debian's (hack/ensure-prometheus.sh) to scrape them")
        typer.echo("try: kubectl apply -f examples/batch-job.yaml && kubectl get jobs")
    typer.echo(f"export KUBECONFIG={state.kubeconfig}")
    typer.echo('or: eval "$(carbon-kube lab env)"  (KUBECONFIG, kubectl on PATH, virtual clock)')


@app.command("down")
def down(state_dir: Path | None = _STATE_DIR_OPTION) -> None:
    """Stop exactly the processes `up` started and delete the state directory."""
    directory = state_dir or default_state_dir()
    if not directory.exists():
        typer.echo(f"no lab in {directory}: nothing to do")
        return
    stopped = run_down(directory)
    typer.echo(("stopped " + ", ".join(stopped)) if stopped else "no lab process was running")
    typer.echo(f"removed {directory}")


@app.command("status")
def status(state_dir: Path | None = _STATE_DIR_OPTION, output: OutputFormat = OUTPUT) -> None:
    """Show each component's PID and liveness, apiserver readiness and node readiness.

    Exits 1 when a component is down or the apiserver or a node is not ready, in every output
    format, so scripts can wait on it.
    """
    directory = state_dir or default_state_dir()
    state = read_state(directory)
    if state is None:
        typer.echo(f"no lab in {directory} (start one with `carbon-kube lab up`)", err=True)
        raise typer.Exit(code=1)
    report = read_status(state)
    components = [
        {
            "component": component.name,
            "pid": component.pid,
            "alive": component.alive,
            "log": str(component.log_path),
        }
        for component in report.components
    ]
    document = {
        "server_url": report.server_url,
        "server_version": report.server_version,
        "apiserver_ready": report.apiserver_ready,
        "nodes_ready": report.nodes_ready,
        "nodes_total": report.nodes_total,
        "virtual_now": report.virtual_now.isoformat(),
        "speedup": state.speedup,
        "healthy": report.healthy,
        "components": components,
    }

    def table(console: Console) -> None:
        rendered = Table(
            title=f"lab {report.server_url} ({report.server_version or 'apiserver unreachable'})"
        )
        for column in ("component", "pid", "alive", "log"):
            rendered.add_column(column)
        for row in components:
            rendered.add_row(
                str(row["component"]),
                str(row["pid"]),
                "yes" if row["alive"] else "NO",
                str(row["log"]),
            )
        console.print(rendered)
        console.print(
            f"apiserver ready: {report.apiserver_ready}; "
            f"nodes Ready: {report.nodes_ready}/{report.nodes_total}; "
            f"virtual now: {report.virtual_now.isoformat()} (speed-up x{state.speedup:g})",
            soft_wrap=True,
        )

    emit(Answer(document, components, table, columns=CSV_COLUMNS["lab status"]), output)
    if not report.healthy:
        raise typer.Exit(code=1)


@app.command("env")
def env(state_dir: Path | None = _STATE_DIR_OPTION) -> None:
    """Print shell exports for kubectl and Carbon-Kube: eval "$(carbon-kube lab env)"."""
    directory = state_dir or default_state_dir()
    state = read_state(directory)
    if state is None:
        typer.echo(f"no lab in {directory} (start one with `carbon-kube lab up`)", err=True)
        raise typer.Exit(code=1)
    typer.echo(f"export KUBECONFIG={state.kubeconfig}")
    # kubectl, which hack/lab/build.sh builds beside the apiserver, first on PATH.
    apiserver = [p.binary.parent for p in state.processes if p.name == "kube-apiserver"]
    for bin_dir in apiserver[:1]:
        typer.echo(f'export PATH={shlex.quote(str(bin_dir))}:"$PATH"')
    typer.echo(f"export CARBON_KUBE_LAB_STATE_DIR={state.state_dir}")
    if state.prometheus_url:
        # `carbon-kube metrics export` reads its --prometheus from this variable.
        typer.echo(f"export CARBON_KUBE_PROMETHEUS={state.prometheus_url}")
    typer.echo(f"export CARBON_KUBE_LAB_SPEEDUP={state.speedup:g}")
    typer.echo(f"export CARBON_KUBE_LAB_VIRTUAL_EPOCH={state.virtual_epoch.isoformat()}")
    typer.echo(f"export CARBON_KUBE_LAB_REAL_EPOCH={state.real_epoch.isoformat()}")
