"""The history a forecast starts from, read from a configured source (and its own forecast).

What ``carbon-kube forecast show`` reads: live APIs through the same chain and cache as
``intensity fetch`` (``providers.construction.build_source``), only the cache, the embedded
year replayed at today's date, or files (``providers.series_files.read_history``). ``auto``
resolves to files if given, Electricity Maps if a token is set, else the embedded data.

When a live API fails, the chain answers with the newest cached history flagged ``stale``; the
caller must say so in its output. This module decides nothing about models (see
``forecasting.selection``) and reads no environment (the caller says whether a token is set).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path

import httpx

from carbon_kube.domain.clock import Clock
from carbon_kube.domain.durations import describe_duration
from carbon_kube.domain.errors import InputError
from carbon_kube.domain.instants import floor_to_hour
from carbon_kube.domain.intensity import IntensitySeries, SignalKind
from carbon_kube.domain.zones import Zone
from carbon_kube.providers.base import ForecastUnsupportedError, IntensityProvider
from carbon_kube.providers.caching import SeriesKind
from carbon_kube.providers.construction import (
    Credentials,
    SourceKind,
    SourceSettings,
    build_source,
    open_cache,
)
from carbon_kube.providers.files import GapFill
from carbon_kube.providers.series_files import read_history

__all__ = ["HISTORY_SOURCES", "ShowInputs", "hourly_means", "read_show_inputs", "resolve_source"]

HOUR = timedelta(hours=1)

# The sources a forecast's history can come from (WattTime's marginal signal is not one).
HISTORY_SOURCES = (
    SourceKind.EMBEDDED,
    SourceKind.FILE,
    SourceKind.CACHE,
    SourceKind.ELECTRICITYMAPS,
    SourceKind.UKCARBON,
    SourceKind.ENTSOE,
)


@dataclass(frozen=True)
class ShowInputs:
    """The history a forecast starts from, where it came from, and the source's own forecast."""

    history: IntensitySeries
    description: str
    provider_forecast: IntensitySeries | None = None

    # The live source failed and the cache answered instead (``--source cache`` is not that).
    fell_back: bool = False


def resolve_source(
    source: SourceKind | None, files: Sequence[Path], has_em_token: bool
) -> SourceKind:
    """``None`` (auto): the files if given, Electricity Maps with a token, else the embedded data.

    The UK API needs no key but is never picked automatically: the offline default must stay
    offline. An explicit source that contradicts ``--intensity`` is a user error.
    """
    if source is None:
        if files:
            return SourceKind.FILE
        return SourceKind.ELECTRICITYMAPS if has_em_token else SourceKind.EMBEDDED
    if files and source is not SourceKind.FILE:
        raise InputError(
            f"--intensity reads files, but --source is {source}; drop one of them",
            field="--source",
        )
    if source is SourceKind.FILE and not files:
        raise InputError("--source file needs --intensity FILE", field="--intensity")
    return source


def read_show_inputs(
    source: SourceKind,
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
    credentials: Credentials | None = None,
    urls: Mapping[str, str] | None = None,
) -> ShowInputs:
    """History over the last ``window`` before now (files: all of them) from ``source``.

    ``source`` must be resolved (``resolve_source``). With ``want_provider_forecast`` a live
    source's own forecast of ``horizon`` is fetched through the same chain (stale from the
    cache too). ``urls`` are ``SourceSettings``' API base URLs (a proxy, or a test server).
    """
    if source is SourceKind.FILE:
        series = read_history(files, zone, fill_gaps, assume_utc)
        return ShowInputs(series, ", ".join(str(p) for p in files))
    now = floor_to_hour(clock.now())
    start = now - window
    if source is SourceKind.EMBEDDED:
        provider = build_source(SourceSettings(kind=SourceKind.EMBEDDED), clock)
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
    if source is SourceKind.CACHE and not cache_path.is_file():
        # Reading must not create: opening a missing cache would leave an empty SQLite file.
        raise InputError(
            f"no cache at {cache_path}; fill it with `carbon-kube intensity fetch --zone {zone} "
            "--start DATE` or choose another --source",
            field="--source",
        )
    cache = open_cache(cache_path, clock)
    if source is SourceKind.CACHE:
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
    chain = build_source(
        SourceSettings(kind=source, cache_path=cache_path, **dict(urls or {})),
        clock,
        zone=zone,
        client=client,
        credentials=credentials,
        cache=cache,
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


def _require_zone(provider: IntensityProvider, zone: Zone, what: str) -> None:
    if zone not in provider.zones():
        raise InputError(
            f"zone {zone} is not in {what} (zones: {', '.join(sorted(provider.zones()))}); "
            "pass --intensity FILE or choose a live --source",
            field="--zone",
        )
