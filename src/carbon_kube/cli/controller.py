"""``carbon-kube controller run``: the controller process (leader-elected kopf operator).

Parses options into :class:`~carbon_kube.operator.settings.ControllerSettings` (whose fields,
and ``PlanningSettings``' for re-planning, give the options their defaults), builds the clock
(real, or the lab's virtual clock), the carbon signal (``cli.planning.build_signal``) and the API
client, and calls :func:`carbon_kube.operator.running.run_controller`. No logic of its own.
"""

from __future__ import annotations

import logging
import os
import socket
from datetime import timedelta
from pathlib import Path
from typing import Any

import typer
from prometheus_client import start_http_server

from carbon_kube.cli import paths, planning
from carbon_kube.cli.options import parse_instant
from carbon_kube.cli.settings_options import field_default, field_option
from carbon_kube.domain.annotations import parse_allowed_zones
from carbon_kube.domain.durations import format_duration, parse_duration
from carbon_kube.domain.errors import InputError
from carbon_kube.domain.workloads import WorkloadKind
from carbon_kube.kube.connection import client_for, read_connection
from carbon_kube.lab.clock import VirtualClock, real_utc_now
from carbon_kube.lab.state import read_state
from carbon_kube.observability.metrics import REGISTRY
from carbon_kube.operator.leadership import LeaseSettings
from carbon_kube.operator.outcomes import PlanningOutcomes
from carbon_kube.operator.replanning import PlanningReplanner
from carbon_kube.operator.running import run_controller
from carbon_kube.operator.settings import (
    ControllerClock,
    ControllerSettings,
    PauseSettings,
    SignalPublishing,
    WallClock,
)
from carbon_kube.planning.service import PlanningService
from carbon_kube.planning.settings import PlanningSettings

app = typer.Typer(
    help="The Carbon-Kube controller: releases held workloads at their planned time (and always "
    "by their latest safe start), labels nodes with grid zone and intensity, weighs Karpenter "
    "NodePools.",
    no_args_is_help=True,
)


def _default(name: str) -> Any:
    return field_default(ControllerSettings, name)


def _default_duration(settings: type[Any], name: str) -> str:
    value: timedelta = field_default(settings, name)
    return format_duration(value)


_KINDS = {kind.value: kind for kind in WorkloadKind}


def _duration(text: str, option: str, *, positive: bool = False) -> timedelta:
    duration = parse_duration(text, option)
    if positive and duration <= timedelta(0):
        raise InputError(f"must be positive, got {text!r}", field=option)
    return duration


def _publishing(zones: str, interval: str, **fields: Any) -> SignalPublishing:
    """``--publish-zones`` and its options, each mistake named by its own option.

    ``fields`` are the other ``SignalPublishing`` fields, already checked by their options.
    """
    try:
        parsed = parse_allowed_zones(zones)
    except InputError as error:
        raise InputError(error.message, field="--publish-zones") from None
    if not parsed:
        raise InputError("expected grid zone ids such as DE,FR", field="--publish-zones")
    every = _duration(interval, "--signal-interval", positive=True)
    return SignalPublishing(zones=parsed, interval=every, **fields)


def _kinds(text: str) -> tuple[WorkloadKind, ...]:
    names = [part.strip().lower() for part in text.split(",") if part.strip()]
    unknown = [name for name in names if name not in _KINDS]
    if unknown or not names:
        raise InputError(f"expected some of {','.join(_KINDS)}, got {text!r}", field="--kinds")
    return tuple(_KINDS[name] for name in dict.fromkeys(names))


@app.command("run")
def run(
    kubeconfig: Path | None = typer.Option(
        None,
        "--kubeconfig",
        parser=paths.INPUT_TEXT,
        envvar="KUBECONFIG",
        help="Kubeconfig; in-cluster when not given.",
    ),
    lab_state: Path | None = typer.Option(
        None,
        "--lab-state-dir",
        parser=paths.INPUT_PATH,
        help="A `carbon-kube lab` state directory: use its kubeconfig and its virtual clock.",
    ),
    speedup: float | None = typer.Option(
        None, "--speedup", min=0.001, max=1e6, help="Virtual clock speed-up (overrides the lab's)."
    ),
    virtual_epoch: str | None = typer.Option(
        None, "--virtual-epoch", help="Virtual instant shown at --real-epoch (RFC 3339)."
    ),
    real_epoch: str | None = typer.Option(
        None, "--real-epoch", help="Real instant at which the virtual clock shows --virtual-epoch."
    ),
    source: planning.SignalSource = planning.SOURCE,
    intensity_file: Path | None = planning.INTENSITY_FILE,
    cache: Path | None = planning.CACHE,
    electricitymaps_url: str = planning.ELECTRICITYMAPS_URL,
    watttime_url: str = planning.WATTTIME_URL,
    ukcarbon_url: str = planning.UKCARBON_URL,
    entsoe_url: str = planning.ENTSOE_URL,
    watttime_region: str | None = planning.WATTTIME_REGION,
    signal_namespace: str = planning.SIGNAL_NAMESPACE,
    region_zone: list[str] = typer.Option(
        [], "--region-zone", help="Override REGION=ZONE in the region -> grid-zone table."
    ),
    kinds: str = typer.Option(
        ",".join(_KINDS), "--kinds", help=f"Kinds to release: {','.join(_KINDS)}."
    ),
    release_concurrency: int = typer.Option(
        _default("release_concurrency"),
        "--release-concurrency",
        min=1,
        max=256,
        help="Release PATCHes in flight at once.",
    ),
    release_ahead_max: str = typer.Option(
        _default_duration(ControllerSettings, "release_ahead_max"),
        "--release-ahead-max",
        help="Start releasing work due together up to this long (virtual) early, so a burst "
        "ends near its due time instead of queueing past it (0s: off).",
    ),
    release_ahead_rate: float = typer.Option(
        _default("release_ahead_rate_per_s"),
        "--release-ahead-rate",
        min=1.0,
        max=1e6,
        help="Releases per real second assumed when spreading a burst ahead "
        "(what the apiserver sustains; lower starts earlier).",
    ),
    release_lead: str = typer.Option(
        _default_duration(ControllerSettings, "release_lead"),
        "--release-lead",
        help="Release this long (virtual) before the due time.",
    ),
    label_nodes: bool = typer.Option(
        _default("label_nodes"),
        "--label-nodes/--no-label-nodes",
        help="Write grid-zone and intensity node labels.",
    ),
    nodepool_weights: bool = typer.Option(
        _default("nodepool_weights"),
        "--nodepool-weights/--no-nodepool-weights",
        help="Adjust Karpenter NodePool weights.",
    ),
    node_label_interval: str = typer.Option(
        _default_duration(ControllerSettings, "node_label_interval"),
        "--node-label-interval",
        help="How often (virtual) labels and weights refresh.",
    ),
    identity: str | None = typer.Option(
        None, "--identity", help="Leader-election identity (default: hostname-pid)."
    ),
    lease_namespace: str = typer.Option(
        field_default(LeaseSettings, "namespace"), "--lease-namespace"
    ),
    lease_name: str = typer.Option(field_default(LeaseSettings, "name"), "--lease-name"),
    lease_duration: str = typer.Option(
        _default_duration(LeaseSettings, "lease_duration"), "--lease-duration", help="Real time."
    ),
    renew_period: str = typer.Option(
        _default_duration(LeaseSettings, "renew_period"), "--renew-period", help="Real time."
    ),
    replan_home_zone: str | None = typer.Option(
        None,
        "--replan-home-zone",
        help="Re-plan held work as the forecast moves, planning with this home grid zone, and "
        "report each release's estimated emissions vs the carbon-agnostic baseline "
        "(carbon_kube_avoided_emissions_grams etc.; both off when not given).",
    ),
    replan_forecast: str = field_option(
        PlanningSettings,
        "forecast",
        "--replan-forecast",
        help="Forecast to re-plan with: persistence, provider or oracle.",
    ),
    replan_policy: str = field_option(
        PlanningSettings, "policy", "--replan-policy", help="Policy to re-plan with."
    ),
    replan_threshold_g_per_kwh: float = field_option(
        PlanningSettings,
        "threshold_g_per_kwh",
        "--replan-threshold-g-per-kwh",
        help="With --replan-policy threshold: the release threshold.",
    ),
    replan_latency_risk: float = field_option(
        PlanningSettings,
        "latency_risk",
        "--replan-latency-risk",
        help="Deadline margin as a share of the expected duration (0..1): re-plans start by "
        "deadline - (1 + risk) x expected duration (Helm threshold.latencyRisk).",
    ),
    replan_adaptive_threshold: bool = field_option(
        PlanningSettings,
        "adaptive_threshold",
        "--replan-adaptive-threshold",
        help="With --replan-policy threshold: the replay-buffer learner re-picks the threshold "
        "(Helm rl.enabled; only where bench/adaptive_threshold.py shows it beats the fixed one).",
    ),
    publish_zones: str | None = typer.Option(
        None,
        "--publish-zones",
        help="Poll --source for these grid zones (e.g. DE,FR) and publish each zone's signal as "
        "a ConfigMap in --signal-namespace, for webhooks and extenders on --source published "
        "(off when not given).",
    ),
    signal_interval: str = typer.Option(
        _default_duration(SignalPublishing, "interval"),
        "--signal-interval",
        help="How often the leader polls and publishes (virtual time).",
    ),
    signal_model: str = field_option(
        SignalPublishing,
        "model",
        "--signal-model",
        help="Published forecast: provider (the source's own; a baseline where it has none), "
        "auto (the model whose last week of forecasts led to the best shifting decisions, "
        "refitted every 6 h), lightgbm (blended with the source's own forecast where it has one), "
        "seasonal-naive or persistence.",
    ),
    signal_weather: str = field_option(
        SignalPublishing,
        "weather",
        "--signal-weather",
        help="Weather covariates for --signal-model lightgbm/auto: open-meteo (each zone's "
        "observed weather up to the fit, fetched at most every 6 h, used only while it reaches "
        "the history's end; no key) or none. Median -2.1 % day-ahead MAPE in the backtests "
        "(bench/weather_value.py, docs/signal.md).",
    ),
    openmeteo_forecast_url: str = typer.Option(
        field_default(SignalPublishing, "openmeteo_forecast_url"),
        "--openmeteo-forecast-url",
        help="Open-Meteo forecast API URL, read for the last days (a proxy, or a test server).",
    ),
    openmeteo_archive_url: str = typer.Option(
        field_default(SignalPublishing, "openmeteo_archive_url"),
        "--openmeteo-archive-url",
        help="Open-Meteo archive API URL, read for older days (a proxy, or a test server).",
    ),
    pauses: bool = typer.Option(
        True,
        "--pauses/--no-pauses",
        help="Pause released interruptible Jobs, SparkApplications and FlinkDeployments "
        "between the segments "
        "of their plan (carbon-kube.io/segments) and resume them at the next one.",
    ),
    max_pauses: int = typer.Option(
        field_default(PauseSettings, "max_pauses"),
        "--max-pauses",
        min=0,
        max=100,
        help="Most pauses of one workload; after that it runs to its end.",
    ),
    min_run_between_pauses: str = typer.Option(
        _default_duration(PauseSettings, "min_run"),
        "--min-run-between-pauses",
        help="A segment shorter than this (virtual) is not paused after.",
    ),
    pause_confirm_timeout: str = typer.Option(
        _default_duration(PauseSettings, "confirm_within"),
        "--pause-confirm-timeout",
        help="Undo a pause its kind's controller has not confirmed by then (virtual; a "
        "FlinkDeployment: savepoint taken, SUSPENDED; a Job: Suspended); it then runs to its end.",
    ),
    pause_latency_risk: float = typer.Option(
        field_default(PauseSettings, "latency_risk"),
        "--pause-latency-risk",
        min=0.0,
        max=1.0,
        help="Resume a paused workload by deadline - (1 + risk) x the work it has left.",
    ),
    metrics_port: int = typer.Option(
        0, "--metrics-port", min=0, max=65535, help="Serve Prometheus /metrics here (0: off)."
    ),
    log_level: str = typer.Option("INFO", "--log-level"),
) -> None:
    """Run the controller until SIGTERM; only the replica holding the Lease acts."""
    logging.getLogger("carbon_kube").setLevel(log_level.upper())
    logging.getLogger().setLevel(log_level.upper())
    # kopf logs every handler run at INFO; only its warnings matter to an operator.
    logging.getLogger("kopf").setLevel(max(logging.WARNING, logging.getLogger().level))
    clock: ControllerClock = WallClock(real_utc_now)
    if lab_state is not None:
        state = read_state(lab_state)
        if state is None:
            raise InputError(
                "no lab is running there; start one with `carbon-kube lab up`", source=lab_state
            )
        kubeconfig = state.kubeconfig
        clock = state.clock()
    if speedup is not None or virtual_epoch is not None:
        real = parse_instant(real_epoch, "--real-epoch") if real_epoch else real_utc_now()
        clock = VirtualClock(
            speedup=speedup or 1.0,
            virtual_epoch=parse_instant(virtual_epoch, "--virtual-epoch")
            if virtual_epoch
            else real,
            real_epoch=real,
        )
    lease = LeaseSettings(
        namespace=lease_namespace,
        name=lease_name,
        lease_duration=_duration(lease_duration, "--lease-duration"),
        renew_period=_duration(renew_period, "--renew-period"),
    )
    if source is planning.SignalSource.PUBLISHED:
        raise InputError(
            "the controller is what publishes the signal; give it the source to poll "
            "(e.g. --source electricitymaps)",
            field="--source",
        )
    signal = planning.source_settings(
        source,
        intensity_file=intensity_file,
        cache=cache,
        electricitymaps_url=electricitymaps_url,
        watttime_url=watttime_url,
        ukcarbon_url=ukcarbon_url,
        entsoe_url=entsoe_url,
        watttime_region=watttime_region,
        signal_namespace=signal_namespace,
    )
    signal_cache = signal.cache_path
    settings = ControllerSettings(
        regions=planning.build_region_map(None, region_zone),
        kinds=_kinds(kinds),
        release_lead=_duration(release_lead, "--release-lead"),
        release_ahead_max=_duration(release_ahead_max, "--release-ahead-max"),
        release_ahead_rate_per_s=release_ahead_rate,
        release_concurrency=release_concurrency,
        label_nodes=label_nodes,
        nodepool_weights=nodepool_weights,
        node_label_interval=_duration(node_label_interval, "--node-label-interval"),
        lease=lease,
        identity=identity or f"{socket.gethostname()}-{os.getpid()}",
        publishing=None
        if publish_zones is None
        else _publishing(
            publish_zones,
            signal_interval,
            model=signal_model,
            namespace=signal_namespace,
            archive=signal_cache,
            weather=signal_weather,
            openmeteo_forecast_url=openmeteo_forecast_url,
            openmeteo_archive_url=openmeteo_archive_url,
        ),
        pausing=PauseSettings(
            max_pauses=max_pauses,
            min_run=_duration(min_run_between_pauses, "--min-run-between-pauses"),
            latency_risk=pause_latency_risk,
            confirm_within=_duration(
                pause_confirm_timeout, "--pause-confirm-timeout", positive=True
            ),
        )
        if pauses
        else None,
    )
    replan_settings = None
    if replan_home_zone is not None:
        replan_settings = PlanningSettings(
            home_zone=replan_home_zone,
            policy=replan_policy,
            forecast=replan_forecast,
            threshold_g_per_kwh=replan_threshold_g_per_kwh,
            latency_risk=replan_latency_risk,
            adaptive_threshold=replan_adaptive_threshold,
        )
        planning.check_forecast_fits_source(replan_settings, signal)
    # One source for node labels, NodePool weights and re-planning: the same numbers everywhere.
    carbon = planning.build_signal(
        signal, clock, home_zone=None if replan_settings is None else replan_settings.home
    )
    replanner = None
    outcomes = None
    if replan_settings is not None:
        service = PlanningService(carbon, clock, replan_settings)
        replanner = PlanningReplanner(service)
        outcomes = PlanningOutcomes(service)
    if metrics_port:
        start_http_server(metrics_port, registry=REGISTRY)
    with client_for(kubeconfig, pool_maxsize=release_concurrency) as client:
        run_controller(
            settings,
            connect=lambda: read_connection(kubeconfig),
            client=client,
            clock=clock,
            real_now=real_utc_now,
            provider=carbon,
            replanner=replanner,
            outcomes=outcomes,
        )
