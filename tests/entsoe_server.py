"""ENTSO-E's Transparency Platform API on loopback: actual generation per production type (A75).

A real HTTP server (run by ``tests.provider_server.serving``) that the real ``EntsoeProvider``
reaches over TCP. It answers ``GET /api?securityToken&documentType=A75&processType=A16
&in_Domain&periodStart&periodEnd`` with the XML the API documents (the shapes of
``tests/fixtures/entsoe``): a ``GL_MarketDocument`` per request, ``Acknowledgement_MarketDocument``
for no data (HTTP 200) and bad parameters (HTTP 400), HTTP 401 for a wrong token.

Tests give it the hourly intensity they want the provider to read (``truth``); it serves that as
a two-type mix of 10 GW, Fossil Gas (490 g/kWh) and Wind Onshore (11 g/kWh), whose life-cycle
intensity is the wanted value (so values must lie in 11..490). Gas is an A01 curve of quarters,
wind an A03 curve (a point only where the value changes), and the gas plants' own consumption
comes as an ``outBiddingZone`` series the provider must skip. Like the real platform, the newest
hour is published type by type: gas up to the last quarter that has ended, wind only up to the
last whole hour. ``fault``: ``down`` (503), ``rate-limited`` (429, Retry-After), ``garbage``
(HTML), ``truncated`` (cut XML), ``wrong-zone`` (another area's series), ``no-data``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from carbon_kube.domain.instants import floor_to_hour
from carbon_kube.domain.intensity import IntensitySeries
from carbon_kube.domain.zones import Zone
from carbon_kube.providers.entsoe import AREAS

TOKEN = "loopback-entsoe-token"  # noqa: S105 (what the test server accepts; not a secret)
FAULTS = ("down", "rate-limited", "garbage", "truncated", "wrong-zone", "no-data")
TOTAL_MW = 10_000.0
GAS_G_PER_KWH, WIND_G_PER_KWH = 490.0, 11.0
_QUARTER = timedelta(minutes=15)
_HOUR = timedelta(hours=1)
_GL = "urn:iec62325.351:tc57wg16:451-6:generationloaddocument:3:0"
_ACK = "urn:iec62325.351:tc57wg16:451-1:acknowledgementdocument:7:0"


def gas_mw(intensity_g_per_kwh: float) -> float:
    """The gas output of the 10 GW mix whose intensity is ``intensity_g_per_kwh``."""
    share = (intensity_g_per_kwh - WIND_G_PER_KWH) / (GAS_G_PER_KWH - WIND_G_PER_KWH)
    if not 0.0 <= share <= 1.0:
        raise ValueError(f"{intensity_g_per_kwh} g/kWh is outside the gas/wind mix (11..490)")
    return round(TOTAL_MW * share, 3)


@dataclass
class EntsoeServer:
    """State of the loopback API; ``requests`` records each request's area."""

    now: Callable[[], datetime]
    truth: dict[Zone, IntensitySeries]
    fault: str | None = None
    requests: list[str] = field(default_factory=list)
    base_url: str = ""
    base_path: str = "/api"
    content_type: str = "text/xml"

    def answer(
        self, path: str, query: dict[str, str], headers: Mapping[str, str]
    ) -> tuple[int, bytes, dict[str, str]]:
        self.requests.append(query.get("in_Domain", ""))
        if query.get("securityToken") != TOKEN:
            return 401, b"<html><body><h1>401 Unauthorized</h1></body></html>", {}
        if self.fault == "down":
            return 503, b"<html><body>Service Unavailable</body></html>", {}
        if self.fault == "rate-limited":
            return 429, b"Too Many Requests", {"Retry-After": "1"}
        if self.fault == "garbage":
            return 200, b"<html><body>maintenance</body></html>", {}
        zones = {area: zone for zone, area in AREAS.items()}
        zone = zones.get(query.get("in_Domain", ""))
        try:
            start, end = _minute(query["periodStart"]), _minute(query["periodEnd"])
        except (KeyError, ValueError):
            return 400, _acknowledgement("Mandatory parameters missing or malformed."), {}
        if (query.get("documentType"), query.get("processType")) != ("A75", "A16") or not zone:
            return 400, _acknowledgement("Invalid value of parameters in the request."), {}
        body = self._document(zone, start, end)
        if body is None or self.fault == "no-data":
            return 200, _acknowledgement(_no_data(zone, start, end)), {}
        if self.fault == "truncated":
            body = body[: len(body) // 2]
        return 200, body, {}

    def _document(self, zone: Zone, start: datetime, end: datetime) -> bytes | None:
        series = self.truth.get(zone)
        if series is None:
            return None
        now = self.now()
        gas_until = min(end, now - (now - floor_to_hour(now)) % _QUARTER)
        wind_until = min(end, floor_to_hour(now))
        hours = [
            (series.start + series.step * i, float(v))
            for i, v in enumerate(series.values_g_per_kwh)
            if start <= series.start + series.step * i < end
        ]
        if not hours:
            return None
        begin = hours[0][0]
        area = AREAS[Zone("FR") if self.fault == "wrong-zone" and zone != "FR" else zone]
        gas = [
            (at + _QUARTER * q, gas_mw(v))
            for at, v in hours
            for q in range(4)
            if at + _QUARTER * (q + 1) <= gas_until
        ]
        wind = [(at, TOTAL_MW - gas_mw(v)) for at, v in hours if at + _HOUR <= wind_until]
        gas_end = gas[-1][0] + _QUARTER if gas else begin
        wind_end = wind[-1][0] + _HOUR if wind else begin
        own_use = [(at, 12.5) for at, _ in gas]
        parts = [
            _series(1, "inBiddingZone", area, "B04", "A01", (begin, gas_end), gas),
            _series(2, "inBiddingZone", area, "B19", "A03", (begin, wind_end), _changes(wind)),
            _series(3, "outBiddingZone", area, "B04", "A01", (begin, gas_end), own_use),
        ]
        return (
            f'<?xml version="1.0" encoding="utf-8"?>\n<GL_MarketDocument xmlns="{_GL}">'
            "<mRID>loopback</mRID><revisionNumber>1</revisionNumber><type>A75</type>"
            "<process.processType>A16</process.processType>"
            f"<createdDateTime>{_stamp(now)}</createdDateTime>"
            "<time_Period.timeInterval>"
            f"<start>{_stamp(start)}</start><end>{_stamp(end)}</end>"
            "</time_Period.timeInterval>" + "".join(parts) + "</GL_MarketDocument>"
        ).encode()


def _changes(points: list[tuple[datetime, float]]) -> list[tuple[datetime, float]]:
    """An A03 curve: only the points where the value differs from the one before."""
    kept: list[tuple[datetime, float]] = []
    for at, value in points:
        if not kept or kept[-1][1] != value:
            kept.append((at, value))
    return kept


def _series(
    number: int,
    domain: str,
    area: str,
    psr: str,
    curve: str,
    interval: tuple[datetime, datetime],
    points: list[tuple[datetime, float]],
) -> str:
    """One TimeSeries of quarter-hour positions over ``interval`` (empty when nothing to say)."""
    begin, end = interval
    if not points:
        return ""
    listed = "".join(
        f"<Point><position>{(at - begin) // _QUARTER + 1}</position>"
        f"<quantity>{value:g}</quantity></Point>"
        for at, value in points
    )
    return (
        f"<TimeSeries><mRID>{number}</mRID><businessType>A01</businessType>"
        "<objectAggregation>A08</objectAggregation>"
        f'<{domain}_Domain.mRID codingScheme="A01">{area}</{domain}_Domain.mRID>'
        f"<quantity_Measure_Unit.name>MAW</quantity_Measure_Unit.name><curveType>{curve}</curveType>"
        f"<MktPSRType><psrType>{psr}</psrType></MktPSRType>"
        f"<Period><timeInterval><start>{_stamp(begin)}</start><end>{_stamp(end)}</end>"
        f"</timeInterval><resolution>PT15M</resolution>{listed}</Period></TimeSeries>"
    )


def _acknowledgement(text: str) -> bytes:
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<Acknowledgement_MarketDocument xmlns="{_ACK}">'
        "<mRID>loopback-ack</mRID><createdDateTime>2024-01-01T00:00:00Z</createdDateTime>"
        f"<Reason><code>999</code><text>{text}</text></Reason></Acknowledgement_MarketDocument>"
    ).encode()


def _no_data(zone: Zone, start: datetime, end: datetime) -> str:
    return (
        "No matching data found for Data item ACTUAL_GENERATION_PER_PRODUCTION_TYPE "
        f"[16.1.B&amp;C] ({AREAS[zone]}) and interval {_stamp(start)}/{_stamp(end)}."
    )


def _minute(text: str) -> datetime:
    return datetime.strptime(text, "%Y%m%d%H%M").replace(tzinfo=UTC)


def _stamp(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%MZ")
