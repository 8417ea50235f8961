"""UK Carbon Intensity API (NESO, api.carbonintensity.org.uk): Great Britain, no key, 48 h forecast.

Zones: ``GB`` is the national series; ``GB-R1`` .. ``GB-R17`` are the API's regions (``regionid``
1-14 are DNO areas, 15 England, 16 Scotland, 17 Wales; names in ``UK_REGIONS``).

Requests and answers (half-hourly; ``from`` starts the interval, times like ``2018-01-20T12:00Z``):

* national ``GET /intensity`` and ``GET /intensity/{from}/{to}`` (at most 14 days) and
  ``GET /intensity/{from}/fw48h`` -> ``{"data": [{"from", "to", "intensity": {"forecast",
  "actual", "index"}}]}``; ``actual`` is ``null`` until the half-hour has been estimated;
* regional ``GET /regional/regionid/{id}``, ``GET /regional/intensity/{from}/{to}/regionid/{id}``
  and ``.../{from}/fw48h/regionid/{id}`` -> ``{"data": {"regionid", "dnoregion", "shortname",
  "data": [{"from", "to", "intensity": {"forecast", "index"}, "generationmix"}]}}`` (the current
  value comes as a one-element list instead of an object; both are accepted).

History is the national ``actual`` (half-hours not yet estimated are left off the end); regions
publish no actuals, so regional history is the API's own regional estimate (its ``forecast``
field), which is what the API offers for past regional periods. Values are operational
(combustion-only) CO2 factors, lower than the life-cycle factors Electricity Maps uses.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import httpx

from carbon_kube.domain.clock import Clock, require_utc
from carbon_kube.domain.errors import ProviderPermanentError
from carbon_kube.domain.instants import Precision, format_rfc3339
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

NAME = "ukcarbon"
NATIONAL = Zone("GB")
BASE_URL = "https://api.carbonintensity.org.uk"
_STEP = timedelta(minutes=30)
_MAX_RANGE = timedelta(days=14)
_FORECAST_HORIZON = timedelta(hours=48)

UK_REGIONS: dict[Zone, tuple[int, str]] = {
    Zone(f"GB-R{region_id}"): (region_id, name)
    for region_id, name in enumerate(
        [
            "North Scotland",
            "South Scotland",
            "North West England",
            "North East England",
            "Yorkshire",
            "North Wales & Merseyside",
            "South Wales",
            "West Midlands",
            "East Midlands",
            "East England",
            "South West England",
            "South England",
            "London",
            "South East England",
            "England",
            "Scotland",
            "Wales",
        ],
        start=1,
    )
}


class UkCarbonIntensityProvider:
    """``IntensityProvider`` over the GB Carbon Intensity API (half-hourly, average intensity)."""

    def __init__(
        self,
        *,
        http: httpx.Client,
        clock: Clock,
        base_url: str = BASE_URL,
        retry: RetryPolicy | None = None,
        sleep: Sleep = sleep_for,
    ) -> None:
        self._clock = clock
        self._base = base_url.rstrip("/")
        self._http = JsonHttp(http, NAME, clock=clock, policy=retry, sleep=sleep)

    @property
    def name(self) -> str:
        return NAME

    def zones(self) -> list[Zone]:
        return [NATIONAL, *UK_REGIONS]

    def latest(self, zone: Zone) -> IntensityReading:
        """The current half-hour: its estimated actual when published, else its forecast."""
        region = _region_id(zone)
        if region is None:
            items = self._national_items("/intensity", zone)
        else:
            items = self._regional_items(f"/regional/regionid/{region}", zone)
        if not items:
            raise ProviderPermanentError(
                NAME, f"{zone}: no current intensity returned (empty data)"
            )
        at, actual, forecast = _parse_item(items[-1], f"{NAME} latest for {zone}")
        value = actual if actual is not None else forecast
        if value is None:
            raise ProviderPermanentError(NAME, f"{zone}: current intensity has no value")
        return IntensityReading(zone=zone, at=at, intensity_g_per_kwh=value, provider=NAME)

    def history(self, zone: Zone, start: datetime, end: datetime) -> IntensitySeries:
        """Half-hourly values over ``[start, end)``, fetched in pieces of at most 14 days."""
        start, end = require_utc(start, "history start"), require_utc(end, "history end")
        if end <= start:
            raise ValueError("history(): end must be after start")
        region = _region_id(zone)
        points: list[Point] = []
        for piece_start, piece_end in chunked(start, end, _MAX_RANGE):
            span = f"{format_rfc3339(piece_start, Precision.MINUTES)}/"
            span += format_rfc3339(piece_end, Precision.MINUTES)
            if region is None:
                items = self._national_items(f"/intensity/{span}", zone)
            else:
                items = self._regional_items(f"/regional/intensity/{span}/regionid/{region}", zone)
            points.extend(_history_points(items, zone, regional=region is not None))
        return series_from_points(NAME, zone, clip(points, start, end), what="history", step=_STEP)

    def forecast(self, zone: Zone, horizon: timedelta) -> IntensitySeries:
        """The forecast from the half-hour holding *now*, up to ``min(horizon, 48 h)`` ahead."""
        now = self._clock.now()
        region = _region_id(zone)
        origin = format_rfc3339(now, Precision.MINUTES)
        if region is None:
            items = self._national_items(f"/intensity/{origin}/fw48h", zone)
        else:
            items = self._regional_items(
                f"/regional/intensity/{origin}/fw48h/regionid/{region}", zone
            )
        limit = now + min(horizon, _FORECAST_HORIZON)
        points: list[Point] = []
        for index, item in enumerate(items):
            at, _, forecast = _parse_item(item, f"{NAME} forecast for {zone}, item {index}")
            if forecast is not None and at + _STEP > now and at < limit:
                points.append((at, forecast))
        return series_from_points(NAME, zone, points, what="forecast", step=_STEP)

    def _national_items(self, path: str, zone: Zone) -> list[Any]:
        body = self._http.get(self._base + path)
        return require_list(NAME, body, "data", f"{NAME} {path} for {zone}")

    def _regional_items(self, path: str, zone: Zone) -> list[Any]:
        where = f"{NAME} {path} for {zone}"
        region = require_field(NAME, self._http.get(self._base + path), "data", where)
        if isinstance(region, list):
            if not region:
                return []
            region = region[0]
        return require_list(NAME, region, "data", where)


def _region_id(zone: Zone) -> int | None:
    """``None`` for the national series, the API's ``regionid`` for a ``GB-R<n>`` zone."""
    if zone == NATIONAL:
        return None
    if zone in UK_REGIONS:
        return UK_REGIONS[zone][0]
    known = ", ".join([NATIONAL, *UK_REGIONS])
    # A permanent provider error, not an InputError: in a fallback chain the next source may
    # know the zone. The CLI checks zones() first and reports a user mistake there.
    raise ProviderPermanentError(
        NAME, f"the UK Carbon Intensity API has no zone {zone!r}; use one of {known}"
    )


def _parse_item(item: Any, where: str) -> tuple[datetime, float | None, float | None]:
    at = parse_instant(NAME, require_field(NAME, item, "from", where), where)
    intensity = require_field(NAME, item, "intensity", where)
    if not isinstance(intensity, dict):
        raise ProviderPermanentError(NAME, f"{where}: expected 'intensity' to be an object")
    actual = parse_value(NAME, intensity.get("actual"), where)
    forecast = parse_value(NAME, intensity.get("forecast"), where)
    return at, actual, forecast


def _history_points(items: list[Any], zone: Zone, *, regional: bool) -> list[Point]:
    points: list[Point] = []
    for index, item in enumerate(items):
        at, actual, forecast = _parse_item(item, f"{NAME} history for {zone}, item {index}")
        # Regions have no actuals: their estimate is the forecast field (see module docstring).
        value = forecast if regional else actual
        if value is not None:
            points.append((at, value))
    return points
