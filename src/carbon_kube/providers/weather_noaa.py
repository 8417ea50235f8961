"""NOAA api.weather.gov gridpoint forecasts (United States only, no key).

Two requests: ``/points/{lat},{lon}`` names the forecast office's grid cell
(``properties.forecastGridData``), whose raw gridpoint forecast lists each variable as intervals
``{"validTime": "2024-06-01T12:00:00+00:00/PT2H", "value": 21.1}``. Intervals are spread onto a
UTC hourly grid (each hour inside an interval takes its value); hours no interval covers stay NaN.
The forecast is stamped known from its ``updateTime``.

api.weather.gov requires a User-Agent naming the application and a contact; it is injected with
the client. A point outside the US answers 404, reported as a permanent error that says so.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

import httpx
import numpy as np

from carbon_kube.domain.clock import Clock, require_utc
from carbon_kube.domain.errors import ProviderPermanentError, ProviderTemporaryError
from carbon_kube.domain.instants import floor_to_hour
from carbon_kube.domain.weather import WeatherSeries
from carbon_kube.providers.weather_points import WeatherPoint

NAME = "noaa"
BASE_URL = "https://api.weather.gov"
# gridpoint layer -> our name; unit conversions by the layer's ``uom``.
LAYERS = {
    "temperature": "temperature_c",
    "relativeHumidity": "relative_humidity_pct",
    "skyCover": "cloud_cover_pct",
    "windSpeed": "wind_speed_km_per_h",
}
_DURATION = re.compile(r"^P(?:(?P<days>\d+)D)?(?:T(?:(?P<hours>\d+)H)?(?:(?P<minutes>\d+)M)?)?$")
_HOUR = timedelta(hours=1)


class NoaaWeatherProvider:
    """Hourly weather forecasts for a US point from the National Weather Service."""

    name = NAME

    def __init__(self, *, http: httpx.Client, clock: Clock, base_url: str = BASE_URL) -> None:
        self._http = http
        self._clock = clock
        self._base_url = base_url.rstrip("/")

    def forecast(self, point: WeatherPoint) -> WeatherSeries:
        """The office's gridpoint forecast (about 7 days) at ``point``, hourly in UTC."""
        where = f"{point.latitude_deg:.4f},{point.longitude_deg:.4f}"
        meta = self._get(f"{self._base_url}/points/{where}", point)
        grid_url = _dig(meta, "properties", "forecastGridData")
        if not isinstance(grid_url, str):
            raise ProviderPermanentError(self.name, "points answer has no forecastGridData URL")
        grid = self._get(grid_url, point)
        properties = _dig(grid, "properties")
        if not isinstance(properties, dict):
            raise ProviderPermanentError(self.name, "gridpoint answer has no properties")
        issued_text = properties.get("updateTime")
        issued_at = _parse_instant(issued_text) if isinstance(issued_text, str) else None
        start, variables = parse_gridpoint_layers(properties)
        return WeatherSeries.issued(
            point.label,
            f"{self.name} gridpoint forecast",
            start,
            _HOUR,
            variables,
            issued_at or self._clock.now(),
        )

    def _get(self, url: str, point: WeatherPoint) -> dict[str, Any]:
        try:
            response = self._http.get(url, headers={"Accept": "application/geo+json"})
        except httpx.TimeoutException as error:
            raise ProviderTemporaryError(self.name, f"timed out: {error}") from error
        except httpx.TransportError as error:
            raise ProviderTemporaryError(self.name, f"network error: {error}") from error
        if response.status_code == 404:
            raise ProviderPermanentError(
                self.name,
                f"no NWS grid for {point.label} ({point.latitude_deg}, {point.longitude_deg}); "
                "api.weather.gov covers the United States only, use open-meteo elsewhere",
            )
        if response.status_code == 429 or response.status_code >= 500:
            raise ProviderTemporaryError(self.name, f"HTTP {response.status_code}")
        if response.status_code >= 400:
            raise ProviderPermanentError(self.name, f"HTTP {response.status_code}")
        try:
            body = response.json()
        except ValueError as error:
            raise ProviderPermanentError(self.name, "answer is not JSON") from error
        if not isinstance(body, dict):
            raise ProviderPermanentError(self.name, "answer is not a JSON object")
        return body


def parse_gridpoint_layers(properties: dict[str, Any]) -> tuple[datetime, dict[str, np.ndarray]]:
    """Spread the gridpoint layers' intervals onto one UTC hourly grid."""
    intervals: dict[str, list[tuple[datetime, datetime, float | None]]] = {}
    for layer, name in LAYERS.items():
        block = properties.get(layer)
        if not isinstance(block, dict) or not isinstance(block.get("values"), list):
            continue
        convert = _converter(str(block.get("uom", "")), layer)
        rows = []
        for item in block["values"]:
            start, end = _parse_valid_time(str(item.get("validTime", "")))
            value = item.get("value")
            rows.append((start, end, None if value is None else convert(float(value))))
        intervals[name] = rows
    if not any(intervals.values()):
        raise ProviderPermanentError(NAME, f"gridpoint answer has none of {', '.join(LAYERS)}")
    first = min(r[0] for rows in intervals.values() for r in rows)
    last = max(r[1] for rows in intervals.values() for r in rows)
    first = floor_to_hour(first)
    n_hours = int(-(-(last - first) // _HOUR))
    variables: dict[str, np.ndarray] = {}
    for name, rows in intervals.items():
        values = np.full(n_hours, np.nan)
        for start, end, value in rows:
            lo = int((start - first) // _HOUR)
            hi = int(-(-(end - first) // _HOUR))
            values[lo:hi] = np.nan if value is None else value
        variables[name] = values
    return first, variables


def _converter(uom: str, layer: str) -> Any:
    unit = uom.split(":")[-1]
    if unit in ("degC", "percent", "km_h-1"):
        return lambda v: v
    if unit == "degF":
        return lambda v: (v - 32.0) * 5.0 / 9.0
    if unit == "m_s-1":
        return lambda v: v * 3.6
    raise ProviderPermanentError(NAME, f"layer {layer}: unexpected unit {uom!r}")


def _parse_valid_time(text: str) -> tuple[datetime, datetime]:
    """``2024-06-01T12:00:00+00:00/PT2H`` -> (start, end) in UTC."""
    instant, _, duration = text.partition("/")
    start = _parse_instant(instant)
    match = _DURATION.match(duration)
    if start is None or match is None:
        raise ProviderPermanentError(NAME, f"unreadable validTime {text!r}")
    length = timedelta(
        days=int(match.group("days") or 0),
        hours=int(match.group("hours") or 0),
        minutes=int(match.group("minutes") or 0),
    )
    if length <= timedelta(0):
        raise ProviderPermanentError(NAME, f"empty validTime {text!r}")
    return start, start + length


def _parse_instant(text: str) -> datetime | None:
    try:
        instant = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if instant.tzinfo is None:
        return None
    return require_utc(instant, "NOAA time")


def _dig(body: dict[str, Any], *keys: str) -> Any:
    node: Any = body
    for key in keys:
        if not isinstance(node, dict):
            return None
        node = node.get(key)
    return node
