"""Open-Meteo's forecast and archive APIs on loopback, serving the hourly weather a test gives.

A real HTTP server (run by ``tests.provider_server.serving``) that the real
``OpenMeteoWeatherProvider`` reaches over TCP. ``GET /v1/forecast`` and ``GET /v1/archive`` take
``latitude``, ``longitude``, ``hourly`` (comma-separated variables), ``timezone=GMT`` and
``start_date``/``end_date`` (ISO days, inclusive) and answer the documented JSON: ``hourly.time``
as ``YYYY-MM-DDTHH:MM`` (UTC with ``timezone=GMT``), one array per asked variable, ``null`` where
a value is missing, ``hourly_units``, ``utc_offset_seconds``. Like the real services, the forecast
API serves only the last 92 days and 16 ahead (its future hours are forecasts: here the truth,
which a client must not take for observations), the archive only up to five days before now;
outside those ranges, and for unknown variables, HTTP 400 ``{"error": true, "reason": ...}``.
``fault``: ``down`` (503), ``rate-limited`` (429), ``garbage`` (HTML), ``truncated`` (cut JSON).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

import httpx
import numpy as np

from carbon_kube.domain.clock import Clock
from carbon_kube.domain.weather import WeatherSeries
from carbon_kube.providers.weather_openmeteo import VARIABLES, OpenMeteoWeatherProvider

FAULTS = ("down", "rate-limited", "garbage", "truncated")
FORECAST_PATH, ARCHIVE_PATH = "/v1/forecast", "/v1/archive"
FORECAST_PAST_DAYS, FORECAST_AHEAD_DAYS, ARCHIVE_LAG_DAYS = 92, 16, 5
# Our variable names -> the API's current spelling, and its units.
_API_NAMES = {ours: theirs for theirs, ours in reversed(VARIABLES.items())}
_UNITS = {
    "temperature_2m": "°C",
    "relative_humidity_2m": "%",
    "cloud_cover": "%",
    "wind_speed_10m": "km/h",
    "shortwave_radiation": "W/m²",
}
_HOUR = timedelta(hours=1)


@dataclass
class OpenMeteoServer:
    """State of the loopback API; ``requests`` records (path, start_date, end_date)."""

    now: Callable[[], datetime]
    truth: WeatherSeries
    fault: str | None = None
    requests: list[tuple[str, str, str]] = field(default_factory=list)
    base_url: str = ""
    base_path: str = ""
    content_type: str = "application/json"

    @property
    def forecast_url(self) -> str:
        return self.base_url + FORECAST_PATH

    @property
    def archive_url(self) -> str:
        return self.base_url + ARCHIVE_PATH

    def client(self, clock: Clock) -> OpenMeteoWeatherProvider:
        """The real client pointed here; it retries as in production but without waiting."""
        return OpenMeteoWeatherProvider(
            http=httpx.Client(),
            clock=clock,
            forecast_url=self.forecast_url,
            archive_url=self.archive_url,
            sleep=lambda _: None,
        )

    def answer(
        self, path: str, query: dict[str, str], headers: Mapping[str, str]
    ) -> tuple[int, bytes, dict[str, str]]:
        self.requests.append((path, query.get("start_date", ""), query.get("end_date", "")))
        if self.fault == "down":
            return 503, _error("Service Unavailable"), {}
        if self.fault == "rate-limited":
            return 429, _error("Minutely API request limit exceeded. Please try again."), {}
        if self.fault == "garbage":
            return 200, b"<html><body>maintenance</body></html>", {}
        if path not in (FORECAST_PATH, ARCHIVE_PATH):
            return 404, _error("Not Found"), {}
        try:
            first = date.fromisoformat(query["start_date"])
            last = date.fromisoformat(query["end_date"])
            float(query["latitude"]), float(query["longitude"])
        except (KeyError, ValueError):
            return 400, _error("Parameter 'start_date', 'end_date' or a coordinate is invalid"), {}
        allowed = self._allowed(path)
        if first < allowed[0] or last > allowed[1] or last < first:
            reason = (
                f"Parameter 'start_date' is out of allowed range from {allowed[0]} to {allowed[1]}"
            )
            return 400, _error(reason), {}
        asked = [v for v in query.get("hourly", "").split(",") if v]
        unknown = [v for v in asked if v not in _UNITS and v not in VARIABLES]
        if unknown:
            return (
                400,
                _error(f"Cannot initialize WeatherVariable from invalid String value {unknown[0]}"),
                {},
            )
        body = json.dumps(self._body(query, asked, first, last)).encode()
        if self.fault == "truncated":
            body = body[: len(body) // 2]
        return 200, body, {}

    def _allowed(self, path: str) -> tuple[date, date]:
        today = self.now().date()
        if path == FORECAST_PATH:
            return today - timedelta(days=FORECAST_PAST_DAYS), today + timedelta(
                days=FORECAST_AHEAD_DAYS
            )
        return date(1940, 1, 1), today - timedelta(days=ARCHIVE_LAG_DAYS)

    def _body(self, query: Mapping[str, str], asked: list[str], first: date, last: date) -> dict:
        start = datetime.combine(first, datetime.min.time(), tzinfo=UTC)
        hours = [start + _HOUR * i for i in range(((last - first).days + 1) * 24)]
        epochs = np.array([int(h.timestamp()) for h in hours], dtype=np.int64)
        # Everything the truth holds, whenever it became known: a forecast API serves the future.
        values = self.truth.at_epochs(epochs, np.int64(2**62))
        hourly: dict[str, list] = {"time": [h.strftime("%Y-%m-%dT%H:%M") for h in hours]}
        for ours, series in values.items():
            name = _API_NAMES[ours]
            if name in asked:
                hourly[name] = [None if math.isnan(v) else round(float(v), 2) for v in series]
        return {
            "latitude": round(float(query["latitude"]), 2),
            "longitude": round(float(query["longitude"]), 2),
            "generationtime_ms": 0.5,
            "utc_offset_seconds": 0,
            "timezone": "GMT",
            "timezone_abbreviation": "GMT",
            "elevation": 38.0,
            "hourly_units": {"time": "iso8601", **{n: _UNITS[n] for n in asked if n in _UNITS}},
            "hourly": hourly,
        }


def _error(reason: str) -> bytes:
    return json.dumps({"error": True, "reason": reason}).encode()
