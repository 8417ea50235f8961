"""Build an intensity source (a provider, its fallback chain and cache) from typed settings.

The one registry of sources: ``SourceKind`` has one entry per source, ``SourceSettings`` says
which one and how, and ``build_source`` turns them into the ``IntensityProvider`` callers read.
Every command, server and controller builds its source here, so a live API is read the same
way everywhere.

Chains: the embedded and file sources end in the embedded data, so a zone or an instant that
the configured source cannot answer still gets a real (replayed) value; a live source is backed
by the SQLite cache, which answers (flagged ``stale``) when the API fails. Failures of each link
are counted in ``carbon_kube_provider_errors_total``; the chain itself owns the fallback.

Credentials come in as ``Credentials``: this module never reads the environment (the CLI does).
"""

from __future__ import annotations

import sqlite3
from enum import StrEnum
from pathlib import Path

import httpx
from pydantic import BaseModel, ConfigDict, Field, model_validator

from carbon_kube import __version__
from carbon_kube.domain.clock import Clock
from carbon_kube.domain.errors import InputError, ProviderError, ProviderTemporaryError
from carbon_kube.domain.intensity import SignalKind
from carbon_kube.domain.zones import Zone
from carbon_kube.observability.metrics import PROVIDER_ERRORS
from carbon_kube.providers import electricitymaps, entsoe, ukcarbon, watttime
from carbon_kube.providers.base import IntensityProvider
from carbon_kube.providers.caching import IntensityCache
from carbon_kube.providers.electricitymaps import ElectricityMapsProvider, ElectricityMapsSettings
from carbon_kube.providers.embedded import EmbeddedProvider
from carbon_kube.providers.entsoe import EntsoeProvider
from carbon_kube.providers.fallback import FallbackProvider
from carbon_kube.providers.published import PublishedSignals
from carbon_kube.providers.series_files import read_any_intensity
from carbon_kube.providers.ukcarbon import UkCarbonIntensityProvider
from carbon_kube.providers.watttime import WattTimeProvider, WattTimeSettings

__all__ = [
    "LIVE_KINDS",
    "Credentials",
    "SourceKind",
    "SourceSettings",
    "build_intensity_source",
    "build_provider",
    "build_source",
    "count_provider_failure",
    "default_client",
    "open_cache",
]


class SourceKind(StrEnum):
    """Where intensity comes from: one entry per source."""

    # The shipped year of real data, replayed at today's date: offline, no key (the lab's).
    EMBEDDED = "embedded"
    # A CSV/Parquet file (timestamp,zone,g_per_kwh or an Electricity Maps export), falling
    # back to the embedded data for zones or times the file does not cover.
    FILE = "file"
    # Only what earlier fetches left in the SQLite cache (read with ``open_cache``).
    CACHE = "cache"
    # The cluster's published signal: the ConfigMaps the leading controller writes from its
    # own (live) source (``providers.published``); what the webhook and extender read so they
    # never call an API on the admission path. Fed by a watch the caller runs.
    PUBLISHED = "published"
    # Live APIs, each backed by the cache.
    ELECTRICITYMAPS = "electricitymaps"
    UKCARBON = "ukcarbon"
    WATTTIME = "watttime"
    # Generation per production type times life-cycle factors (Europe; no forecast).
    ENTSOE = "entsoe"


LIVE_KINDS = frozenset(
    {SourceKind.ELECTRICITYMAPS, SourceKind.UKCARBON, SourceKind.WATTTIME, SourceKind.ENTSOE}
)

# The providers' own defaults, read off their settings rather than written again here.
_DEFAULT_ELECTRICITYMAPS_URL = ElectricityMapsSettings(api_token="").base_url
_DEFAULT_WATTTIME_URL = WattTimeSettings(username="", password="").base_url


class Credentials(BaseModel):
    """API secrets, read by the caller (the CLI reads the environment) and passed in.

    ``None`` means not configured: a source that needs it refuses with one line naming the
    environment variable to set. An empty token is passed on as it is (the controller starts
    without one and the API answers 401, as it always has).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    electricitymaps_token: str | None = Field(default=None, repr=False)
    watttime_username: str | None = None
    watttime_password: str | None = Field(default=None, repr=False)
    entsoe_token: str | None = Field(default=None, repr=False)


class SourceSettings(BaseModel):
    """Which intensity source to build, and what it needs (see ``build_source``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: SourceKind = SourceKind.EMBEDDED
    path: Path | None = Field(default=None, description="The intensity file of kind 'file'.")
    cache_path: Path | None = Field(
        default=None, description="The SQLite cache behind a live source."
    )
    electricitymaps_url: str = Field(
        default=_DEFAULT_ELECTRICITYMAPS_URL,
        description="Electricity Maps API base URL (a proxy, or a test server).",
    )
    watttime_url: str = Field(
        default=_DEFAULT_WATTTIME_URL,
        description="WattTime API base URL (a proxy, or a test server).",
    )
    ukcarbon_url: str = Field(
        default=ukcarbon.BASE_URL,
        description="UK Carbon Intensity API base URL (a proxy, or a test server).",
    )
    entsoe_url: str = Field(
        default=entsoe.BASE_URL,
        description="ENTSO-E Transparency Platform API URL (a proxy, or a test server).",
    )
    signal_namespace: str = Field(
        default="carbon-kube",
        description="Namespace of the published zone-signal ConfigMaps (kind 'published').",
    )
    watttime_region: str | None = Field(
        default=None,
        description="WattTime region for --zone, e.g. CAISO_NORTH (only US-CAL-CISO has one).",
    )

    @model_validator(mode="after")
    def _file_needs_path(self) -> SourceSettings:
        if self.kind is SourceKind.FILE and self.path is None:
            raise InputError("an intensity source of kind 'file' needs a path", field="--intensity")
        return self


def count_provider_failure(provider: str, operation: str, error: ProviderError) -> None:
    """``FallbackProvider`` hook: one increment per failed request, by error class."""
    error_class = "temporary" if isinstance(error, ProviderTemporaryError) else "permanent"
    PROVIDER_ERRORS.labels(provider, operation, error_class).inc()


def build_intensity_source(settings: SourceSettings, clock: Clock) -> IntensityProvider:
    """The offline chain planning reads: a file (if configured) over the embedded data.

    A file source is served without replay: outside its span it fails over to the embedded
    replay rather than pretending the file covers dates it does not.
    """
    embedded = EmbeddedProvider(clock)
    links: list[IntensityProvider] = []
    if settings.kind is SourceKind.FILE:
        if settings.path is None:  # guarded by SourceSettings; kept for the type checker
            raise ValueError("file source without a path")
        series = read_any_intensity(settings.path).series
        links.append(EmbeddedProvider(clock, replay=False, series=series))
    elif settings.kind is not SourceKind.EMBEDDED:
        raise ValueError(f"source {settings.kind} is not an offline source")
    links.append(embedded)
    return FallbackProvider(links, clock=clock, on_failure=count_provider_failure)


def build_source(
    settings: SourceSettings,
    clock: Clock,
    *,
    zone: Zone | None = None,
    client: httpx.Client | None = None,
    credentials: Credentials | None = None,
    cache: IntensityCache | None = None,
    published: PublishedSignals | None = None,
) -> IntensityProvider:
    """The source for ``settings``: the offline chain, the published signal, or a live API.

    A live source needs the HTTP ``client`` and a cache (``cache``, or ``settings.cache_path``
    opened here); ``zone`` is the zone it will be asked for (some APIs check it up front).
    The published source needs the ``published`` store its caller keeps current.
    """
    if settings.kind in (SourceKind.EMBEDDED, SourceKind.FILE):
        return build_intensity_source(settings, clock)
    if settings.kind is SourceKind.PUBLISHED:
        if published is None:
            raise ValueError("the published source needs the store its watch feeds")
        # As published: no cache (the documents are the cluster's cache, served stale when
        # old), and the signal kind (average, or WattTime's marginal) is the poller's.
        return published
    if settings.kind is SourceKind.CACHE:
        raise ValueError("the cache is not a provider; read it with open_cache")
    if client is None:
        raise ValueError(f"live source {settings.kind} needs an HTTP client")
    live, signal = build_provider(
        settings, clock, zone=zone, client=client, credentials=credentials
    )
    if cache is None:
        if settings.cache_path is None:
            raise ValueError(f"live source {settings.kind} needs a cache")
        cache = open_cache(settings.cache_path, clock)
    return FallbackProvider(
        [live], clock=clock, cache=cache, signal=signal, on_failure=count_provider_failure
    )


def build_provider(
    settings: SourceSettings,
    clock: Clock,
    *,
    zone: Zone | None = None,
    client: httpx.Client | None = None,
    credentials: Credentials | None = None,
) -> tuple[IntensityProvider, SignalKind]:
    """One source without chain or cache, and the signal it serves.

    The controller labels nodes from this directly; ``build_source`` puts it in a chain.
    """
    creds = credentials or Credentials()
    if settings.kind is SourceKind.EMBEDDED:
        return EmbeddedProvider(clock), SignalKind.AVERAGE
    if settings.kind not in LIVE_KINDS:
        raise ValueError(f"source {settings.kind} is not a single provider")
    if client is None:
        raise ValueError(f"live source {settings.kind} needs an HTTP client")
    if settings.kind is SourceKind.ELECTRICITYMAPS:
        token = _required(
            creds.electricitymaps_token,
            electricitymaps.TOKEN_ENV_VAR,
            "your Electricity Maps API token",
        )
        em = ElectricityMapsSettings(
            api_token=token,
            base_url=settings.electricitymaps_url,
            zones=() if zone is None else (zone,),
        )
        return ElectricityMapsProvider(em, http=client, clock=clock), SignalKind.AVERAGE
    if settings.kind is SourceKind.UKCARBON:
        uk = UkCarbonIntensityProvider(http=client, clock=clock, base_url=settings.ukcarbon_url)
        if zone is not None and zone not in uk.zones():
            raise InputError(
                f"the UK Carbon Intensity API has no zone {zone}; use GB (national) or "
                "GB-R1 .. GB-R17 (its regions, e.g. GB-R13 London)",
                field="--zone",
            )
        return uk, SignalKind.AVERAGE
    if settings.kind is SourceKind.ENTSOE:
        token = _required(creds.entsoe_token, entsoe.TOKEN_ENV_VAR, "your ENTSO-E security token")
        if zone is not None and zone not in entsoe.AREAS:
            raise InputError(
                f"ENTSO-E has no area for zone {zone}; use one of {', '.join(entsoe.AREAS)} "
                "(GB: --source ukcarbon)",
                field="--zone",
            )
        provider = EntsoeProvider(
            token=token, http=client, clock=clock, base_url=settings.entsoe_url
        )
        return provider, SignalKind.AVERAGE
    regions = dict(watttime.DEFAULT_REGIONS)
    if zone is not None and settings.watttime_region is not None:
        regions[zone] = settings.watttime_region.strip()
    if zone is not None and zone not in regions:
        raise InputError(
            f"no WattTime region is known for zone {zone}; pass --watttime-region NAME "
            "(e.g. CAISO_NORTH; see WattTime's /v3/my-access)",
            field="--watttime-region",
        )
    wt = WattTimeSettings(
        username=_required(
            creds.watttime_username, watttime.USERNAME_ENV_VAR, "your WattTime username"
        ),
        password=_required(
            creds.watttime_password, watttime.PASSWORD_ENV_VAR, "your WattTime password"
        ),
        base_url=settings.watttime_url,
        regions=regions,
    )
    return WattTimeProvider(wt, http=client, clock=clock), SignalKind.MARGINAL


def default_client() -> httpx.Client:
    """A plain client; timeouts and retries are set per request by the providers."""
    return httpx.Client(headers={"User-Agent": f"carbon-kube/{__version__}"})


def open_cache(path: Path, clock: Clock) -> IntensityCache:
    """The SQLite cache, or one line naming the file when it cannot be opened or created."""
    try:
        return IntensityCache(path, clock=clock)
    except (OSError, sqlite3.Error) as error:
        raise InputError(f"cannot open the intensity cache: {error}", source=path) from error


def _required(value: str | None, env_var: str, what: str) -> str:
    if value is None:
        raise InputError(f"environment variable {env_var} is not set; export {env_var}=<{what}>")
    return value
