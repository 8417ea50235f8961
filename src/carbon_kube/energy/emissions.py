"""Exact emissions over a run: grams = power x integral of intensity over [start, end).

The integral of a piecewise-constant series is precomputed as a cumulative sum, so a run that
starts or ends mid-interval costs two lookups, and millions of runs are one vectorised call.
"""

from __future__ import annotations

from datetime import datetime

import numpy as np

from carbon_kube.domain.arrays import FloatArray
from carbon_kube.domain.intensity import IntensitySeries, to_epoch_s

_SECONDS_PER_HOUR = 3600.0


class IntensityIntegral:
    """``F(t) = integral of intensity from series.start to t`` in g·h/kWh.

    Between two instants, ``F(end) - F(start)`` times power in kW is grams of CO2eq. Instants
    outside the series are an error: emissions are never extrapolated.
    """

    def __init__(self, series: IntensitySeries) -> None:
        self.series = series
        self._values = series.values_g_per_kwh
        self._step_s = float(series.step_s)
        self._start_s = float(series.start_s)
        self._span_s = self._step_s * len(series)
        step_h = self._step_s / _SECONDS_PER_HOUR
        self._cumulative = np.concatenate(([0.0], np.cumsum(self._values * step_h)))

    def at_offsets(self, offsets_s: FloatArray) -> FloatArray:
        """``F`` at offsets in seconds from ``series.start`` (vectorised)."""
        offsets = np.asarray(offsets_s, dtype=np.float64)
        if offsets.size and (offsets.min() < 0 or offsets.max() > self._span_s):
            raise KeyError(
                f"{self.series.zone}: a run lies outside the intensity data "
                f"[{self.series.start.isoformat()}, {self.series.end.isoformat()})"
            )
        index = np.minimum((offsets // self._step_s).astype(np.int64), len(self._values) - 1)
        within_h = (offsets - index * self._step_s) / _SECONDS_PER_HOUR
        result: FloatArray = self._cumulative[index] + within_h * self._values[index]
        return result

    def between_epoch_s(self, start_s: FloatArray, end_s: FloatArray) -> FloatArray:
        """``F(end) - F(start)`` for arrays of epoch seconds, in g·h/kWh."""
        starts = np.asarray(start_s, dtype=np.float64) - self._start_s
        ends = np.asarray(end_s, dtype=np.float64) - self._start_s
        result: FloatArray = self.at_offsets(ends) - self.at_offsets(starts)
        return result

    def between(self, start: datetime, end: datetime) -> float:
        """The integral over ``[start, end)`` in g·h/kWh."""
        if end < start:
            raise ValueError("end must not be before start")
        return float(
            self.between_epoch_s(
                np.array([to_epoch_s(start)], dtype=np.float64),
                np.array([to_epoch_s(end)], dtype=np.float64),
            )[0]
        )


def emissions_g(series: IntensitySeries, start: datetime, end: datetime, power_w: float) -> float:
    """Grams of CO2eq emitted drawing ``power_w`` from ``series``' grid over ``[start, end)``."""
    return power_w / 1000.0 * IntensityIntegral(series).between(start, end)
