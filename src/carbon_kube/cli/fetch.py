"""``carbon-kube intensity fetch``: fill the local cache from a live carbon-intensity API.

This is the only place that reads API credentials from the environment
(``ELECTRICITYMAPS_API_TOKEN``, ``WATTTIME_USERNAME`` / ``WATTTIME_PASSWORD``) and the cache
location (``XDG_CACHE_HOME``); both are passed into the library. The HTTP client and the clock
come from ``make_fetch_command`` so tests can run the real command against
``httpx.MockTransport``.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import timedelta
from enum import StrEnum
from pathlib import Path

import httpx
import typer
from rich.console import Console
from rich.table import Table

from carbon_kube import __version__
from carbon_kube.cli.options import parse_instant
from carbon_kube.domain.clock import Clock, SystemClock
from carbon_kube.domain.errors import InputError
from carbon_kube.domain.intensity import IntensitySeries, SignalKind
from carbon_kube.domain.zones import Zone, parse_zone
from carbon_kube.providers import electricitymaps, watttime
from carbon_kube.providers.base import IntensityProvider, IntensityReading
from carbon_kube.providers.caching import IntensityCache, default_cache_path
from carbon_kube.providers.electricitymaps import ElectricityMapsProvider, ElectricityMapsSettings
from carbon_kube.providers.fallback import FallbackProvider
from carbon_kube.providers.ukcarbon import UkCarbonIntensityProvider
from carbon_kube.providers.watttime import WattTimeProvider, WattTimeSettings

ClientFactory = Callable[[], httpx.Client]


class Source(StrEnum):
    """The live APIs ``fetch`` can read."""

    ELECTRICITYMAPS = "electricitymaps"
    UKCARBON = "ukcarbon"
    WATTTIME = "watttime"


def default_client() -> httpx.Client:
    """A plain client; timeouts and retries are set per request by the providers."""
    return httpx.Client(headers={"User-Agent": f"carbon-kube/{__version__}"})


def make_fetch_command(
    client_factory: ClientFactory = default_client, clock: Clock | None = None
) -> Callable[..., None]:
    """The ``fetch`` command bound to an HTTP client factory and a clock (tests inject both)."""
    the_clock = clock or SystemClock()

    def fetch_command(
        source: Source = typer.Option(..., "--source", "-s", help="Live API to read."),
        zone: str = typer.Option(
            ..., "--zone", "-z", help="Grid zone, e.g. DE, GB, GB-R13 (UK regions), US-CAL-CISO."
        ),
        start: str | None = typer.Option(
            None, help="Fetch history from this instant (RFC 3339 or date) instead of now."
        ),
        end: str | None = typer.Option(
            None, help="End of the history range (exclusive; default: now). Needs --start."
        ),
        horizon_hours: int = typer.Option(
            24, min=1, max=72, help="Without --start: how far ahead to fetch the forecast."
        ),
        cache: Path | None = typer.Option(
            None,
            help="SQLite cache file (default: $XDG_CACHE_HOME or ~/.cache, "
            "carbon-kube/intensity.sqlite).",
        ),
        watttime_region: str | None = typer.Option(
            None, help="WattTime region for --zone, e.g. CAISO_NORTH (only US-CAL-CISO has one)."
        ),
    ) -> None:
        """Fetch carbon intensity from a live API into the local cache and summarise it.

        Without --start: the latest value and the forecast. With --start: history over
        [start, end). Electricity Maps needs ELECTRICITYMAPS_API_TOKEN; WattTime needs
        WATTTIME_USERNAME and WATTTIME_PASSWORD (its values are marginal, MOER, in g/kWh).
        If the API fails, the last cached data is shown and marked stale.
        """
        wanted = parse_zone(zone)
        if end is not None and start is None:
            raise InputError("--end needs --start", field="--end")
        cache_path = cache or default_cache_path(os.environ.get("XDG_CACHE_HOME"), Path.home())
        with client_factory() as client:
            provider, signal = build_live_provider(
                source, wanted, client, the_clock, watttime_region
            )
            chain: IntensityProvider = FallbackProvider(
                [provider],
                clock=the_clock,
                cache=IntensityCache(cache_path, clock=the_clock),
                signal=signal,
            )
            console = Console()
            table = _summary_table(f"{source} {wanted} -> {cache_path}")
            if start is not None:
                begin = parse_instant(start, "--start")
                stop = parse_instant(end, "--end") if end is not None else the_clock.now()
                if stop <= begin:
                    raise InputError("--end must be after --start", field="--end")
                with console.status(f"fetching {source} history for {wanted}"):
                    _add_series(table, "history", chain.history(wanted, begin, stop))
            else:
                with console.status(f"fetching {source} latest and forecast for {wanted}"):
                    _add_reading(table, chain.latest(wanted))
                    forecast = chain.forecast(wanted, timedelta(hours=horizon_hours))
                _add_series(table, "forecast", forecast)
            console.print(table)

    return fetch_command


fetch_command = make_fetch_command()


def build_live_provider(
    source: Source,
    zone: Zone,
    client: httpx.Client,
    clock: Clock,
    watttime_region: str | None = None,
) -> tuple[IntensityProvider, SignalKind]:
    """The live API client for ``source`` and the signal it serves (credentials from the env).

    Shared with ``forecast show`` so both commands read a live API the same way.
    """
    if source is Source.ELECTRICITYMAPS:
        token = _require_env(electricitymaps.TOKEN_ENV_VAR, "your Electricity Maps API token")
        settings = ElectricityMapsSettings(api_token=token, zones=(zone,))
        return ElectricityMapsProvider(settings, http=client, clock=clock), SignalKind.AVERAGE
    if source is Source.UKCARBON:
        uk = UkCarbonIntensityProvider(http=client, clock=clock)
        if zone not in uk.zones():
            raise InputError(
                f"the UK Carbon Intensity API has no zone {zone}; use GB (national) or "
                "GB-R1 .. GB-R17 (its regions, e.g. GB-R13 London)",
                field="--zone",
            )
        return uk, SignalKind.AVERAGE
    regions = dict(watttime.DEFAULT_REGIONS)
    if watttime_region is not None:
        regions[zone] = watttime_region.strip()
    if zone not in regions:
        raise InputError(
            f"no WattTime region is known for zone {zone}; pass --watttime-region NAME "
            "(e.g. CAISO_NORTH; see WattTime's /v3/my-access)",
            field="--watttime-region",
        )
    settings_wt = WattTimeSettings(
        username=_require_env(watttime.USERNAME_ENV_VAR, "your WattTime username"),
        password=_require_env(watttime.PASSWORD_ENV_VAR, "your WattTime password"),
        regions=regions,
    )
    return WattTimeProvider(settings_wt, http=client, clock=clock), SignalKind.MARGINAL


def _require_env(name: str, what: str) -> str:
    value = os.environ.get(name, "").strip()
    if not value:
        raise InputError(f"environment variable {name} is not set; export {name}=<{what}>")
    return value


def _summary_table(title: str) -> Table:
    table = Table(title=title)
    for column in ("what", "from (UTC)", "to (UTC)", "values", "step", "mean g/kWh", "signal"):
        table.add_column(column, justify="right" if column in ("values", "mean g/kWh") else "left")
    return table


def _add_series(table: Table, what: str, series: IntensitySeries) -> None:
    table.add_row(
        what + (" (STALE: cached, API failed)" if series.stale else ""),
        f"{series.start:%Y-%m-%d %H:%M}",
        f"{series.end:%Y-%m-%d %H:%M}",
        str(len(series)),
        str(series.step),
        f"{series.mean_g_per_kwh():.1f}",
        series.signal.value,
    )


def _add_reading(table: Table, reading: IntensityReading) -> None:
    table.add_row(
        "latest" + (" (STALE: cached, API failed)" if reading.stale else ""),
        f"{reading.at:%Y-%m-%d %H:%M}",
        "",
        "1",
        "",
        f"{reading.intensity_g_per_kwh:.1f}",
        reading.signal.value,
    )
