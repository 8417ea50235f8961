"""``carbon-kube extender serve``: the kube-scheduler extender scoring nodes by emissions.

Parses options, builds the planner, node cache and kube client, and calls ``run_extender``;
no logic of its own.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import typer

from carbon_kube.cli import paths, planning
from carbon_kube.cli.logs import serving_logs
from carbon_kube.cli.settings_options import field_default
from carbon_kube.domain.errors import InputError
from carbon_kube.extender.nodes import NodeCache
from carbon_kube.extender.scheduling import ExtenderContext, ZoneIntensities
from carbon_kube.extender.server import ExtenderServerSettings, run_extender
from carbon_kube.kube.connection import client_for

app = typer.Typer(
    help="kube-scheduler HTTP extender: score nodes by intensity x energy (0..10) at "
    "/prioritize; /filter (optional: the webhook already turns allowed-zones into node "
    "affinity) removes nodes outside a pod's allowed grid zones. Configure it in a second "
    "scheduler profile (schedulerName: carbon-kube-scheduler) with ignorable: true; see "
    "docs/enforcement.md.",
    no_args_is_help=True,
)


@app.command("serve")
def serve(
    port: int = typer.Option(
        field_default(ExtenderServerSettings, "port"),
        "--port",
        min=0,
        max=65535,
        help="Port to listen on.",
    ),
    host: str = typer.Option(
        field_default(ExtenderServerSettings, "host"), "--host", help="Address to listen on."
    ),
    tls_cert: Path | None = typer.Option(
        None, "--tls-cert", parser=paths.INPUT_TEXT, help="PEM certificate (HTTPS)."
    ),
    tls_key: Path | None = typer.Option(
        None, "--tls-key", parser=paths.INPUT_TEXT, help="PEM private key of --tls-cert."
    ),
    kubeconfig: Path | None = typer.Option(
        None,
        "--kubeconfig",
        parser=paths.INPUT_TEXT,
        help="Kubeconfig to list Nodes from (zone and instance type per node name); without "
        "it only Nodes sent by a scheduler that is not nodeCacheCapable are known.",
    ),
    in_cluster: bool = typer.Option(
        False,
        "--in-cluster",
        help="List Nodes with the pod's ServiceAccount (how the Helm chart runs it).",
    ),
    node_refresh_s: float = typer.Option(
        field_default(ExtenderServerSettings, "node_refresh").total_seconds(),
        "--node-refresh-seconds",
        min=1.0,
        max=86_400.0,
        help="How often to re-list Nodes.",
    ),
    region_map: Path | None = planning.REGION_MAP,
    region_zone: list[str] = planning.REGION_ZONE,
    home_zone: str = planning.HOME_ZONE,
    policy: str = planning.POLICY,
    threshold_g_per_kwh: float = planning.THRESHOLD_G_PER_KWH,
    forecast: str = planning.FORECAST,
    source: planning.SignalSource = planning.SOURCE,
    intensity_file: Path | None = planning.INTENSITY_FILE,
    cache: Path | None = planning.CACHE,
    electricitymaps_url: str = planning.ELECTRICITYMAPS_URL,
    watttime_url: str = planning.WATTTIME_URL,
    ukcarbon_url: str = planning.UKCARBON_URL,
    entsoe_url: str = planning.ENTSOE_URL,
    watttime_region: str | None = planning.WATTTIME_REGION,
    signal_namespace: str = planning.SIGNAL_NAMESPACE,
    lab_state_dir: Path | None = planning.LAB_STATE_DIR,
) -> None:
    """Serve POST /filter and /prioritize, GET /healthz and /metrics."""
    tls = planning.parse_tls_files(tls_cert, tls_key)
    if kubeconfig is not None and not kubeconfig.is_file():
        raise InputError("file not found", source=kubeconfig)
    planner = planning.build_planner(
        home_zone=home_zone,
        policy=policy,
        forecast=forecast,
        source=planning.source_settings(
            source,
            intensity_file=intensity_file,
            cache=cache,
            electricitymaps_url=electricitymaps_url,
            watttime_url=watttime_url,
            ukcarbon_url=ukcarbon_url,
            entsoe_url=entsoe_url,
            watttime_region=watttime_region,
            signal_namespace=signal_namespace,
        ),
        lab_state_dir=lab_state_dir,
        kubeconfig=kubeconfig,
        threshold_g_per_kwh=threshold_g_per_kwh,
    )
    context = ExtenderContext(
        nodes=NodeCache(planning.build_region_map(region_map, region_zone)),
        intensities=ZoneIntensities(planner),
        home_zone=planner.settings.home,
    )
    settings = ExtenderServerSettings(
        host=host, port=port, tls=tls, node_refresh=timedelta(seconds=node_refresh_s)
    )
    if in_cluster and kubeconfig is not None:
        raise InputError("give --kubeconfig or --in-cluster, not both", field="--in-cluster")
    kube = client_for(kubeconfig) if kubeconfig is not None or in_cluster else None
    serving_logs()
    run_extender(context, settings, kube)
