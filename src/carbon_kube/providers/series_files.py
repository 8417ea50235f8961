"""Read the series a forecast needs from files: history, weather and a source's own forecasts.

History comes from the long CSV, the Electricity Maps export (``read_intensity_file``) or the
DACF files; several files of one zone (e.g. one per year) are joined when they meet end to
start. Weather comes from an Open-Meteo folder or a DACF file. Reading only: nothing here
decides what a forecast does with the series.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from carbon_kube.domain.errors import InputError
from carbon_kube.domain.intensity import IntensitySeries
from carbon_kube.domain.weather import WeatherSeries
from carbon_kube.domain.zones import Zone
from carbon_kube.providers.dacf import (
    DACF_ACTUAL_COLUMN,
    is_dacf_file,
    read_dacf_forecast,
    read_dacf_intensity,
    read_dacf_weather,
)
from carbon_kube.providers.files import (
    GapFill,
    IntensityTable,
    ReadOptions,
    read_intensity_file,
    read_intensity_table,
)
from carbon_kube.providers.weather_openmeteo import read_openmeteo_folder

__all__ = [
    "join_series",
    "read_any_intensity",
    "read_history",
    "read_provider_forecast",
    "read_weather",
]


def read_any_intensity(path: Path, options: ReadOptions | None = None) -> IntensityTable:
    """Every intensity format any command reads: long CSV/Parquet, EM export, two columns, DACF.

    One dispatch for ``intensity show``, ``forecast``, ``simulate`` and the planner's file
    source, so a file one command reads is never refused by another.
    """
    if is_dacf_file(path):
        return IntensityTable(read_dacf_intensity(path), f"{DACF_ACTUAL_COLUMN} (direct)")
    return read_intensity_table(path, options)


def read_history(
    paths: Sequence[Path], zone: Zone, gap_fill: GapFill = GapFill.ERROR, assume_utc: bool = False
) -> IntensitySeries:
    """``zone``'s series from one or more files, joined in time order."""
    pieces = []
    for path in paths:
        by_zone = read_any_intensity(
            path, ReadOptions(gap_fill=gap_fill, zone=zone, assume_utc=assume_utc)
        ).series
        if zone not in by_zone:
            known = ", ".join(sorted(by_zone)) or "none"
            raise InputError(
                f"zone {zone} is not in the data (zones present: {known})", source=path
            )
        pieces.append((path, by_zone[zone]))
    return join_series(pieces, gap_fill)


def join_series(
    pieces: Sequence[tuple[Path, IntensitySeries]], gap_fill: GapFill
) -> IntensitySeries:
    """Concatenate series that follow each other; overlaps are refused, gaps obey ``gap_fill``."""
    ordered = sorted(pieces, key=lambda p: p[1].start)
    path, joined = ordered[0]
    for path, piece in ordered[1:]:
        if piece.step != joined.step:
            raise InputError(f"step {piece.step} differs from {joined.step}", source=path)
        if piece.start < joined.end:
            raise InputError(
                f"overlaps the previous file (which ends {joined.end.isoformat()})", source=path
            )
        gap = int((piece.start - joined.end) // joined.step)
        if gap and gap_fill is GapFill.ERROR:
            raise InputError(
                f"gap of {gap} steps before {piece.start.isoformat()}; choose --fill-gaps "
                "hold|interpolate",
                source=path,
            )
        last, first = joined.values_g_per_kwh[-1], piece.values_g_per_kwh[0]
        if gap_fill is GapFill.HOLD:
            filler = np.full(gap, last)
        else:
            filler = np.linspace(last, first, gap + 2)[1:-1]
        values = np.concatenate([joined.values_g_per_kwh, filler, piece.values_g_per_kwh])
        joined = IntensitySeries(joined.zone, joined.start, joined.step, values)
    return joined


def read_weather(path: Path | None, zone: Zone, perfect: bool) -> WeatherSeries | None:
    """Weather from an Open-Meteo folder or a DACF file (GFS), or ``None`` when not given."""
    if path is None:
        return None
    if path.is_dir():
        return read_openmeteo_folder(path, zone, as_perfect_forecast=perfect)
    if is_dacf_file(path):
        if perfect:
            raise InputError(
                "--weather-as-perfect-forecast applies to Open-Meteo reanalysis only; DACF's GFS "
                "columns are real day-ahead forecasts already",
                field="weather",
            )
        return read_dacf_weather(path)
    raise InputError(
        "expected an Open-Meteo folder (openmeteo-weather-hourly or one zone's folder) or a DACF "
        "*_direct_emissions file",
        source=path,
    )


def read_provider_forecast(path: Path | None, zone: Zone) -> IntensitySeries | None:
    """A source's own forecast series: a DACF forecast file or a long CSV of forecast values."""
    if path is None:
        return None
    if is_dacf_file(path):
        series = read_dacf_forecast(path)
    else:
        by_zone = read_intensity_file(path, ReadOptions(zone=zone))
        if zone not in by_zone:
            raise InputError(f"zone {zone} is not in the provider forecast", source=path)
        series = by_zone[zone]
    if series.zone != zone:
        raise InputError(f"provider forecast is for {series.zone}, not {zone}", source=path)
    return series
