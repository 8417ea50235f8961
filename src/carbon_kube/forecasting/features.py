"""The learned model's features, built for many (origin, horizon) pairs at once.

Every feature of a row with origin index ``o`` reads intensity only at indices ``< o`` (the
values known at the origin) and weather only through ``WeatherSeries.at_epochs`` with that
row's origin, which masks values stamped later. Intensity features are divided by the mean of
the last known day (``level``) and the target is ``y / level``: the model learns shapes and
ratios, which carry across seasons and years better than absolute levels, and a ratio error is
what MAPE measures. The level itself (log) and the season (day of year) are features too: in a
backtest on ERCOT removing them raised MAPE from 8.95 % to 9.15 %.

Weather columns are fixed by ``weather_names``; a variable that is missing, or not yet known at
a row's origin, is NaN, which LightGBM routes down a learned default branch.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from carbon_kube.domain.arrays import FloatArray, IntArray
from carbon_kube.domain.weather import WeatherSeries
from carbon_kube.forecasting.protocol import lagged

_SECONDS_PER_DAY = 86_400
_SECONDS_PER_WEEK = 7 * _SECONDS_PER_DAY
_SEASONAL_WEEKS = 4
_LEVEL_FLOOR_G_PER_KWH = 1.0


@dataclass(frozen=True)
class FeatureSet:
    """A design matrix with named columns, plus the per-row level used to scale the target."""

    matrix: FloatArray
    names: tuple[str, ...]
    level_g_per_kwh: FloatArray


def build_features(
    values_g_per_kwh: FloatArray,
    start_s: int,
    step_s: int,
    origins: IntArray,
    n_steps: int,
    weather: WeatherSeries | None,
    weather_names: tuple[str, ...],
) -> FeatureSet:
    """Rows for every origin index in ``origins`` and every step ``0..n_steps-1`` after it.

    ``values_g_per_kwh`` may extend past an origin (training uses one long array); only indices
    below each row's origin are read. ``weather_names`` fixes the weather columns so that
    training and prediction agree even when some are missing (they become NaN columns).
    """
    y = np.asarray(values_g_per_kwh, dtype=np.float64)
    per_day = _SECONDS_PER_DAY // step_s
    per_week = _SECONDS_PER_WEEK // step_s
    origin = np.repeat(np.asarray(origins, dtype=np.int64), n_steps)
    ahead = np.tile(np.arange(n_steps, dtype=np.int64), len(origins))
    target = origin + ahead

    def known(index: IntArray) -> FloatArray:
        # The no-look-ahead rule in one place: an index at or after the row's origin is NaN.
        return np.where(index < origin, lagged(y, index), np.nan)

    day_window = np.stack([known(origin - 1 - i) for i in range(per_day)])
    level = np.fmax(_mean(day_window, axis=0), _LEVEL_FLOOR_G_PER_KWH)
    week_mean = _window_mean(y, origin, per_week)
    lag_days = (ahead + per_day) // per_day
    seasonal = _mean(
        np.stack([known(target - m * per_week) for m in range(1, _SEASONAL_WEEKS + 1)]), axis=0
    )
    target_s = start_s + target * step_s
    origin_s = start_s + origin * step_s
    hour = (target_s % _SECONDS_PER_DAY) / 3600.0
    day_of_year = (target_s % (365.25 * _SECONDS_PER_DAY)) / (365.25 * _SECONDS_PER_DAY)
    columns: dict[str, FloatArray] = {
        "horizon_steps": (ahead + 1).astype(np.float64),
        "target_hour_utc": hour,
        "target_weekday": ((target_s // _SECONDS_PER_DAY + 3) % 7).astype(np.float64),
        "season_sin": np.sin(2 * np.pi * day_of_year),
        "season_cos": np.cos(2 * np.pi * day_of_year),
        "origin_hour_utc": (origin_s % _SECONDS_PER_DAY) / 3600.0,
        "log_level": np.log(level),
        "last_ratio": known(origin - 1) / level,
        "last3_ratio": _mean(np.stack([known(origin - 1 - i) for i in range(3)]), axis=0) / level,
        "same_hour_1_ratio": known(target - lag_days * per_day) / level,
        "same_hour_2_ratio": known(target - (lag_days + 1) * per_day) / level,
        "same_hour_week_ratio": known(target - per_week) / level,
        "seasonal_ratio": seasonal / level,
        "day_min_ratio": np.fmin.reduce(day_window, axis=0) / level,
        "day_max_ratio": np.fmax.reduce(day_window, axis=0) / level,
        "week_ratio": week_mean / level,
    }
    for name in weather_names:
        for suffix in ("target", "target_minus_day", "last", "window", "next_day_change"):
            columns[f"wx_{name}_{suffix}"] = np.full(target.size, np.nan)
    if weather is not None and weather_names:
        at_target = weather.at_epochs(target_s, origin_s)
        day_before = weather.at_epochs(target_s - _SECONDS_PER_DAY, origin_s)
        last = weather.at_epochs(origin_s - step_s, origin_s)
        # Smoothed weather around the target (+-3 h) and the change of the next day's mean
        # against the last day's: level shifts (a windy day) matter more than single hours.
        window = _weather_mean(weather, [target_s + k * 3600 for k in range(-3, 4)], origin_s)
        next_day = _weather_mean(weather, [origin_s + k * 3600 for k in range(24)], origin_s)
        last_day = _weather_mean(weather, [origin_s - (k + 1) * 3600 for k in range(24)], origin_s)
        for name in weather_names:
            if name in weather.variables:
                columns[f"wx_{name}_target"] = at_target[name]
                columns[f"wx_{name}_target_minus_day"] = at_target[name] - day_before[name]
                columns[f"wx_{name}_last"] = last[name]
                columns[f"wx_{name}_window"] = window[name]
                columns[f"wx_{name}_next_day_change"] = next_day[name] - last_day[name]
    names = tuple(columns)
    matrix = np.column_stack([columns[n] for n in names]).astype(np.float64)
    return FeatureSet(matrix, names, level)


def _mean(stack: FloatArray, axis: int) -> FloatArray:
    """Mean over finite values; NaN (without a warning) where there are none."""
    finite = np.isfinite(stack)
    count = finite.sum(axis=axis)
    total = np.where(finite, stack, 0.0).sum(axis=axis)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, total / np.maximum(count, 1), np.nan)


def _window_mean(y: FloatArray, origin: IntArray, width: int) -> FloatArray:
    """Mean of ``y[origin - width : origin]`` per row via prefix sums (clipped to the data)."""
    prefix = np.concatenate([[0.0], np.cumsum(y)])
    hi = np.clip(origin, 0, y.size)
    lo = np.clip(origin - width, 0, y.size)
    count = hi - lo
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, (prefix[hi] - prefix[lo]) / np.maximum(count, 1), np.nan)


def _weather_mean(
    weather: WeatherSeries, instants: list[IntArray], origin_s: IntArray
) -> dict[str, FloatArray]:
    """Per variable, the mean over several instants of values known at each row's origin."""
    samples = [weather.at_epochs(at, origin_s) for at in instants]
    return {
        name: _mean(np.stack([sample[name] for sample in samples]), axis=0)
        for name in weather.variables
    }
