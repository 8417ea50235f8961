"""The poller's weather: each zone's observed weather, refreshed per model fit, kept for a day.

The learned model was measured with weather *known at the origin* (observed up to then, never a
forecast of the target hours, which would need archived weather forecasts to train on), and
that lowered its day-ahead MAPE in the backtests (docs/signal.md, ``bench/weather_value.py``).
The poller gives it the same kind of weather: the zone's, from the start of its training
history to now, fetched when a fit wants it and at most every ``refresh``. When the weather API
fails the last copy serves for up to ``max_age`` if it covers the history asked for; the poller
still uses it only while it reaches the history's end (``WeatherSeries.reaches``), so in
practice a lagging copy means training without weather, with a note saying why. A zone without
a known weather point trains without weather too. Failures are counted like the carbon
providers'.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

from carbon_kube.domain.durations import describe_duration
from carbon_kube.domain.errors import InputError, ProviderError
from carbon_kube.domain.weather import WeatherSeries
from carbon_kube.domain.zones import Zone
from carbon_kube.providers.construction import count_provider_failure
from carbon_kube.providers.weather_points import WeatherPoint, weather_point

__all__ = ["MAX_AGE", "REFRESH", "ObservedWeatherSource", "RecentWeather"]

_log = logging.getLogger(__name__)
# The learned model refits every six hours; fresher weather than that is never read.
REFRESH = timedelta(hours=6)
MAX_AGE = timedelta(hours=24)


class ObservedWeatherSource(Protocol):
    """A weather API that can say what the weather was (``OpenMeteoWeatherProvider``)."""

    name: str

    def observed(self, point: WeatherPoint, start: datetime, end: datetime) -> WeatherSeries: ...


@dataclass
class _Kept:
    weather: WeatherSeries
    fetched_at: datetime
    start: datetime


@dataclass
class RecentWeather:
    """Each zone's observed weather for the poller's fits (see the module docstring)."""

    source: ObservedWeatherSource
    refresh: timedelta = REFRESH
    max_age: timedelta = MAX_AGE
    _kept: dict[Zone, _Kept] = field(default_factory=dict, repr=False)
    _told: set[Zone] = field(default_factory=set, repr=False)

    def for_zone(
        self, zone: Zone, start: datetime, now: datetime
    ) -> tuple[WeatherSeries | None, str | None]:
        """Weather of ``zone`` from ``start`` to ``now``, and a note when it is missing or old."""
        try:
            point = weather_point(zone)
        except InputError as error:
            if zone not in self._told:
                self._told.add(zone)
                _log.warning("%s: training without weather: %s", zone, error.message)
            return None, f"weather: none for {zone} (no weather point is known for it)"
        kept = self._kept.get(zone)
        if kept is not None and now - kept.fetched_at < self.refresh and kept.start <= start:
            return kept.weather, None
        try:
            weather = self.source.observed(point, start, now)
        except ProviderError as error:
            count_provider_failure(self.source.name, "weather", error)
            _log.warning("%s: weather from %s failed: %s", zone, self.source.name, error)
            if kept is not None and now - kept.fetched_at < self.max_age and kept.start <= start:
                age = describe_duration(now - kept.fetched_at)
                return (
                    kept.weather,
                    f"weather: {self.source.name} failed ({error}); using the copy from {age} ago",
                )
            return None, f"weather: {self.source.name} failed ({error}); trained without weather"
        self._kept[zone] = _Kept(weather, now, start)
        return weather, None
