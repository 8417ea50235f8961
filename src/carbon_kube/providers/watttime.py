"""WattTime API v3: marginal emissions (MOER), converted to g/kWh and marked ``MARGINAL``.

Requests:

* ``GET /login`` with HTTP basic auth -> ``{"token": "..."}``, a bearer token valid 30 minutes;
* ``GET /v3/historical?region&signal_type=co2_moer&start&end`` (at most ~32 days per request,
  ``end`` inclusive) and ``GET /v3/forecast?region&signal_type=co2_moer&horizon_hours`` (at most
  72 h) -> ``{"data": [{"point_time", "value"}], "meta": {"region", "signal_type", "units",
  "data_point_period_seconds", "model": {"date"}, "warnings": [...]}}``.

MOER is the emission rate of the generators that respond to a change in load, in lbs CO2 per
MWh. It answers "what does *my extra* kWh emit", a different question from the average
intensity every other provider returns, so series and readings from here carry
``SignalKind.MARGINAL`` and must never be compared with average values silently.
1 lb/MWh = 453.592 g / 1000 kWh = 0.453592 g/kWh.

``latest`` is the newest point of ``/v3/historical`` over the last hour: ``/v3/signal-index``
returns a 0-100 percentile, not an emission rate, so it cannot fill an ``IntensityReading``.
WattTime names regions (``CAISO_NORTH``) differently from grid zones; ``regions`` maps one to the
other and nothing is guessed for a zone without an entry.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import httpx

from carbon_kube.domain.clock import Clock, require_utc
from carbon_kube.domain.errors import ProviderPermanentError
from carbon_kube.domain.instants import format_rfc3339
from carbon_kube.domain.intensity import IntensitySeries, SignalKind
from carbon_kube.domain.zones import Zone
from carbon_kube.providers.base import IntensityReading
from carbon_kube.providers.http import (
    JsonHttp,
    ProviderAuthError,
    RetryPolicy,
    Sleep,
    sleep_for,
)
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

NAME = "watttime"
USERNAME_ENV_VAR = "WATTTIME_USERNAME"
PASSWORD_ENV_VAR = "WATTTIME_PASSWORD"  # noqa: S105 (the variable's name, not a secret)
G_PER_KWH_PER_LB_PER_MWH = 0.453592
_UNITS = "lbs_co2_per_mwh"
_SIGNAL_TYPE = "co2_moer"
_TOKEN_LIFETIME = timedelta(minutes=25)  # WattTime says 30; renew early rather than fail.
_DEFAULT_STEP = timedelta(minutes=5)
_HISTORICAL_MAX = timedelta(days=30)
_FORECAST_MAX = timedelta(hours=72)
_LATEST_WINDOW = timedelta(hours=1)

# Only the mapping WattTime itself documents as free to preview; CAISO_NORTH is the northern part
# of CAISO. Every other zone needs an explicit region (CLI: --watttime-region).
DEFAULT_REGIONS: Mapping[Zone, str] = {Zone("US-CAL-CISO"): "CAISO_NORTH"}


@dataclass(frozen=True, slots=True)
class WattTimeSettings:
    """Account and region table; the password is passed in, never read from the environment."""

    username: str
    password: str = field(repr=False)
    base_url: str = "https://api.watttime.org"
    regions: Mapping[Zone, str] = field(default_factory=lambda: dict(DEFAULT_REGIONS))


def lbs_per_mwh_to_g_per_kwh(value_lbs_per_mwh: float) -> float:
    """Convert a WattTime MOER (lbs CO2/MWh) to g CO2/kWh."""
    return value_lbs_per_mwh * G_PER_KWH_PER_LB_PER_MWH


class WattTimeProvider:
    """``IntensityProvider`` over WattTime v3; every value is marginal (``SignalKind.MARGINAL``)."""

    def __init__(
        self,
        settings: WattTimeSettings,
        *,
        http: httpx.Client,
        clock: Clock,
        retry: RetryPolicy | None = None,
        sleep: Sleep = sleep_for,
    ) -> None:
        self._settings = settings
        self._clock = clock
        self._base = settings.base_url.rstrip("/")
        self._http = JsonHttp(
            http,
            NAME,
            clock=clock,
            credential_hint=(
                f"{USERNAME_ENV_VAR} and {PASSWORD_ENV_VAR} to a WattTime account "
                "with access to this region"
            ),
            policy=retry,
            sleep=sleep,
        )
        self._token: str | None = None
        self._token_expires: datetime | None = None

    @property
    def name(self) -> str:
        return NAME

    def zones(self) -> list[Zone]:
        return sorted(self._settings.regions)

    def latest(self, zone: Zone) -> IntensityReading:
        now = self._clock.now()
        series = self._historical(zone, now - _LATEST_WINDOW, now + _DEFAULT_STEP)
        last = len(series) - 1
        return IntensityReading(
            zone=zone,
            at=series.start + series.step * last,
            intensity_g_per_kwh=float(series.values_g_per_kwh[last]),
            provider=NAME,
            signal=SignalKind.MARGINAL,
        )

    def history(self, zone: Zone, start: datetime, end: datetime) -> IntensitySeries:
        """MOER over ``[start, end)`` in g/kWh, fetched in pieces of at most 30 days."""
        start, end = require_utc(start, "history start"), require_utc(end, "history end")
        if end <= start:
            raise ValueError("history(): end must be after start")
        return self._historical(zone, start, end)

    def forecast(self, zone: Zone, horizon: timedelta) -> IntensitySeries:
        """MOER forecast from *now* up to ``min(horizon, 72 h)`` ahead, in g/kWh."""
        now = self._clock.now()
        horizon = min(horizon, _FORECAST_MAX)
        hours = max(1, math.ceil(horizon / timedelta(hours=1)))
        body = self._data("/v3/forecast", zone, {"horizon_hours": str(hours)})
        step = _step(body, zone)
        points = [(t, v) for t, v in _points(body, zone) if t + step > now and t < now + horizon]
        return series_from_points(
            NAME, zone, points, what="forecast", signal=SignalKind.MARGINAL, step=step
        )

    def _historical(self, zone: Zone, start: datetime, end: datetime) -> IntensitySeries:
        points: list[Point] = []
        step = _DEFAULT_STEP
        for piece_start, piece_end in chunked(start, end, _HISTORICAL_MAX):
            body = self._data(
                "/v3/historical",
                zone,
                {"start": format_rfc3339(piece_start), "end": format_rfc3339(piece_end)},
            )
            step = _step(body, zone)
            points.extend(_points(body, zone))
        return series_from_points(
            NAME,
            zone,
            clip(points, start, end),
            what="history",
            signal=SignalKind.MARGINAL,
            step=step,
        )

    def _data(self, path: str, zone: Zone, extra: dict[str, str]) -> Any:
        params = {"region": self._region(zone), "signal_type": _SIGNAL_TYPE, **extra}
        url = self._base + path
        try:
            return self._http.get(url, params=params, headers=self._auth_header())
        except ProviderAuthError as error:
            if error.status_code != 401:
                raise
            # The token may have expired early: log in once more, then let a second 401 stand.
            self._token = None
            return self._http.get(url, params=params, headers=self._auth_header())

    def _auth_header(self) -> dict[str, str]:
        now = self._clock.now()
        if self._token is None or self._token_expires is None or now >= self._token_expires:
            body = self._http.get(
                f"{self._base}/login",
                auth=httpx.BasicAuth(self._settings.username, self._settings.password),
            )
            token = require_field(NAME, body, "token", f"{NAME} login")
            if not isinstance(token, str) or not token:
                raise ProviderPermanentError(
                    NAME,
                    f"login returned no token; check {USERNAME_ENV_VAR} and {PASSWORD_ENV_VAR}",
                )
            self._token, self._token_expires = token, now + _TOKEN_LIFETIME
        return {"Authorization": f"Bearer {self._token}"}

    def _region(self, zone: Zone) -> str:
        region = self._settings.regions.get(zone)
        if region is None:
            raise ProviderPermanentError(
                NAME,
                f"no WattTime region is configured for zone {zone}; map it explicitly "
                "(CLI: --watttime-region NAME, e.g. CAISO_NORTH)",
            )
        return region


def _meta(body: Any, zone: Zone) -> dict[str, Any]:
    meta = require_field(NAME, body, "meta", f"{NAME} answer for {zone}")
    if not isinstance(meta, dict):
        raise ProviderPermanentError(NAME, f"{zone}: expected 'meta' to be an object")
    units = meta.get("units")
    if units != _UNITS:
        raise ProviderPermanentError(
            NAME, f"{zone}: expected MOER in {_UNITS!r}, got units {units!r}; refusing to convert"
        )
    return meta


def _step(body: Any, zone: Zone) -> timedelta:
    seconds = _meta(body, zone).get("data_point_period_seconds")
    if seconds is None:
        return _DEFAULT_STEP
    if isinstance(seconds, bool) or not isinstance(seconds, int) or seconds <= 0:
        raise ProviderPermanentError(
            NAME, f"{zone}: expected a positive whole data_point_period_seconds, got {seconds!r}"
        )
    return timedelta(seconds=seconds)


def _points(body: Any, zone: Zone) -> list[Point]:
    _meta(body, zone)
    where = f"{NAME} data for {zone}"
    points: list[Point] = []
    for index, item in enumerate(require_list(NAME, body, "data", where)):
        item_where = f"{where}, item {index}"
        at = parse_instant(NAME, require_field(NAME, item, "point_time", item_where), item_where)
        value = parse_value(NAME, require_field(NAME, item, "value", item_where), item_where)
        if value is not None:
            points.append((at, lbs_per_mwh_to_g_per_kwh(value)))
    return points
