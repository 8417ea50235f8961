"""The shared step grid of several zones' intensity, and the true intensity on it.

Policies reason in epoch seconds on one grid (``origin_s + k x step_s``) so that millions of jobs
are planned with array arithmetic. ``IntensityGrid`` is the *true* intensity (what happened); it is
what the ``oracle`` forecast believes and what the simulator measures emissions with. It never
extrapolates: an integral outside the data raises ``KeyError``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from carbon_kube.domain.arrays import FloatArray, IntArray
from carbon_kube.domain.intensity import IntensitySeries, from_epoch_s
from carbon_kube.domain.zones import Zone
from carbon_kube.energy.emissions import IntensityIntegral

SECONDS_PER_HOUR = 3600.0


@dataclass(frozen=True, slots=True)
class StepGrid:
    """Zones and the time grid every policy plans on: steps ``[origin + k step, +step)``."""

    zones: tuple[Zone, ...]
    origin_s: int
    step_s: int
    n_steps: int

    @property
    def end_s(self) -> int:
        """The first instant (epoch s) without data."""
        return self.origin_s + self.step_s * self.n_steps

    @property
    def steps_per_day(self) -> int:
        """Steps in 24 h (at least 1), the period of the persistence forecast."""
        return max(1, 86_400 // self.step_s)

    def zone_index(self, zone: Zone) -> int:
        """Position of ``zone`` in ``zones``; an unknown zone is a ``KeyError``."""
        try:
            return self.zones.index(zone)
        except ValueError:
            raise KeyError(f"zone {zone} has no intensity data") from None

    def step_of(self, instants_s: FloatArray) -> IntArray:
        """Index of the step holding each instant (may be outside ``[0, n_steps)``)."""
        result: IntArray = np.floor_divide(
            np.asarray(instants_s, dtype=np.float64) - self.origin_s, self.step_s
        ).astype(np.int64)
        return result


class IntensityGrid:
    """True intensity of several zones cut to the span all of them cover, on one step.

    Zones keep the order given; the span is the intersection of the series, so a zone with a
    longer history does not let a job run where another zone has no data. Series on different
    steps, or whose grids are offset by a fraction of a step, are refused (``ValueError``): a
    resample would invent data.
    """

    def __init__(self, series_by_zone: Mapping[Zone, IntensitySeries]) -> None:
        if not series_by_zone:
            raise ValueError("no intensity series given")
        series = list(series_by_zone.values())
        steps = {s.step_s for s in series}
        if len(steps) != 1:
            raise ValueError(f"zones are on different time steps {sorted(steps)} s; resample first")
        step_s = steps.pop()
        origin_s = max(s.start_s for s in series)
        end_s = min(s.start_s + step_s * len(s) for s in series)
        if any((s.start_s - origin_s) % step_s for s in series):
            raise ValueError("zones' time grids are offset by a fraction of a step")
        if end_s <= origin_s:
            raise ValueError("the zones' intensity data do not overlap in time")
        n_steps = (end_s - origin_s) // step_s
        rows = []
        for s in series:
            first = (origin_s - s.start_s) // step_s
            rows.append(s.values_g_per_kwh[first : first + n_steps])
        self.values_g_per_kwh: FloatArray = np.vstack(rows)
        self.values_g_per_kwh.setflags(write=False)
        self.grid = StepGrid(tuple(series_by_zone), origin_s, step_s, n_steps)
        self._integrals = [
            IntensityIntegral(
                IntensitySeries(
                    zone=zone,
                    start=from_epoch_s(origin_s),
                    step=series_by_zone[zone].step,
                    values_g_per_kwh=self.values_g_per_kwh[i],
                    signal=series_by_zone[zone].signal,
                )
            )
            for i, zone in enumerate(series_by_zone)
        ]

    def integral(self, zone_index: int, start_s: FloatArray, end_s: FloatArray) -> FloatArray:
        """Exact integral of intensity over ``[start, end)`` in g·h/kWh (x kW = grams)."""
        return self._integrals[zone_index].between_epoch_s(start_s, end_s)

    def cumulative_at(self, zone_index: int, instants_s: FloatArray) -> FloatArray:
        """Integral from the grid origin to each instant, g·h/kWh."""
        offsets = np.asarray(instants_s, dtype=np.float64) - self.grid.origin_s
        return self._integrals[zone_index].at_offsets(offsets)

    def integral_by_zone(
        self, zone_index: IntArray, start_s: FloatArray, end_s: FloatArray
    ) -> FloatArray:
        """Like ``integral`` with one zone per element (one vectorised pass per zone)."""
        result = np.zeros(np.shape(start_s), dtype=np.float64)
        for z in np.unique(zone_index):
            mask = zone_index == z
            result[mask] = self.integral(int(z), start_s[mask], end_s[mask])
        return result
