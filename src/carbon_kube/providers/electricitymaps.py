"""Electricity Maps API v3: latest, history and forecast of average (location-based) intensity.

Requests (``auth-token`` header, ``zone`` and ``emissionFactorType`` query parameters):

* ``GET /carbon-intensity/latest`` -> ``{"zone", "carbonIntensity", "datetime", "updatedAt",
  "emissionFactorType", "isEstimated", "estimationMethod"}``
* ``GET /carbon-intensity/history`` -> ``{"zone", "history": [<same objects>]}``, the last 24 h
* ``GET /carbon-intensity/past-range?start&end`` -> ``{"zone", "data": [...]}``, at most 10 days
  of hourly data per request, so longer ranges are fetched in pieces
* ``GET /carbon-intensity/forecast`` -> ``{"zone", "forecast": [{"carbonIntensity",
  "datetime"}], "updatedAt"}``

``carbonIntensity`` may be ``null`` where the source has no value: such hours are left out, and a
hole inside the series is an error rather than a guess. The token is passed in; reading it from
``ELECTRICITYMAPS_API_TOKEN`` is the CLI's job.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

import httpx

from carbon_kube.domain.clock import Clock, require_utc
from carbon_kube.domain.errors import ProviderPermanentError
from carbon_kube.domain.instants import format_rfc3339
from carbon_kube.domain.intensity import IntensitySeries
from carbon_kube.domain.zones import Zone
from carbon_kube.providers.base import IntensityReading
from carbon_kube.providers.http import JsonHttp, RetryPolicy, Sleep, sleep_for
from carbon_kube.providers.points import (
    Point,
    chunked,
    clip,
    parse_instant,
    parse_value,
    require_field,
    require_list,
    series_from_points,
)

NAME = "electricitymaps"
TOKEN_ENV_VAR = "ELECTRICITYMAPS_API_TOKEN"  # noqa: S105 (the variable's name, not a secret)
_STEP = timedelta(hours=1)
_RECENT_WINDOW = timedelta(hours=24)
_PAST_RANGE_MAX = timedelta(days=10)


@dataclass(frozen=True, slots=True)
class ElectricityMapsSettings:
    """Where and how to ask; ``zones`` is the subset this deployment cares about (may be empty)."""

    api_token: str
    base_url: str = "https://api.electricitymap.org/v3"
    emission_factor: Literal["lifecycle", "direct"] = "lifecycle"
    zones: tuple[Zone, ...] = ()


class ElectricityMapsProvider:
    """``IntensityProvider`` over the Electricity Maps v3 API (hourly, average intensity)."""

    def __init__(
        self,
        settings: ElectricityMapsSettings,
        *,
        http: httpx.Client,
        clock: Clock,
        retry: RetryPolicy | None = None,
        sleep: Sleep = sleep_for,
    ) -> None:
        self._settings = settings
        self._clock = clock
        self._http = JsonHttp(
            http,
            NAME,
            clock=clock,
            credential_hint=f"{TOKEN_ENV_VAR} to a valid Electricity Maps API token",
            policy=retry,
            sleep=sleep,
        )

    @property
    def name(self) -> str:
        return NAME

    def zones(self) -> list[Zone]:
        return list(self._settings.zones)

    def latest(self, zone: Zone) -> IntensityReading:
        body = self._get("latest", zone)
        where = f"{NAME} latest for {zone}"
        at = parse_instant(NAME, require_field(NAME, body, "datetime", where), where)
        value = parse_value(NAME, require_field(NAME, body, "carbonIntensity", where), where)
        if value is None:
            raise ProviderPermanentError(NAME, f"{zone}: latest carbonIntensity is null (no data)")
        return IntensityReading(zone=zone, at=at, intensity_g_per_kwh=value, provider=NAME)

    def history(self, zone: Zone, start: datetime, end: datetime) -> IntensitySeries:
        """Hourly values over ``[start, end)``; shorter at the end while the newest are unpublished.

        The last 24 h come from ``/history`` (one request); older ranges from ``/past-range``
        in pieces of at most 10 days.
        """
        start, end = require_utc(start, "history start"), require_utc(end, "history end")
        if end <= start:
            raise ValueError("history(): end must be after start")
        points: list[Point] = []
        if start >= self._clock.now() - _RECENT_WINDOW:
            body = self._get("history", zone)
            points = self._points(body, "history", zone)
        else:
            for piece_start, piece_end in chunked(start, end, _PAST_RANGE_MAX):
                body = self._get(
                    "past-range",
                    zone,
                    {"start": format_rfc3339(piece_start), "end": format_rfc3339(piece_end)},
                )
                points.extend(self._points(body, "data", zone))
        return series_from_points(NAME, zone, clip(points, start, end), what="history", step=_STEP)

    def forecast(self, zone: Zone, horizon: timedelta) -> IntensitySeries:
        """The published forecast from the hour holding *now* up to ``now + horizon``."""
        now = self._clock.now()
        body = self._get("forecast", zone)
        points = [
            (t, v)
            for t, v in self._points(body, "forecast", zone)
            if t + _STEP > now and t < now + horizon
        ]
        return series_from_points(NAME, zone, points, what="forecast", step=_STEP)

    def _get(self, endpoint: str, zone: Zone, extra: dict[str, str] | None = None) -> Any:
        params = {"zone": str(zone), "emissionFactorType": self._settings.emission_factor}
        params.update(extra or {})
        body = self._http.get(
            f"{self._settings.base_url.rstrip('/')}/carbon-intensity/{endpoint}",
            params=params,
            headers={"auth-token": self._settings.api_token},
        )
        if not isinstance(body, dict):
            raise ProviderPermanentError(
                NAME, f"{endpoint} for {zone}: expected a JSON object, got {type(body).__name__}"
            )
        answered = body.get("zone")
        if answered is not None and answered != str(zone):
            # A proxy or cache mixing up zones: another grid's numbers are garbage here.
            raise ProviderPermanentError(
                NAME, f"{endpoint} for {zone}: the answer is for zone {answered!r}"
            )
        return body

    def _points(self, body: Any, key: str, zone: Zone) -> list[Point]:
        where = f"{NAME} {key} for {zone}"
        points: list[Point] = []
        for index, item in enumerate(require_list(NAME, body, key, where)):
            item_where = f"{where}, item {index}"
            at = parse_instant(NAME, require_field(NAME, item, "datetime", item_where), item_where)
            value = parse_value(
                NAME, require_field(NAME, item, "carbonIntensity", item_where), item_where
            )
            # No value published for this hour: leave it out; a hole then fails loudly.
            if value is not None:
                points.append((at, value))
        return points
