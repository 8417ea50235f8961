"""Carbon-intensity time series on a fixed step.

The value at ``t`` holds on ``[t, t + step)`` (piecewise constant), which is how providers
publish hourly or half-hourly averages and what makes the emissions integral exact. Values are
average (location-based) intensity unless ``signal`` says ``marginal``; the two are never mixed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum

import numpy as np

from carbon_kube.domain.arrays import FloatArray
from carbon_kube.domain.clock import require_utc
from carbon_kube.domain.zones import Zone

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class SignalKind(StrEnum):
    """Average intensity of the grid mix, or marginal (WattTime MOER): never compared silently."""

    AVERAGE = "average"
    MARGINAL = "marginal"


def to_epoch_s(instant: datetime) -> int:
    """Whole seconds since 1970-01-01 UTC; sub-second parts are not meaningful here."""
    return int((require_utc(instant, "timestamp") - _EPOCH) // timedelta(seconds=1))


def from_epoch_s(seconds: float) -> datetime:
    """The UTC instant ``seconds`` after the epoch."""
    return _EPOCH + timedelta(seconds=float(seconds))


@dataclass(frozen=True)
class IntensitySeries:
    """Intensity in gCO2eq/kWh for one zone, starting at ``start``, one value per ``step``.

    Construction validates what every consumer relies on: a tz-aware UTC start, a positive step
    of whole seconds, and finite, non-negative values. Gaps are not representable: a reader
    that meets one must fail or fill explicitly before building a series.
    """

    zone: Zone
    start: datetime
    step: timedelta
    values_g_per_kwh: FloatArray
    signal: SignalKind = SignalKind.AVERAGE
    stale: bool = field(default=False, compare=False)
    # The provider that answered (stamped by the fallback chain, ``providers.fallback``), so a
    # plan can name the data it used; empty where nobody stamped it.
    source: str = field(default="", compare=False)
    # For a forecast: the model that made it where that is not the source itself (the
    # cluster's published signal names the model its poller ran); empty otherwise.
    model: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "start", require_utc(self.start, f"series {self.zone}"))
        if self.step <= timedelta(0) or self.step % timedelta(seconds=1):
            raise ValueError(f"series {self.zone}: step must be a positive whole number of seconds")
        values = np.asarray(self.values_g_per_kwh, dtype=np.float64)
        if values.ndim != 1 or values.size == 0:
            raise ValueError(f"series {self.zone}: expected a non-empty 1-D array of values")
        if not np.all(np.isfinite(values)) or np.any(values < 0):
            raise ValueError(f"series {self.zone}: values must be finite and >= 0 g/kWh")
        values.setflags(write=False)
        object.__setattr__(self, "values_g_per_kwh", values)

    def __len__(self) -> int:
        return int(self.values_g_per_kwh.size)

    @property
    def end(self) -> datetime:
        """The instant the last value stops holding (exclusive)."""
        return self.start + self.step * len(self)

    @property
    def step_s(self) -> int:
        return int(self.step.total_seconds())

    @property
    def start_s(self) -> int:
        return to_epoch_s(self.start)

    def timestamps(self) -> list[datetime]:
        """The start instant of every value."""
        return [self.start + self.step * i for i in range(len(self))]

    def covers(self, start: datetime, end: datetime) -> bool:
        """True when every instant of ``[start, end)`` has a value."""
        return self.start <= start and end <= self.end

    def index_at(self, instant: datetime) -> int:
        """The index of the value that holds at ``instant``; outside the series is an error."""
        if not self.start <= instant < self.end:
            raise KeyError(
                f"{instant.isoformat()} is outside {self.zone}'s data "
                f"[{self.start.isoformat()}, {self.end.isoformat()})"
            )
        return int((instant - self.start) // self.step)

    def value_at(self, instant: datetime) -> float:
        """Intensity in g/kWh holding at ``instant``."""
        return float(self.values_g_per_kwh[self.index_at(instant)])

    def between(self, start: datetime, end: datetime) -> IntensitySeries:
        """The values whose intervals overlap ``[start, end)``, as a new series."""
        if end <= start:
            raise ValueError("between(): end must be after start")
        first = max(0, int((start - self.start) // self.step))
        last = min(len(self), -int(-(end - self.start) // self.step))
        if first >= last:
            raise KeyError(f"{self.zone}: no data in [{start.isoformat()}, {end.isoformat()})")
        return IntensitySeries(
            zone=self.zone,
            start=self.start + self.step * first,
            step=self.step,
            values_g_per_kwh=self.values_g_per_kwh[first:last].copy(),
            signal=self.signal,
            stale=self.stale,
            source=self.source,
            model=self.model,
        )

    def mean_g_per_kwh(self) -> float:
        return float(self.values_g_per_kwh.mean())
