"""Rolling-origin backtest: forecast from each origin with only what was known, then score.

Origins run from ``start`` to ``end`` every ``origin_every`` (daily by default). Each model sees
the history cut at the origin (``IntensitySeries.between``), on top of the models' own
``known_before`` rule, so a look-ahead bug would need two mistakes to reach a score. Every
model is scored on the same (origin, step) cells; a model that cannot forecast an origin stops
the backtest with its reason instead of silently scoring fewer hours than the others.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np

from carbon_kube.domain.arrays import FloatArray
from carbon_kube.domain.durations import describe_duration
from carbon_kube.domain.errors import InputError
from carbon_kube.domain.intensity import IntensitySeries
from carbon_kube.domain.weather import WeatherSeries
from carbon_kube.forecasting.metrics import coverage, mae_g_per_kwh, mape_pct, scored_count
from carbon_kube.forecasting.protocol import DAY, Forecaster, steps_in


@dataclass(frozen=True)
class ModelScore:
    """One model's errors over every scored hour and per horizon step."""

    model: str
    mape_pct: float
    mae_g_per_kwh: float
    n: int
    coverage_p10_p90: float
    mape_pct_by_step: tuple[float, ...]
    mae_g_per_kwh_by_step: tuple[float, ...]
    notes: tuple[str, ...]

    def as_json(self) -> dict[str, float | int]:
        return {"mape_pct": self.mape_pct, "mae_g_per_kwh": self.mae_g_per_kwh, "n": self.n}


@dataclass(frozen=True)
class BacktestResult:
    """Forecasts (origin x step) of every model next to the actuals, and their scores."""

    zone: str
    origins: tuple[datetime, ...]
    step: timedelta
    actual_g_per_kwh: FloatArray
    p10_g_per_kwh: dict[str, FloatArray]
    p50_g_per_kwh: dict[str, FloatArray]
    p90_g_per_kwh: dict[str, FloatArray]
    notes: dict[str, tuple[str, ...]]

    @property
    def models(self) -> list[str]:
        return list(self.p50_g_per_kwh)

    def score(self, model: str) -> ModelScore:
        actual = self.actual_g_per_kwh
        p50 = self.p50_g_per_kwh[model]
        steps = range(actual.shape[1])
        return ModelScore(
            model=model,
            mape_pct=mape_pct(actual, p50),
            mae_g_per_kwh=mae_g_per_kwh(actual, p50),
            n=scored_count(actual, p50),
            coverage_p10_p90=coverage(actual, self.p10_g_per_kwh[model], self.p90_g_per_kwh[model]),
            mape_pct_by_step=tuple(mape_pct(actual[:, i], p50[:, i]) for i in steps),
            mae_g_per_kwh_by_step=tuple(mae_g_per_kwh(actual[:, i], p50[:, i]) for i in steps),
            notes=self.notes[model],
        )

    def scores(self) -> list[ModelScore]:
        return [self.score(m) for m in self.models]


def daily_origins(
    series: IntensitySeries, start: datetime, end: datetime, horizon: timedelta, every: timedelta
) -> list[datetime]:
    """Origins in ``[start, end)`` whose whole horizon has actuals in ``series``."""
    if end <= start:
        raise InputError("--end must be after --start", field="end")
    origins = []
    origin = start
    while origin < end:
        if origin + horizon <= series.end:
            origins.append(origin)
        origin += every
    if not origins:
        raise InputError(
            f"no origin in [{start.isoformat()}, {end.isoformat()}) has "
            f"{describe_duration(horizon)} of actuals "
            f"after it; the {series.zone} data spans {series.start.isoformat()} .. "
            f"{series.end.isoformat()}",
            field="start",
        )
    return origins


def run_backtest(
    series: IntensitySeries,
    models: Sequence[Forecaster],
    *,
    start: datetime,
    end: datetime,
    horizon: timedelta,
    weather: WeatherSeries | None = None,
    origin_every: timedelta = DAY,
    on_origin: Callable[[datetime], None] | None = None,
) -> BacktestResult:
    """Forecast from every origin with every model and collect the forecasts and actuals."""
    n_steps = steps_in(horizon, series.step)
    origins = daily_origins(series, start, end, horizon, origin_every)
    for model in models:
        if horizon > model.max_horizon:
            raise InputError(
                f"model {model.name} forecasts at most {describe_duration(model.max_horizon)} "
                f"ahead, asked for {describe_duration(horizon)}; drop it from --model or shorten "
                "--horizon",
                field="horizon",
            )
        earliest = series.start + model.required_history(horizon)
        if origins[0] < earliest:
            raise InputError(
                f"model {model.name} needs {describe_duration(model.required_history(horizon))} "
                "of history before "
                f"its first origin; the {series.zone} data starts {series.start.isoformat()}, so "
                f"start on or after {earliest.isoformat()}",
                field="start",
            )
    actual = np.empty((len(origins), n_steps))
    shape = (len(origins), n_steps)
    p10 = {m.name: np.empty(shape) for m in models}
    p50 = {m.name: np.empty(shape) for m in models}
    p90 = {m.name: np.empty(shape) for m in models}
    notes: dict[str, dict[str, None]] = {m.name: {} for m in models}
    for row, origin in enumerate(origins):
        past = series.between(series.start, origin)
        actual[row] = series.between(origin, origin + horizon).values_g_per_kwh
        for model in models:
            forecast = model.forecast(past, origin, horizon, weather)
            p10[model.name][row] = forecast.p10_g_per_kwh
            p50[model.name][row] = forecast.p50_g_per_kwh
            p90[model.name][row] = forecast.p90_g_per_kwh
            notes[model.name].update(dict.fromkeys(forecast.notes))
        if on_origin is not None:
            on_origin(origin)
    return BacktestResult(
        zone=str(series.zone),
        origins=tuple(origins),
        step=series.step,
        actual_g_per_kwh=actual,
        p10_g_per_kwh=p10,
        p50_g_per_kwh=p50,
        p90_g_per_kwh=p90,
        notes={name: tuple(n) for name, n in notes.items()},
    )
