"""Forecast charts: a backtest's errors by horizon, and a forecast band after its history.

Drawn off-screen with matplotlib's Agg backend into the path given (callers write atomically,
see ``sim.backtest_outputs.write_atomically``). Drawing only: no reading, no deciding.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np

from carbon_kube.domain.forecasts import QuantileForecast
from carbon_kube.domain.intensity import IntensitySeries
from carbon_kube.forecasting.backtesting import BacktestResult

__all__ = ["plot_backtest", "plot_forecast"]


def _axis_times(instants: Sequence[datetime]) -> np.ndarray:
    """UTC instants as naive ``datetime64`` (matplotlib's preferred time axis)."""
    return np.array([t.replace(tzinfo=None) for t in instants], dtype="datetime64[s]")


def plot_backtest(result: BacktestResult, path: Path) -> None:
    """MAPE per horizon for every model, and the last two weeks of forecasts vs actuals."""
    import matplotlib as mpl  # imported when drawing: ~0.3 s otherwise

    mpl.use("Agg")
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
    import matplotlib as mpl  # imported when drawing: ~0.3 s otherwise

    mpl.use("Agg")
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
