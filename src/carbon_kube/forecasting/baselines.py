"""Baseline forecasters: persistence, seasonal naive, and the data source's own forecast.

They exist to be beaten: every backtest scores them, so a learned model's figures always come
with the yardstick next to them. Intervals (p10/p90) are the point forecast plus the empirical
10th/90th percentile of the same rule's errors over the last ``error_window`` of known history;
p50 is the point forecast itself.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np

from carbon_kube.domain.arrays import FloatArray, IntArray
from carbon_kube.domain.errors import InputError
from carbon_kube.domain.forecasts import QuantileForecast
from carbon_kube.domain.intensity import IntensitySeries, to_epoch_s
from carbon_kube.domain.weather import WeatherSeries
from carbon_kube.forecasting.calibration import SECONDS_PER_DAY, issued_values
from carbon_kube.forecasting.protocol import (
    DAY,
    WEEK,
    KnownHistory,
    check_request,
    known_before,
    lagged,
    steps_in,
)

ERROR_WINDOW = timedelta(days=7)


def band(point: FloatArray, residuals: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
    """p10/p50/p90 from a point forecast and past errors (actual - forecast) of the same rule.

    With no finite residuals the band collapses onto the point (callers note it). Negative
    intensities are impossible, so p10 is clipped at 0; the ordering p10 <= p50 <= p90 holds.
    """
    p50 = np.maximum(np.asarray(point, dtype=np.float64), 0.0)
    finite = residuals[np.isfinite(residuals)]
    if finite.size == 0:
        return p50.copy(), p50, p50.copy()
    q10, q90 = np.quantile(finite, [0.1, 0.9])
    p10 = np.minimum(np.maximum(p50 + q10, 0.0), p50)
    p90 = np.maximum(p50 + q90, p50)
    return p10, p50, p90


@dataclass(frozen=True)
class PersistenceForecaster:
    """Tomorrow looks like today: the value at the same time of day on the last known day.

    For a target more than a day ahead it repeats the last known day (lag ``k`` days, the
    smallest ``k`` whose value is known at the origin).
    """

    error_window: timedelta = ERROR_WINDOW
    name: str = "persistence"
    max_horizon: timedelta = timedelta(hours=72)

    def required_history(self, horizon: timedelta) -> timedelta:
        return DAY * math.ceil(horizon / DAY) + self.error_window

    def forecast(
        self,
        history: IntensitySeries,
        origin: datetime,
        horizon: timedelta,
        weather: WeatherSeries | None = None,
    ) -> QuantileForecast:
        known = known_before(history, origin)
        n_steps = check_request(self, known, horizon)
        y = known.values_g_per_kwh
        o, per_day = y.size, known.steps_per_day
        ahead = np.arange(n_steps, dtype=np.int64)
        lag_days = (ahead + per_day) // per_day  # ceil((j + 1) / per_day)
        point = lagged(y, o + ahead - lag_days * per_day)
        p10 = np.empty(n_steps)
        p90 = np.empty(n_steps)
        p50 = np.empty(n_steps)
        window = steps_in(self.error_window, known.step)
        recent = np.arange(o - window, o, dtype=np.int64)
        for k in np.unique(lag_days):
            chosen = lag_days == k
            residuals = y[recent] - lagged(y, recent - int(k) * per_day)
            p10[chosen], p50[chosen], p90[chosen] = band(point[chosen], residuals)
        return _forecast(known, self.name, p10, p50, p90)


@dataclass(frozen=True)
class SeasonalNaiveForecaster:
    """The same hour of the week, averaged over the last ``weeks`` weeks.

    A weekly profile captures weekday/weekend demand and the daily solar cycle, but not this
    week's weather; it is the yardstick the learned model must beat by a margin.
    """

    weeks: int = 4
    error_window: timedelta = ERROR_WINDOW
    name: str = "seasonal-naive"
    max_horizon: timedelta = WEEK

    def required_history(self, horizon: timedelta) -> timedelta:
        return WEEK * self.weeks + self.error_window

    def forecast(
        self,
        history: IntensitySeries,
        origin: datetime,
        horizon: timedelta,
        weather: WeatherSeries | None = None,
    ) -> QuantileForecast:
        known = known_before(history, origin)
        n_steps = check_request(self, known, horizon)
        y = known.values_g_per_kwh
        o, per_week = y.size, steps_in(WEEK, known.step)
        targets = o + np.arange(n_steps, dtype=np.int64)
        point = self._profile(y, targets, per_week)
        window = steps_in(self.error_window, known.step)
        recent = np.arange(o - window, o, dtype=np.int64)
        residuals = y[recent] - self._profile(y, recent, per_week)
        p10, p50, p90 = band(point, residuals)
        return _forecast(known, self.name, p10, p50, p90)

    def _profile(self, y: FloatArray, targets: np.ndarray, per_week: int) -> FloatArray:
        lags = [lagged(y, targets - m * per_week) for m in range(1, self.weeks + 1)]
        return np.asarray(np.mean(np.vstack(lags), axis=0), dtype=np.float64)


@dataclass(frozen=True)
class ProviderForecaster:
    """The data source's own forecast (e.g. DACF's day-ahead series), scored like our models.

    ``forecasts`` holds one day-ahead forecast per interval: each UTC day's values are issued
    at the start of that day at the latest (``calibration.issued_values``, the rule the blend
    uses too). At an origin after midnight the next day's values are not issued yet, so those
    hours repeat the latest issued forecast for the same hour of day, and the notes say so:
    a forecast at 10:00 never reads tomorrow's values, which were made from data after 10:00.
    The horizon is capped at ``lead`` (24 h). The band comes from the source's own errors over
    the last ``error_window``; with less than a day of them the band collapses onto the point
    and the forecast says so in its notes.
    """

    forecasts: IntensitySeries
    lead: timedelta = DAY
    error_window: timedelta = ERROR_WINDOW
    name: str = "provider"

    @property
    def max_horizon(self) -> timedelta:
        return self.lead

    def required_history(self, horizon: timedelta) -> timedelta:
        return timedelta(0)

    def forecast(
        self,
        history: IntensitySeries,
        origin: datetime,
        horizon: timedelta,
        weather: WeatherSeries | None = None,
    ) -> QuantileForecast:
        if self.forecasts.step != history.step or self.forecasts.zone != history.zone:
            raise InputError(
                f"provider forecast is for {self.forecasts.zone} at {self.forecasts.step}; "
                f"the history is {history.zone} at {history.step}",
                field="provider-forecast",
            )
        known = known_before(history, origin)
        n_steps = check_request(self, known, horizon)
        fc = self.forecasts.values_g_per_kwh
        step_s = self.forecasts.step_s
        first = (known.origin_s - to_epoch_s(self.forecasts.start)) // step_s
        point, repeated = self._issued_point(known.target_epochs(n_steps), known.origin_s)
        if not np.all(np.isfinite(point)):
            missing = int(np.count_nonzero(~np.isfinite(point)))
            raise InputError(
                f"the provider forecast does not cover {missing} of the {n_steps} hours after "
                f"{origin.isoformat()} (it spans {self.forecasts.start.isoformat()} .. "
                f"{self.forecasts.end.isoformat()})",
                field="provider-forecast",
            )
        window = min(steps_in(self.error_window, known.step), known.values_g_per_kwh.size)
        past = np.arange(known.values_g_per_kwh.size - window, known.values_g_per_kwh.size)
        residuals = known.values_g_per_kwh[past] - lagged(
            fc, first - known.values_g_per_kwh.size + past
        )
        notes: tuple[str, ...] = ()
        if repeated:
            notes = (
                f"provider: {repeated} hours after the issued day repeat its forecast for the "
                "same hour (the next day-ahead forecast is not issued yet)",
            )
        if np.count_nonzero(np.isfinite(residuals)) < known.steps_per_day:
            residuals = np.array([], dtype=np.float64)
            notes = (
                *notes,
                "provider: under a day of past forecast errors, p10/p90 equal the point",
            )
        p10, p50, p90 = band(point, residuals)
        return _forecast(known, self.name, p10, p50, p90, notes)

    def _issued_point(self, targets_s: IntArray, origin_s: int) -> tuple[FloatArray, int]:
        """Values issued by the origin; later targets take the same hour of an issued day."""
        origins = np.full(targets_s.shape, origin_s, dtype=np.int64)
        point = issued_values(self.forecasts, targets_s, origins)
        unissued = ~np.isfinite(point) & (targets_s - targets_s % SECONDS_PER_DAY > origin_s)
        days_back = 1
        while np.any(unissued & ~np.isfinite(point)) and days_back <= 2:
            earlier = issued_values(
                self.forecasts, targets_s - days_back * SECONDS_PER_DAY, origins
            )
            point = np.where(unissued & ~np.isfinite(point), earlier, point)
            days_back += 1
        return point, int(np.count_nonzero(unissued))


def _forecast(
    known: KnownHistory,
    model: str,
    p10: FloatArray,
    p50: FloatArray,
    p90: FloatArray,
    notes: tuple[str, ...] = (),
) -> QuantileForecast:
    if not np.all(np.isfinite(p50)):
        raise InputError(
            f"model {model}: the history of {known.zone} before {known.origin.isoformat()} "
            "lacks values the rule needs",
            field="history",
        )
    return QuantileForecast(known.zone, model, known.origin, known.step, p10, p50, p90, notes)
