"""The one protocol every carbon-intensity source implements.

``history`` and ``forecast`` return ``IntensitySeries`` in UTC on the source's own step;
``latest`` returns the newest observed value. A source without forecasts raises
``ForecastUnsupportedError`` (a permanent error) so the fallback chain can move on. Implementations
receive their HTTP client and clock from the caller; none reads the environment.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from carbon_kube.domain.errors import ProviderPermanentError
from carbon_kube.domain.intensity import IntensitySeries, SignalKind
from carbon_kube.domain.zones import Zone


@dataclass(frozen=True, slots=True)
class IntensityReading:
    """One observed value: the interval it starts, the zone, and how fresh it is."""

    zone: Zone
    at: datetime
    intensity_g_per_kwh: float
    provider: str
    signal: SignalKind = SignalKind.AVERAGE
    stale: bool = False


class ForecastUnsupportedError(ProviderPermanentError):
    """The source publishes no forecast for this zone."""


class IntensityProvider(Protocol):
    """A source of carbon intensity for grid zones."""

    @property
    def name(self) -> str:
        """Short id used in logs, metrics and the cache (``electricitymaps``, ``embedded``)."""
        ...

    def zones(self) -> list[Zone]:
        """Zones this source can answer for (may be a configured subset for live APIs)."""
        ...

    def history(self, zone: Zone, start: datetime, end: datetime) -> IntensitySeries:
        """Observed intensity over ``[start, end)``."""
        ...

    def latest(self, zone: Zone) -> IntensityReading:
        """The newest observed value."""
        ...

    def forecast(self, zone: Zone, horizon: timedelta) -> IntensitySeries:
        """The source's own forecast for ``horizon`` ahead, or ``ForecastUnsupportedError``."""
        ...
