"""The ``Forecaster`` protocol and the one function that decides what a model may see.

Every model turns ``(history, origin, horizon, weather)`` into a ``QuantileForecast``. A value of
an ``IntensitySeries`` at ``t`` holds on ``[t, t + step)``, so it is *known* at ``origin`` only
when ``t + step <= origin``; ``known_before`` cuts the history there, and models read history
only through it. Weather is read only through ``WeatherSeries.at_times`` which masks values
stamped after the origin. Requests a model cannot honour (too little history, too long a
horizon, an origin off the data's grid) raise ``InputError`` saying what is needed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

import numpy as np

from carbon_kube.domain.arrays import FloatArray, IntArray
from carbon_kube.domain.durations import describe_duration
from carbon_kube.domain.errors import InputError
from carbon_kube.domain.forecasts import QuantileForecast
from carbon_kube.domain.intensity import IntensitySeries, to_epoch_s
from carbon_kube.domain.weather import WeatherSeries
from carbon_kube.domain.zones import Zone

DAY = timedelta(days=1)
WEEK = timedelta(days=7)


class Forecaster(Protocol):
    """A model that forecasts a zone's intensity from what was known at the origin."""

    @property
    def name(self) -> str:
        """Id used on the command line and in ``metrics.json`` (``persistence``, ``lightgbm``)."""
        ...

    @property
    def max_horizon(self) -> timedelta:
        """The furthest a forecast may reach; longer requests are an ``InputError``."""
        ...

    def required_history(self, horizon: timedelta) -> timedelta:
        """How much known history a forecast of ``horizon`` needs."""
        ...

    def forecast(
        self,
        history: IntensitySeries,
        origin: datetime,
        horizon: timedelta,
        weather: WeatherSeries | None = None,
    ) -> QuantileForecast:
        """p10/p50/p90 for each step of ``[origin, origin + horizon)``."""
        ...


@dataclass(frozen=True)
class KnownHistory:
    """The values of a series known at ``origin``: ``values[-1]`` ended exactly at the origin."""

    zone: Zone
    values_g_per_kwh: FloatArray
    origin: datetime
    step: timedelta

    @property
    def steps_per_day(self) -> int:
        return steps_in(DAY, self.step)

    @property
    def step_s(self) -> int:
        return int(self.step.total_seconds())

    @property
    def origin_s(self) -> int:
        return to_epoch_s(self.origin)

    @property
    def duration(self) -> timedelta:
        return self.step * int(self.values_g_per_kwh.size)

    def target_epochs(self, n_steps: int) -> IntArray:
        """Epoch seconds of the start of each of the next ``n_steps`` intervals."""
        step_s = int(self.step.total_seconds())
        return self.origin_s + step_s * np.arange(n_steps, dtype=np.int64)


def steps_in(duration: timedelta, step: timedelta) -> int:
    """``duration`` as a whole number of steps; a remainder is an ``InputError``."""
    if duration % step:
        raise InputError(
            f"{describe_duration(duration)} is not a whole number of the data's "
            f"{describe_duration(step)} steps",
            field="horizon",
        )
    return int(duration // step)


def known_before(history: IntensitySeries, origin: datetime) -> KnownHistory:
    """The values of ``history`` whose interval ended at or before ``origin``.

    The origin must sit on the series' grid. An origin before the data starts, or after it ends
    (the forecast would silently rest on older data than it claims), is an ``InputError``.
    """
    offset = origin - history.start
    if offset % history.step:
        raise InputError(
            f"forecast origin {origin.isoformat()} is not on the data's "
            f"{describe_duration(history.step)} grid starting {history.start.isoformat()}",
            field="origin",
        )
    n_known = min(len(history), int(offset // history.step))
    if n_known <= 0:
        raise InputError(
            f"no {history.zone} data before the origin {origin.isoformat()}; "
            f"the data starts {history.start.isoformat()}",
            field="origin",
        )
    values = history.values_g_per_kwh[:n_known]
    if n_known < int(offset // history.step):
        raise InputError(
            f"{history.zone} data ends {history.end.isoformat()}, before the origin "
            f"{origin.isoformat()}; a forecast needs data up to its origin",
            field="origin",
        )
    return KnownHistory(history.zone, values, origin, history.step)


def check_request(model: Forecaster, known: KnownHistory, horizon: timedelta) -> int:
    """Validate horizon and history length; returns the number of forecast steps.

    Messages say how much the model needs, so the user can pick a later start or longer data.
    """
    if horizon <= timedelta(0):
        raise InputError("the horizon must be positive, e.g. 24h", field="horizon")
    if horizon > model.max_horizon:
        raise InputError(
            f"model {model.name} forecasts at most {describe_duration(model.max_horizon)} ahead, "
            f"asked for {describe_duration(horizon)}; choose a shorter --horizon or another model",
            field="horizon",
        )
    n_steps = steps_in(horizon, known.step)
    needed = model.required_history(horizon)
    if known.duration < needed:
        raise InputError(
            f"model {model.name} needs at least {describe_duration(needed)} of {known.zone} "
            f"history before the origin {known.origin.isoformat()}, found "
            f"{describe_duration(known.duration)}; start later or give a longer file",
            field="history",
        )
    return n_steps


def lagged(values: FloatArray, index: IntArray) -> FloatArray:
    """``values[index]`` with NaN where the index is negative or past the known values."""
    inside = (index >= 0) & (index < values.size)
    return np.where(inside, values[np.where(inside, index, 0)], np.nan)
