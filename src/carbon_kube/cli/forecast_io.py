"""Inputs and outputs of ``carbon-kube forecast``: read inputs, write results atomically.

History, weather and provider forecasts come in; metrics, tables and plots go out through a temp
file and a rename, so nothing is ever half-written.

Readers accept the long CSV, the Electricity Maps export (``read_intensity_file``) and the DACF
files; several files of one zone (e.g. one per year) are joined when they meet end to start.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import matplotlib as mpl
import numpy as np

from carbon_kube.domain.errors import InputError
from carbon_kube.domain.forecasts import QuantileForecast
from carbon_kube.domain.intensity import IntensitySeries
from carbon_kube.domain.weather import WeatherSeries
from carbon_kube.domain.zones import Zone
from carbon_kube.forecasting.backtesting import BacktestResult
from carbon_kube.providers.dacf import (
    is_dacf_file,
    read_dacf_forecast,
    read_dacf_intensity,
    read_dacf_weather,
)
from carbon_kube.providers.files import GapFill, ReadOptions, read_intensity_file
from carbon_kube.providers.weather_openmeteo import read_openmeteo_folder
from carbon_kube.storage.atomic import write_atomically, write_text_atomically

mpl.use("Agg")


def read_history(
    paths: Sequence[Path], zone: Zone, gap_fill: GapFill = GapFill.ERROR, assume_utc: bool = False
) -> IntensitySeries:
    """``zone``'s series from one or more files, joined in time order."""
    pieces = []
    for path in paths:
        if is_dacf_file(path):
            by_zone = read_dacf_intensity(path)
        else:
            by_zone = read_intensity_file(
                path, ReadOptions(gap_fill=gap_fill, zone=zone, assume_utc=assume_utc)
            )
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


def _axis_times(instants: Sequence[datetime]) -> np.ndarray:
    """UTC instants as naive ``datetime64`` (matplotlib's preferred time axis)."""
    return np.array([t.replace(tzinfo=None) for t in instants], dtype="datetime64[s]")


def _finite(value: float) -> float | None:
    return None if math.isnan(value) else round(value, 4)


def metrics_document(result: BacktestResult) -> dict[str, dict[str, Any]]:
    """``{model: {mape_pct, mae_g_per_kwh, n}}``, the contract of ``metrics.json``."""
    return {
        s.model: {
            "mape_pct": _finite(s.mape_pct),
            "mae_g_per_kwh": _finite(s.mae_g_per_kwh),
            "n": s.n,
        }
        for s in result.scores()
    }


def write_backtest(result: BacktestResult, out: Path, meta: dict[str, Any]) -> list[Path]:
    """``metrics.json``, ``per_horizon.csv``, ``coverage.json``, ``backtest.png`` in ``out``."""
    scores = result.scores()
    written = []
    out.mkdir(parents=True, exist_ok=True)
    metrics = out / "metrics.json"
    write_text_atomically(metrics, json.dumps(metrics_document(result), indent=2) + "\n")
    written.append(metrics)
    details = out / "details.json"
    document = {
        **meta,
        "origins": len(result.origins),
        "models": {
            s.model: {
                "coverage_p10_p90": _finite(s.coverage_p10_p90),
                "notes": list(s.notes),
            }
            for s in scores
        },
    }
    write_text_atomically(details, json.dumps(document, indent=2) + "\n")
    written.append(details)
    table = out / "per_horizon.csv"
    lines = ["horizon_h,model,mape_pct,mae_g_per_kwh"]
    step_h = result.step / timedelta(hours=1)
    for s in scores:
        for i, (mape, mae) in enumerate(
            zip(s.mape_pct_by_step, s.mae_g_per_kwh_by_step, strict=True)
        ):
            lines.append(f"{(i + 1) * step_h:g},{s.model},{mape:.4f},{mae:.4f}")
    write_text_atomically(table, "\n".join(lines) + "\n")
    written.append(table)
    plot = out / "backtest.png"
    write_atomically(plot, lambda p: plot_backtest(result, p))
    written.append(plot)
    return written


def plot_backtest(result: BacktestResult, path: Path) -> None:
    """MAPE per horizon for every model, and the last two weeks of forecasts vs actuals."""
    import matplotlib.pyplot as plt

    scores = result.scores()
    fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(10, 8))
    step_h = result.step / timedelta(hours=1)
    for s in scores:
        hours = np.arange(1, len(s.mape_pct_by_step) + 1) * step_h
        ax1.plot(hours, s.mape_pct_by_step, label=f"{s.model} ({s.mape_pct:.2f} %)")
    ax1.set_xlabel("horizon (h)")
    ax1.set_ylabel("MAPE (%)")
    ax1.set_title(f"{result.zone}: rolling-origin backtest, {len(result.origins)} origins")
    ax1.legend()
    ax1.grid(alpha=0.3)
    best = min(scores, key=lambda s: s.mape_pct)
    days = min(14, len(result.origins))
    rows = slice(len(result.origins) - days, len(result.origins))
    origins = result.origins[rows]
    n_steps = result.actual_g_per_kwh.shape[1]
    times = _axis_times([o + result.step * i for o in origins for i in range(n_steps)])
    ax2.plot(times, result.actual_g_per_kwh[rows].ravel(), color="black", lw=1, label="actual")
    ax2.plot(times, result.p50_g_per_kwh[best.model][rows].ravel(), lw=1, label=f"{best.model} p50")
    ax2.fill_between(
        times,
        result.p10_g_per_kwh[best.model][rows].ravel(),
        result.p90_g_per_kwh[best.model][rows].ravel(),
        alpha=0.3,
        label="p10-p90",
    )
    ax2.set_ylabel("gCO2eq/kWh")
    ax2.legend()
    ax2.grid(alpha=0.3)
    fig.autofmt_xdate()
    fig.tight_layout()
    fig.savefig(path, format="png", dpi=100)
    plt.close(fig)


def plot_forecast(history: IntensitySeries, forecast: QuantileForecast, path: Path) -> None:
    """The last three days of history and the forecast band after the origin."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(10, 4))
    begin = max(history.start, forecast.origin - timedelta(days=3))
    # A live forecast may start after stale cached history ends: then only the forecast is drawn.
    if begin < min(history.end, forecast.origin):
        recent = history.between(begin, min(history.end, forecast.origin))
        ax.plot(
            _axis_times(recent.timestamps()),
            recent.values_g_per_kwh,
            color="black",
            lw=1,
            label="history",
        )
    times = _axis_times(forecast.target_times())
    ax.plot(times, forecast.p50_g_per_kwh, label=f"{forecast.model} p50")
    ax.fill_between(
        times, forecast.p10_g_per_kwh, forecast.p90_g_per_kwh, alpha=0.3, label="p10-p90"
    )
    origin_x = _axis_times([forecast.origin])[0]
    ax.axvline(origin_x, color="grey", ls="--", lw=1)
    ax.set_ylabel("gCO2eq/kWh")
    ax.set_title(f"{forecast.zone}: forecast from {forecast.origin:%Y-%m-%d %H:%M} UTC")
    ax.legend()
    ax.grid(alpha=0.3)
    fig.autofmt_xdate()
    fig.tight_layout()
    fig.savefig(path, format="png", dpi=100)
    plt.close(fig)
