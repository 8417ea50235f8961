"""Options every Carbon-Kube server shares (webhook, extender): how to plan and on which clock.

Parses them once into ``PlanningSettings``/``SourceSettings`` and builds the
``PlanningService`` on the one signal path (``--source``, ``build_signal``) that the webhook,
the extender, the controller and ``plan`` share; no logic of its own. ``--lab-state-dir``
puts a server on the lab's virtual clock so that it decides in the same (speeded-up) time as
the lab's pods and controller.
"""

from __future__ import annotations

import logging
from enum import StrEnum
from pathlib import Path
from typing import Any

import typer

from carbon_kube.cli import paths
from carbon_kube.cli.environment import cache_path, read_credentials
from carbon_kube.cli.settings_options import field_option
from carbon_kube.domain.annotations import SIGNAL_LABEL
from carbon_kube.domain.clock import Clock, SystemClock
from carbon_kube.domain.errors import InputError
from carbon_kube.domain.zones import RegionZoneMap, Zone, parse_zone
from carbon_kube.kube.client import KubeApiError
from carbon_kube.kube.connection import client_for
from carbon_kube.kube.informer import follow_in_thread
from carbon_kube.kube.resources import CONFIG_MAPS
from carbon_kube.lab.state import read_state
from carbon_kube.planning import PlanningService, PlanningSettings, SourceKind, SourceSettings
from carbon_kube.policy.forecasts import OracleForecast
from carbon_kube.providers.base import IntensityProvider
from carbon_kube.providers.construction import LIVE_KINDS, build_source, default_client
from carbon_kube.providers.published import PublishedSignals
from carbon_kube.providers.regions import load_region_zone_map
from carbon_kube.serving import TlsFiles

log = logging.getLogger(__name__)

HOME_ZONE: Any = field_option(PlanningSettings, "home_zone", "--home-zone")
POLICY: Any = field_option(PlanningSettings, "policy", "--policy")
FORECAST: Any = field_option(PlanningSettings, "forecast", "--forecast")
THRESHOLD_G_PER_KWH: Any = field_option(
    PlanningSettings, "threshold_g_per_kwh", "--threshold-g-per-kwh"
)
LATENCY_RISK: Any = field_option(PlanningSettings, "latency_risk", "--latency-risk")
ADAPTIVE_THRESHOLD: Any = field_option(
    PlanningSettings, "adaptive_threshold", "--adaptive-threshold"
)


class SignalSource(StrEnum):
    """The sources a planner reads (the ``SourceKind`` values; the cache alone is not one)."""

    EMBEDDED = SourceKind.EMBEDDED.value
    FILE = SourceKind.FILE.value
    PUBLISHED = SourceKind.PUBLISHED.value
    ELECTRICITYMAPS = SourceKind.ELECTRICITYMAPS.value
    UKCARBON = SourceKind.UKCARBON.value
    WATTTIME = SourceKind.WATTTIME.value
    ENTSOE = SourceKind.ENTSOE.value


SOURCE: Any = typer.Option(
    SignalSource.EMBEDDED,
    "--source",
    help="Carbon signal: embedded (the shipped year replayed on the clock, offline), file "
    "(--intensity-file over the embedded data), published (the zone signals the leading "
    "controller publishes as ConfigMaps in --signal-namespace: no API call here), or a live "
    "API behind the cache: "
    "electricitymaps ($ELECTRICITYMAPS_API_TOKEN), ukcarbon (no key), watttime (marginal; "
    "$WATTTIME_USERNAME, $WATTTIME_PASSWORD), entsoe (Europe, generation mix x life-cycle "
    "factors, no forecast; $ENTSOE_API_TOKEN). Helm api.provider.",
)
INTENSITY_FILE: Any = typer.Option(
    None,
    "--intensity-file",
    parser=paths.INPUT_FILE,
    help="CSV/Parquet intensity (timestamp,zone,g_per_kwh) for --source file (implied when given).",
)
CACHE: Any = typer.Option(
    None,
    "--cache",
    parser=paths.OUTPUT_FILE,
    help="SQLite cache behind a live source (default: $XDG_CACHE_HOME or ~/.cache, "
    "carbon-kube/intensity.sqlite).",
)
ELECTRICITYMAPS_URL: Any = field_option(
    SourceSettings, "electricitymaps_url", "--electricitymaps-url"
)
WATTTIME_URL: Any = field_option(SourceSettings, "watttime_url", "--watttime-url")
UKCARBON_URL: Any = field_option(SourceSettings, "ukcarbon_url", "--ukcarbon-url")
ENTSOE_URL: Any = field_option(SourceSettings, "entsoe_url", "--entsoe-url")
WATTTIME_REGION: Any = field_option(SourceSettings, "watttime_region", "--watttime-region")
SIGNAL_NAMESPACE: Any = field_option(SourceSettings, "signal_namespace", "--signal-namespace")
KUBECONFIG: Any = typer.Option(
    None,
    "--kubeconfig",
    parser=paths.INPUT_TEXT,
    envvar="KUBECONFIG",
    help="Kubeconfig for --source published (in-cluster when not given).",
)
LAB_STATE_DIR: Any = typer.Option(
    None,
    "--lab-state-dir",
    parser=paths.INPUT_PATH,
    help="Use the virtual clock of the lab in this state directory (carbon-kube lab up).",
)

REGION_MAP: Any = typer.Option(
    None,
    "--region-map",
    parser=paths.INPUT_TEXT,
    help="CSV cloud,region,zone used instead of the shipped region table.",
)
REGION_ZONE: Any = typer.Option(
    [], "--region-zone", help="Override REGION=ZONE in the region -> grid-zone table."
)


def parse_region_overrides(pairs: list[str]) -> dict[str, Zone]:
    """``--region-zone eu-west-1=IE`` (repeatable) as region -> zone."""
    overrides = {}
    for pair in pairs:
        region, sep, zone = pair.partition("=")
        if not sep or not region.strip():
            raise InputError(
                f"expected REGION=ZONE such as eu-west-1=IE, got {pair!r}", field="--region-zone"
            )
        overrides[region.strip()] = parse_zone(zone)
    return overrides


def build_region_map(region_map: Path | None, region_zone: list[str]) -> RegionZoneMap:
    """The shipped table (or ``--region-map``) with ``--region-zone`` overrides on top."""
    return load_region_zone_map(region_map).with_overrides(parse_region_overrides(region_zone))


def parse_tls_files(tls_cert: Path | None, tls_key: Path | None) -> TlsFiles | None:
    """``--tls-cert``/``--tls-key`` as a pair of existing files, or None for plain HTTP."""
    if (tls_cert is None) != (tls_key is None):
        raise InputError("give both --tls-cert and --tls-key, or neither", field="--tls-cert")
    if tls_cert is None or tls_key is None:
        return None
    for path in (tls_cert, tls_key):
        if not path.is_file():
            raise InputError("file not found", source=path)
    return TlsFiles(tls_cert, tls_key)


def build_clock(lab_state_dir: Path | None) -> Clock:
    """The wall clock, or the running lab's virtual clock."""
    if lab_state_dir is None:
        return SystemClock()
    state = read_state(lab_state_dir)
    if state is None:
        raise InputError(
            "no lab state here; start one with `carbon-kube lab up`", source=lab_state_dir
        )
    return state.clock()


def source_settings(
    source: SignalSource,
    *,
    intensity_file: Path | None = None,
    cache: Path | None = None,
    **urls: Any,
) -> SourceSettings:
    """The ``--source`` options as ``SourceSettings``; ``urls`` are its URL/region fields.

    ``--intensity-file`` alone means ``--source file``; with a live source it is a mistake
    worth one line rather than a file silently ignored.
    """
    kind = SourceKind(source.value)
    if intensity_file is not None and kind is SourceKind.EMBEDDED:
        kind = SourceKind.FILE
    if intensity_file is not None and kind is not SourceKind.FILE:
        raise InputError(
            f"--intensity-file is read by --source file, not --source {kind}",
            field="--intensity-file",
        )
    live = kind in LIVE_KINDS
    return SourceSettings(
        kind=kind,
        path=intensity_file,
        cache_path=cache_path(cache) if live else None,
        **{name: value for name, value in urls.items() if value is not None},
    )


def build_signal(
    settings: SourceSettings,
    clock: Clock,
    *,
    home_zone: Zone | None = None,
    kubeconfig: Path | None = None,
) -> IntensityProvider:
    """The one signal path of every server: ``providers.construction.build_source``.

    Credentials come from the environment here (the only place that reads it); a live source
    gets its own HTTP client for the life of the process. The published source is fed by a
    watch of the signal ConfigMaps (``kubeconfig``, or in-cluster) on a daemon thread.
    """
    if settings.kind is SourceKind.PUBLISHED:
        return build_source(
            settings, clock, published=follow_published(settings, clock, kubeconfig)
        )
    client = default_client() if settings.kind in LIVE_KINDS else None
    return build_source(
        settings, clock, zone=home_zone, client=client, credentials=read_credentials()
    )


def follow_published(
    settings: SourceSettings, clock: Clock, kubeconfig: Path | None
) -> PublishedSignals:
    """The published zone signals, kept current by a list-and-watch of their ConfigMaps.

    The first list is made before returning, so a server (or ``plan``) starts with what is
    published; an apiserver that cannot be reached yet is retried by the watch thread.
    """
    store = PublishedSignals(clock)
    client = client_for(kubeconfig)
    selector = f"{SIGNAL_LABEL}=true"
    try:
        for item in client.list(CONFIG_MAPS, settings.signal_namespace, label_selector=selector):
            store.apply_object(str(item["metadata"]["name"]), item)
    except KubeApiError as error:
        log.warning("cannot list the published signals yet: %s", error)
    follow_in_thread(
        client, CONFIG_MAPS, settings.signal_namespace, store.apply_object, label_selector=selector
    )
    return store


def build_planner(
    *,
    home_zone: str,
    policy: str,
    forecast: str,
    source: SourceSettings,
    lab_state_dir: Path | None,
    kubeconfig: Path | None = None,
    clock: Clock | None = None,
    **knobs: Any,
) -> PlanningService:
    """The planning service the servers (and ``plan``) share, from parsed option values.

    ``knobs`` are further ``PlanningSettings`` fields (threshold, margin, learner); those not
    given keep the model's defaults. ``clock`` (``plan --at``) replaces the wall or lab clock.
    """
    settings = PlanningSettings(home_zone=home_zone, policy=policy, forecast=forecast, **knobs)
    check_forecast_fits_source(settings, source)
    clock = clock or build_clock(lab_state_dir)
    if kubeconfig is None and lab_state_dir is not None:
        kubeconfig = lab_kubeconfig(lab_state_dir)
    signal = build_signal(source, clock, home_zone=settings.home, kubeconfig=kubeconfig)
    return PlanningService(signal, clock, settings)


def lab_kubeconfig(lab_state_dir: Path) -> Path:
    """The kubeconfig of the lab in ``lab_state_dir``."""
    state = read_state(lab_state_dir)
    if state is None:
        raise InputError(
            "no lab state here; start one with `carbon-kube lab up`", source=lab_state_dir
        )
    return state.kubeconfig


def check_forecast_fits_source(settings: PlanningSettings, source: SourceSettings) -> None:
    """``oracle`` reads a replayed source's future; a live API has none to read."""
    if settings.forecast == OracleForecast.name and source.kind in LIVE_KINDS:
        raise InputError(
            f"--forecast oracle reads a replayed source's future; --source {source.kind} is live "
            "and has none (use --forecast provider or persistence)",
            field="--forecast",
        )
