"""Quantile forecasts of carbon intensity: what forecasting produces and policies consume.

A ``QuantileForecast`` is made at ``origin`` from data that was known by then; its values hold on
``[origin + i * step, origin + (i + 1) * step)`` like an ``IntensitySeries``. It carries p10, p50
and p90; the point forecast is the median. It lives in ``domain`` so that ``policy`` can read
forecasts without importing ``forecasting`` (siblings never import each other).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np

from carbon_kube.domain.arrays import FloatArray
from carbon_kube.domain.clock import require_utc
from carbon_kube.domain.intensity import IntensitySeries
from carbon_kube.domain.zones import Zone

QUANTILES = (0.1, 0.5, 0.9)


@dataclass(frozen=True)
class QuantileForecast:
    """p10/p50/p90 intensity for each step after ``origin``, and how it was made.

    ``notes`` records every fallback the model took (no weather, short history) so that output
    can show it; an empty tuple means the model ran as designed. Quantiles are validated to be
    ordered (p10 <= p50 <= p90), finite and non-negative.
    """

    zone: Zone
    model: str
    origin: datetime
    step: timedelta
    p10_g_per_kwh: FloatArray
    p50_g_per_kwh: FloatArray
    p90_g_per_kwh: FloatArray
    notes: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        object.__setattr__(self, "origin", require_utc(self.origin, f"forecast {self.model}"))
        arrays = []
        for name in ("p10_g_per_kwh", "p50_g_per_kwh", "p90_g_per_kwh"):
            values = np.asarray(getattr(self, name), dtype=np.float64)
            if values.ndim != 1 or values.size == 0:
                raise ValueError(f"forecast {self.model}: {name} must be a non-empty 1-D array")
            if not np.all(np.isfinite(values)) or np.any(values < 0):
                raise ValueError(f"forecast {self.model}: {name} must be finite and >= 0")
            values.setflags(write=False)
            object.__setattr__(self, name, values)
            arrays.append(values)
        if len({a.size for a in arrays}) != 1:
            raise ValueError(f"forecast {self.model}: quantile arrays differ in length")
        if np.any(arrays[0] > arrays[1] + 1e-9) or np.any(arrays[1] > arrays[2] + 1e-9):
            raise ValueError(f"forecast {self.model}: quantiles must satisfy p10 <= p50 <= p90")

    def __len__(self) -> int:
        return int(self.p50_g_per_kwh.size)

    @property
    def horizon(self) -> timedelta:
        """How far ahead the last value reaches (its end)."""
        return self.step * len(self)

    @property
    def point_g_per_kwh(self) -> FloatArray:
        """The point forecast: the median."""
        return self.p50_g_per_kwh

    def quantile_g_per_kwh(self, quantile: float) -> FloatArray:
        """One of the carried quantiles (0.1, 0.5 or 0.9); others are not invented."""
        by_quantile = {0.1: self.p10_g_per_kwh, 0.5: self.p50_g_per_kwh, 0.9: self.p90_g_per_kwh}
        if quantile not in by_quantile:
            raise ValueError(f"quantile {quantile} not carried; choose one of {QUANTILES}")
        return by_quantile[quantile]

    def target_times(self) -> list[datetime]:
        """The start instant of every forecast value."""
        return [self.origin + self.step * i for i in range(len(self))]

    def as_series(self, quantile: float = 0.5) -> IntensitySeries:
        """The chosen quantile as an ``IntensitySeries`` starting at ``origin``.

        Policies that plan on a series (e.g. a risk-averse p90) use this.
        """
        return IntensitySeries(
            zone=self.zone,
            start=self.origin,
            step=self.step,
            values_g_per_kwh=np.array(self.quantile_g_per_kwh(quantile), dtype=np.float64),
        )
