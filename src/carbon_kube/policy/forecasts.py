"""What a policy believes about future intensity: the ``Forecast`` protocol and two baselines.

A decision made at ``decided_s`` sees only a forecast, never the truth. The protocol is one
vectorised question, so the simulator can ask it for a million jobs at once::

    forecast.integral(zone_index, decided_s, start_s, end_s) -> g·h/kWh

"the integral of the intensity believed at ``decided_s`` over ``[start, end)``", for runs that
start at or after the beginning of the step holding ``decided_s``. Multiply by kW to get grams;
divide by the run's hours to get the believed mean g/kWh. ``grid`` names the zones (by index)
and the step grid that candidate start times are drawn from.

To add a forecasting model (issue "Forecasting"), implement ``name``, ``grid`` and ``integral``;
the policies need nothing else. ``SeriesForecast`` adapts a model that can only answer "the
believed series from this instant on" (one ``IntensitySeries`` per zone and decision step).

* ``OracleForecast``: the true future, an upper bound for every result, never a production policy.
* ``PersistenceForecast``: every future instant is believed to repeat the value 24 h earlier;
  beyond 24 h ahead the last observed day repeats. The step holding the decision is not yet
  observed, so it too takes the value of 24 h earlier. With less than a day of history the
  available steps repeat (with none at all, the first step's value is used).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Protocol

import numpy as np

from carbon_kube.domain.arrays import FloatArray
from carbon_kube.domain.intensity import IntensitySeries, from_epoch_s
from carbon_kube.domain.zones import Zone
from carbon_kube.policy.grids import SECONDS_PER_HOUR, IntensityGrid, StepGrid


class Forecast(Protocol):
    """What is believed, at a decision time, about a zone's intensity (see module docstring)."""

    @property
    def name(self) -> str:
        """Short id shown in reports (``oracle``, ``persistence``)."""
        ...

    @property
    def grid(self) -> StepGrid:
        """Zones (by index) and the step grid candidate starts are drawn from."""
        ...

    def integral(
        self, zone_index: int, decided_s: FloatArray, start_s: FloatArray, end_s: FloatArray
    ) -> FloatArray:
        """Believed integral of intensity over ``[start, end)`` in g·h/kWh (vectorised)."""
        ...


class OracleForecast:
    """Perfect knowledge of the future: the true integral, whatever the decision time."""

    name = "oracle"

    def __init__(self, truth: IntensityGrid) -> None:
        self._truth = truth

    @property
    def grid(self) -> StepGrid:
        return self._truth.grid

    def integral(
        self, zone_index: int, decided_s: FloatArray, start_s: FloatArray, end_s: FloatArray
    ) -> FloatArray:
        return self._truth.integral(zone_index, start_s, end_s)


class BelievedForecast(OracleForecast):
    """A belief given whole as a series (a provider's forecast joined to the history).

    Planned on as the oracle plans on the truth, but under its own name (``provider``, or the
    model a published signal names), so plans and reports never call a forecast an oracle.
    """

    def __init__(self, name: str, belief: IntensityGrid) -> None:
        super().__init__(belief)
        self.name = name


class PersistenceForecast:
    """The value 24 h earlier, repeated daily: the baseline every learned model must beat.

    For a decision in step ``c`` the believed intensity from ``c`` on is periodic with the
    pattern ``actual[c - p .. c - 1]`` (``p`` = steps per day, or fewer when history is short),
    so its integral is whole periods plus a partial one, all from the true cumulative integral:
    no per-job loop, and no knowledge of anything at or after the decision step.
    """

    name = "persistence"

    def __init__(self, truth: IntensityGrid) -> None:
        self._truth = truth

    @property
    def grid(self) -> StepGrid:
        return self._truth.grid

    def integral(
        self, zone_index: int, decided_s: FloatArray, start_s: FloatArray, end_s: FloatArray
    ) -> FloatArray:
        grid = self._truth.grid
        step_s = float(grid.step_s)
        decided_step = np.clip(grid.step_of(decided_s), 0, grid.n_steps)
        period_steps = np.clip(decided_step, 1, grid.steps_per_day)
        # No history at all (decision in the first step): repeat the first step's value.
        base_s = grid.origin_s + np.maximum(decided_step - period_steps, 0) * step_s
        period_s = period_steps * step_s
        decided_step_s = grid.origin_s + decided_step * step_s
        base_cumulative = self._truth.cumulative_at(zone_index, base_s)
        per_period = self._truth.cumulative_at(zone_index, base_s + period_s) - base_cumulative

        def believed_cumulative(instants_s: FloatArray) -> FloatArray:
            """Believed integral from the start of the decision step to each instant."""
            since_s = np.asarray(instants_s, dtype=np.float64) - decided_step_s
            if since_s.size and since_s.min() < 0:
                raise ValueError("persistence: a run starts before the step holding its decision")
            whole = np.floor(since_s / period_s)
            partial_s = since_s - whole * period_s
            result: FloatArray = whole * per_period + (
                self._truth.cumulative_at(zone_index, base_s + partial_s) - base_cumulative
            )
            return result

        result: FloatArray = believed_cumulative(end_s) - believed_cumulative(start_s)
        return result


class SeriesForecast:
    """Adapt a model that answers with a believed ``IntensitySeries`` per zone and decision.

    ``believe(zone, decided_at)`` must return a series on the grid's step that starts at or
    before the step holding ``decided_at`` and covers every run asked about; it is called once
    per distinct (zone, decision step), so cost grows with decision steps, not with jobs.
    """

    def __init__(
        self,
        name: str,
        grid: StepGrid,
        believe: Callable[[Zone, datetime], IntensitySeries],
    ) -> None:
        self._name = name
        self._grid = grid
        self._believe = believe

    @property
    def name(self) -> str:
        return self._name

    @property
    def grid(self) -> StepGrid:
        return self._grid

    def integral(
        self, zone_index: int, decided_s: FloatArray, start_s: FloatArray, end_s: FloatArray
    ) -> FloatArray:
        decided = np.broadcast_to(np.asarray(decided_s, dtype=np.float64), np.shape(start_s))
        steps = self._grid.step_of(decided)
        result = np.empty(np.shape(start_s), dtype=np.float64)
        zone = self._grid.zones[zone_index]
        for step in np.unique(steps):
            mask = steps == step
            at = from_epoch_s(self._grid.origin_s + int(step) * self._grid.step_s)
            series = self._believe(zone, at)
            result[mask] = _series_cumulative(series, np.asarray(end_s)[mask]) - (
                _series_cumulative(series, np.asarray(start_s)[mask])
            )
        return result


def _series_cumulative(series: IntensitySeries, instants_s: FloatArray) -> FloatArray:
    """Integral of ``series`` from its start to each instant, g·h/kWh; outside is an error."""
    offsets = np.asarray(instants_s, dtype=np.float64) - series.start_s
    if offsets.size and (offsets.min() < 0 or offsets.max() > series.step_s * len(series)):
        raise KeyError(f"forecast for {series.zone} does not cover the run")
    values = series.values_g_per_kwh
    cumulative = np.concatenate(([0.0], np.cumsum(values * series.step_s)))
    index = np.minimum((offsets // series.step_s).astype(np.int64), len(series) - 1)
    result: FloatArray = (
        cumulative[index] + (offsets - index * series.step_s) * values[index]
    ) / SECONDS_PER_HOUR
    return result


def make_forecast(kind: str, truth: IntensityGrid) -> Forecast:
    """``oracle`` or ``persistence`` by name; anything else is a ``ValueError``."""
    if kind == OracleForecast.name:
        return OracleForecast(truth)
    if kind == PersistenceForecast.name:
        return PersistenceForecast(truth)
    raise ValueError(f"unknown forecast {kind!r}; expected oracle or persistence")
