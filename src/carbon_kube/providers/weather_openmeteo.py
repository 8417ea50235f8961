"""Open-Meteo weather: live forecasts and historical reanalysis over HTTP, and the offline files.

HTTP goes through ``providers.http.JsonHttp`` on an injected ``httpx.Client`` (retries, typed
errors, as for the carbon providers); the clock that stamps a forecast's issue time is injected
too. Both APIs are asked for UTC (``timezone=GMT``), so their times need no conversion.

The offline files (``../shared/data/openmeteo-weather-hourly/<DIR>/<YEAR>.json.gz``) label hours
in local time with *one fixed* ``utc_offset_seconds`` per file (no DST jumps: the series has
hours that do not exist locally); subtracting that offset gives UTC. Years whose files were made
with different offsets leave a one-hour gap or overlap at the year boundary: overlaps keep the
first value, gaps stay NaN.

Reanalysis is *observed* weather: a model may use it only up to the forecast origin. Using it at
the target hours ("perfect weather forecast") is an upper bound, available only on request
(``as_perfect_forecast``) and labelled so in the series' source.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd

from carbon_kube.domain.clock import Clock
from carbon_kube.domain.errors import InputError, ProviderPermanentError
from carbon_kube.domain.weather import WeatherSeries
from carbon_kube.domain.zones import Zone
from carbon_kube.providers.http import JsonHttp, RetryPolicy, Sleep, sleep_for
from carbon_kube.providers.weather_points import WeatherPoint
from carbon_kube.storage.reading import read_user_text

NAME = "open-meteo"
FORECAST_URL = "https://api.open-meteo.com/v1/forecast"
ARCHIVE_URL = "https://archive-api.open-meteo.com/v1/archive"
# Open-Meteo variable -> our name with its unit (old and new API spellings).
VARIABLES = {
    "temperature_2m": "temperature_c",
    "relative_humidity_2m": "relative_humidity_pct",
    "cloud_cover": "cloud_cover_pct",
    "cloudcover": "cloud_cover_pct",
    "wind_speed_10m": "wind_speed_km_per_h",
    "windspeed_10m": "wind_speed_km_per_h",
    "shortwave_radiation": "shortwave_radiation_w_per_m2",
}
_REQUESTED = "temperature_2m,relative_humidity_2m,cloud_cover,wind_speed_10m,shortwave_radiation"
# Offline folder names differ from zone ids for three zones (see the folder's SOURCE.md).
OFFLINE_FOLDERS = {"DE": "DE-LU", "BR-CS": "BR-SP", "CL-SEN": "CL-SIC"}
_HOUR = timedelta(hours=1)
# The archive (ERA5 reanalysis) lags real time by about five days; the forecast API serves the
# recent past (up to 92 days) from its own analyses. ``observed`` asks each for its part.
ARCHIVE_LAG_DAYS = 6
_PERFECT_LEAD = timedelta(days=36500)


class OpenMeteoWeatherProvider:
    """Hourly weather at a point from Open-Meteo (no key needed)."""

    name = NAME

    def __init__(
        self,
        *,
        http: httpx.Client,
        clock: Clock,
        forecast_url: str = FORECAST_URL,
        archive_url: str = ARCHIVE_URL,
        policy: RetryPolicy | None = None,
        sleep: Sleep = sleep_for,
    ) -> None:
        self._json = JsonHttp(
            http, NAME, clock=clock, policy=policy, sleep=sleep, error_detail=_reason
        )
        self._clock = clock
        self._forecast_url = forecast_url
        self._archive_url = archive_url

    def forecast(self, point: WeatherPoint, days: int = 3) -> WeatherSeries:
        """The next ``days`` days (1-16) of hourly forecasts, stamped issued now."""
        if not 1 <= days <= 16:
            raise InputError("Open-Meteo forecasts 1 to 16 days ahead", field="days")
        issued_at = self._clock.now()
        body = self._get(self._forecast_url, point, {"forecast_days": str(days)})
        start, variables = parse_hourly(body, self.name)
        return WeatherSeries.issued(
            point.label, f"{self.name} forecast", start, _HOUR, variables, issued_at
        )

    def history(self, point: WeatherPoint, first_day: date, last_day: date) -> WeatherSeries:
        """Hourly reanalysis for whole UTC days ``first_day..last_day`` (observed weather)."""
        if last_day < first_day:
            raise InputError("the last day is before the first day", field="end")
        params = {"start_date": first_day.isoformat(), "end_date": last_day.isoformat()}
        body = self._get(self._archive_url, point, params)
        start, variables = parse_hourly(body, self.name)
        return WeatherSeries.observed(point.label, f"{self.name} archive", start, _HOUR, variables)

    def observed(self, point: WeatherPoint, start: datetime, end: datetime) -> WeatherSeries:
        """Hourly weather that had happened by ``end``, from ``start``: what a model may train on.

        Days older than ``ARCHIVE_LAG_DAYS`` before ``end`` come from the archive, the rest from
        the forecast API's past hours (``start_date``/``end_date``; its future hours are cut at
        ``end``, so a forecast never passes as observed). Two requests, one when the range lies
        within the recent days. Each value is known once its hour has ended.
        """
        if end <= start:
            raise InputError("the end is not after the start", field="end")
        first_day, last_day = start.date(), end.date()
        recent_day = max(first_day, last_day - timedelta(days=ARCHIVE_LAG_DAYS))
        frames = []
        if first_day < recent_day:
            old = {
                "start_date": first_day.isoformat(),
                "end_date": (recent_day - timedelta(days=1)).isoformat(),
            }
            frames.append(_frame(self._get(self._archive_url, point, old), self.name))
        recent = {"start_date": recent_day.isoformat(), "end_date": last_day.isoformat()}
        frames.append(_frame(self._get(self._forecast_url, point, recent), self.name))
        frame = pd.concat(frames).sort_index()
        frame = frame[~frame.index.duplicated(keep="last")]
        frame = frame[frame.index <= pd.Timestamp(end - _HOUR)]
        if frame.empty:
            raise ProviderPermanentError(self.name, f"no weather hours before {end.isoformat()}")
        frame = frame.reindex(pd.date_range(frame.index[0], frame.index[-1], freq="h"))
        variables = {str(c): frame[c].to_numpy(dtype=np.float64) for c in frame.columns}
        first = frame.index[0].to_pydatetime()
        return WeatherSeries.observed(point.label, f"{self.name} observed", first, _HOUR, variables)

    def _get(self, url: str, point: WeatherPoint, extra: Mapping[str, str]) -> dict[str, Any]:
        params = {
            "latitude": f"{point.latitude_deg:.4f}",
            "longitude": f"{point.longitude_deg:.4f}",
            "hourly": _REQUESTED,
            "timezone": "GMT",
            **extra,
        }
        body = self._json.get(url, params=params)
        if not isinstance(body, dict):
            raise ProviderPermanentError(self.name, "answer is not a JSON object")
        return body


def _reason(body: bytes) -> str | None:
    """Open-Meteo's own words for a refused request (``{"error": true, "reason": ...}``)."""
    try:
        answer = json.loads(body)
    except ValueError:
        return None
    reason = answer.get("reason") if isinstance(answer, dict) else None
    return str(reason) if reason is not None else None


def parse_hourly(
    body: Mapping[str, Any], provider: str, utc_offset_s: int | None = None
) -> tuple[datetime, dict[str, np.ndarray]]:
    """Start (UTC) and our-named variables of an Open-Meteo ``hourly`` block.

    ``utc_offset_s`` defaults to the body's own ``utc_offset_seconds`` (0 for ``timezone=GMT``).
    Nulls become NaN; a block without times or with uneven arrays is a permanent error.
    """
    hourly = body.get("hourly")
    if not isinstance(hourly, dict) or not isinstance(hourly.get("time"), list):
        raise ProviderPermanentError(provider, "answer has no 'hourly.time' array")
    times = hourly["time"]
    if not times:
        raise ProviderPermanentError(provider, "answer has no hours")
    offset = int(body.get("utc_offset_seconds", 0) if utc_offset_s is None else utc_offset_s)
    try:
        first = datetime.fromisoformat(str(times[0])).replace(tzinfo=UTC)
    except ValueError as error:
        raise ProviderPermanentError(provider, f"bad time {times[0]!r}") from error
    variables: dict[str, np.ndarray] = {}
    for key, name in VARIABLES.items():
        if key in hourly:
            column = hourly[key]
            if not isinstance(column, list) or len(column) != len(times):
                raise ProviderPermanentError(provider, f"'{key}' differs in length from 'time'")
            variables[name] = np.array(
                [np.nan if v is None else float(v) for v in column], dtype=np.float64
            )
    if not variables:
        raise ProviderPermanentError(provider, f"answer has none of {', '.join(VARIABLES)}")
    return first - timedelta(seconds=offset), variables


def _frame(body: Mapping[str, Any], provider: str) -> pd.DataFrame:
    start, variables = parse_hourly(body, provider)
    index = pd.date_range(start, periods=len(next(iter(variables.values()))), freq="h")
    return pd.DataFrame(variables, index=index)


def read_openmeteo_folder(
    root: Path, zone: Zone, *, as_perfect_forecast: bool = False
) -> WeatherSeries:
    """All years of a zone's offline Open-Meteo files as one UTC hourly series (observed).

    ``root`` is the folder holding one sub-folder per zone (``openmeteo-weather-hourly``) or a
    zone's own sub-folder. With ``as_perfect_forecast`` the values count as known at any origin,
    which leaks future weather on purpose: an upper bound, never a fair score.
    """
    folder = root / OFFLINE_FOLDERS.get(str(zone), str(zone))
    if not folder.is_dir():
        folder = root
    files = sorted(folder.glob("*.json.gz")) + sorted(folder.glob("*.json"))
    if not files:
        raise InputError(f"no Open-Meteo *.json(.gz) files for zone {zone}", source=folder)
    pieces = []
    for path in files:
        try:
            body = json.loads(read_user_text(path))
        except ValueError as error:
            raise InputError(f"cannot read Open-Meteo JSON: {error}", source=path) from None
        try:
            pieces.append(_frame(body, NAME))
        except ProviderPermanentError as error:
            raise InputError(error.message, source=path) from None
    frame = pd.concat(pieces).sort_index()
    frame = frame[~frame.index.duplicated(keep="first")]
    frame = frame.reindex(pd.date_range(frame.index[0], frame.index[-1], freq="h"))
    variables = {str(c): frame[c].to_numpy(dtype=np.float64) for c in frame.columns}
    start = frame.index[0].to_pydatetime()
    if as_perfect_forecast:
        return WeatherSeries.with_lead(
            str(zone),
            f"{NAME} reanalysis as perfect forecast (upper bound)",
            start,
            _HOUR,
            variables,
            _PERFECT_LEAD,
        )
    return WeatherSeries.observed(str(zone), f"{NAME} reanalysis", start, _HOUR, variables)
