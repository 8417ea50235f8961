"""``carbon-kube webhook serve``: the admission webhook that holds flexible workloads.

Parses options, builds the planner and calls ``run_webhook``; no logic of its own.
"""

from __future__ import annotations

from pathlib import Path

import typer

from carbon_kube.cli import paths, planning
from carbon_kube.cli.logs import serving_logs
from carbon_kube.cli.settings_options import field_default
from carbon_kube.domain.errors import InputError
from carbon_kube.webhook.server import WebhookServerSettings, run_webhook

app = typer.Typer(
    help="Mutating/validating admission webhook: admits opted-in Pods gated, Jobs, "
    "SparkApplications and FlinkDeployments suspended, with their carbon plan as annotations.",
    no_args_is_help=True,
)


@app.command("serve")
def serve(
    tls_cert: Path | None = typer.Option(
        None,
        "--tls-cert",
        parser=paths.INPUT_TEXT,
        help="PEM certificate the apiserver verifies (its caBundle's CA).",
    ),
    tls_key: Path | None = typer.Option(
        None, "--tls-key", parser=paths.INPUT_TEXT, help="PEM private key of --tls-cert."
    ),
    port: int = typer.Option(
        field_default(WebhookServerSettings, "port"),
        "--port",
        min=0,
        max=65535,
        help="Port to listen on.",
    ),
    host: str | None = typer.Option(
        None,
        "--host",
        help=f"Address to listen on (default {field_default(WebhookServerSettings, 'host')}, "
        "for the apiserver; 127.0.0.1 with --insecure-http, which is for local debugging).",
    ),
    insecure_http: bool = typer.Option(
        False,
        "--insecure-http",
        help="Serve plain HTTP (local debugging only; the apiserver calls webhooks over HTTPS).",
    ),
    home_zone: str = planning.HOME_ZONE,
    policy: str = planning.POLICY,
    threshold_g_per_kwh: float = planning.THRESHOLD_G_PER_KWH,
    latency_risk: float = planning.LATENCY_RISK,
    adaptive_threshold: bool = planning.ADAPTIVE_THRESHOLD,
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
    kubeconfig: Path | None = planning.KUBECONFIG,
    lab_state_dir: Path | None = planning.LAB_STATE_DIR,
    region_map: Path | None = planning.REGION_MAP,
    region_zone: list[str] = planning.REGION_ZONE,
) -> None:
    """Serve /mutate, /mutate/namespace, /validate, /validate/namespace, /healthz, /metrics."""
    tls = planning.parse_tls_files(tls_cert, tls_key)
    if tls is None and not insecure_http:
        raise InputError(
            "the apiserver only calls webhooks over HTTPS: give --tls-cert and --tls-key "
            "(or --insecure-http for local debugging)",
            field="--tls-cert",
        )
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
        latency_risk=latency_risk,
        adaptive_threshold=adaptive_threshold,
    )
    regions = planning.build_region_map(region_map, region_zone)
    if host is None:
        host = "127.0.0.1" if insecure_http else field_default(WebhookServerSettings, "host")
    serving_logs()
    run_webhook(planner, WebhookServerSettings(host=host, port=port, tls=tls), regions)
