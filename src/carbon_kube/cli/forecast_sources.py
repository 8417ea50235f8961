"""Where ``carbon-kube forecast show`` reads a zone's recent history (and the source's forecast).

No new plumbing: live APIs go through the same ``FallbackProvider`` + ``IntensityCache`` chain
that ``intensity fetch`` fills (built by ``cli.fetch``), the offline default is the planning
source (``planning.build_intensity_source``: the embedded year replayed at today's date), and
files are read by ``forecast_io.read_history`` like ``forecast backtest`` reads them.

When a live API fails, the chain answers with the newest cached history flagged ``stale``; the
caller must say so in its output. This module decides nothing about models.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import timedelta
from enum import StrEnum
from pathlib import Path

import httpx

from carbon_kube.cli import fetch
from carbon_kube.cli.forecast_io import read_history
from carbon_kube.domain.clock import Clock
from carbon_kube.domain.durations import describe_duration
from carbon_kube.domain.errors import InputError
from carbon_kube.domain.instants import floor_to_hour
from carbon_kube.domain.intensity import IntensitySeries, SignalKind
from carbon_kube.domain.zones import Zone
from carbon_kube.planning.settings import SourceKind, SourceSettings
from carbon_kube.planning.sources import build_intensity_source, count_provider_failure
from carbon_kube.providers.base import ForecastUnsupportedError, IntensityProvider
from carbon_kube.providers.caching import IntensityCache, SeriesKind
from carbon_kube.providers.fallback import FallbackProvider
from carbon_kube.providers.files import GapFill

HOUR = timedelta(hours=1)


class ShowSource(StrEnum):
    """The sources ``forecast show`` can read history from."""

    AUTO = "auto"
    EMBEDDED = "embedded"
    FILE = "file"
    CACHE = "cache"
    ELECTRICITYMAPS = "electricitymaps"
    UKCARBON = "ukcarbon"


LIVE = {
    ShowSource.ELECTRICITYMAPS: fetch.Source.ELECTRICITYMAPS,
    ShowSource.UKCARBON: fetch.Source.UKCARBON,
}


@dataclass(frozen=True)
class ShowInputs:
    """The history a forecast starts from, where it came from, and the source's own forecast."""

    history: IntensitySeries
    description: str
    provider_forecast: IntensitySeries | None = None

    # The live source failed and the cache answered instead (``--source cache`` is not that).
    fell_back: bool = False


def resolve_source(source: ShowSource, files: Sequence[Path], has_em_token: bool) -> ShowSource:
    """``auto``: the files if given, Electricity Maps if a token is set, else the embedded data.

    The UK API needs no key but is never picked automatically: the offline default must stay
    offline. An explicit source that contradicts ``--intensity`` is a user error.
    """
    if source is ShowSource.AUTO:
        if files:
            return ShowSource.FILE
        return ShowSource.ELECTRICITYMAPS if has_em_token else ShowSource.EMBEDDED
    if files and source is not ShowSource.FILE:
        raise InputError(
            f"--intensity reads files, but --source is {source}; drop one of them",
            field="--source",
        )
    if source is ShowSource.FILE and not files:
        raise InputError("--source file needs --intensity FILE", field="--intensity")
    return source


def read_show_inputs(
    source: ShowSource,
    zone: Zone,
    *,
    window: timedelta,
    want_provider_forecast: bool,
    horizon: timedelta,
    clock: Clock,
    client: httpx.Client,
    cache_path: Path,
    files: Sequence[Path] = (),
    fill_gaps: GapFill = GapFill.ERROR,
    assume_utc: bool = False,
) -> ShowInputs:
    """History over the last ``window`` before now (files: all of them) from ``source``.

    ``source`` must be resolved (not ``auto``). With ``want_provider_forecast`` a live source's
    own forecast of ``horizon`` is fetched through the same chain (stale from the cache too).
    """
    if source is ShowSource.FILE:
        series = read_history(files, zone, fill_gaps, assume_utc)
        return ShowInputs(series, ", ".join(str(p) for p in files))
    now = floor_to_hour(clock.now())
    start = now - window
    if source is ShowSource.EMBEDDED:
        provider = build_intensity_source(SourceSettings(kind=SourceKind.EMBEDDED), clock)
        _require_zone(provider, zone, "the embedded dataset")
        if want_provider_forecast:
            raise InputError(
                "the embedded dataset is historical and has no forecast of its own; for "
                "--model provider use --source electricitymaps or ukcarbon, or "
                "--provider-forecast FILE",
                field="--model",
            )
        return ShowInputs(
            provider.history(zone, start, now),
            "the embedded dataset (a real year replayed at today's date, not live data)",
        )
    cache = open_cache(cache_path, clock)
    if source is ShowSource.CACHE:
        cached = cache.last_series(SeriesKind.HISTORY, zone, start, now, SignalKind.AVERAGE)
        if cached is None:
            raise InputError(
                f"the cache {cache_path} holds no {zone} history from the last "
                f"{describe_duration(window)}; fill it with `carbon-kube intensity fetch "
                f"--zone {zone} --start DATE` or choose another --source",
                field="--source",
            )
        forecast = (
            cache.last_series(SeriesKind.FORECAST, zone, now, now + horizon, SignalKind.AVERAGE)
            if want_provider_forecast
            else None
        )
        if want_provider_forecast and forecast is None:
            raise InputError(
                f"the cache {cache_path} holds no {zone} forecast; run `carbon-kube intensity "
                f"fetch --zone {zone}` first",
                field="--model",
            )
        return ShowInputs(
            hourly_means(cached),
            f"the cache {cache_path} (as last fetched)",
            None if forecast is None else hourly_means(forecast),
        )
    live, signal = fetch.build_live_provider(LIVE[source], zone, client, clock)
    chain = FallbackProvider(
        [live],
        clock=clock,
        cache=cache,
        signal=signal,
        on_failure=count_provider_failure,
    )
    history = chain.history(zone, start, now)
    forecast = None
    if want_provider_forecast:
        try:
            forecast = hourly_means(chain.forecast(zone, horizon))
        except ForecastUnsupportedError as error:
            raise InputError(f"{source} has no forecast for {zone}: {error}") from error
    description = f"{source} via the cache {cache_path}"
    if history.step < HOUR:
        description += f" ({describe_duration(history.step)} values averaged to hours)"
    fell_back = history.stale or (forecast is not None and forecast.stale)
    return ShowInputs(hourly_means(history), description, forecast, fell_back)


def hourly_means(series: IntensitySeries) -> IntensitySeries:
    """Sub-hourly values (the UK API's half-hours) as hourly means over whole UTC hours.

    Every model and the table work per hour; a partial hour at either end is dropped rather
    than averaged from half its values. Hourly or coarser series are returned unchanged.
    """
    if series.step >= HOUR or HOUR % series.step:
        return series
    per_hour = HOUR // series.step
    offset = series.start - floor_to_hour(series.start)
    skip = 0 if not offset else (HOUR - offset) // series.step
    hours = (len(series) - skip) // per_hour
    if hours <= 0:
        raise InputError(
            f"{series.zone}: the source returned under one whole hour of data "
            f"({len(series)} values of {describe_duration(series.step)})",
            field="--history",
        )
    values = series.values_g_per_kwh[skip : skip + hours * per_hour].reshape(hours, per_hour)
    return replace(
        series,
        start=series.start + skip * series.step,
        step=HOUR,
        values_g_per_kwh=values.mean(axis=1),
    )


def open_cache(path: Path, clock: Clock) -> IntensityCache:
    """The SQLite cache, or one line naming the file when it cannot be opened or created."""
    try:
        return IntensityCache(path, clock=clock)
    except (OSError, sqlite3.Error) as error:
        raise InputError(f"cannot open the intensity cache: {error}", source=path) from error


def _require_zone(provider: IntensityProvider, zone: Zone, what: str) -> None:
    if zone not in provider.zones():
        raise InputError(
            f"zone {zone} is not in {what} (zones: {', '.join(sorted(provider.zones()))}); "
            "pass --intensity FILE or choose a live --source",
            field="--zone",
        )
