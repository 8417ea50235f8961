"""Carbon-intensity APIs on loopback that speak the providers' documented wire shapes.

``ElectricityMapsServer`` below; ``EntsoeServer`` in ``tests/entsoe_server.py``; ``serving`` runs
either on 127.0.0.1.

Not a mock of our code: a real HTTP server (``http.server``) that the real
``ElectricityMapsProvider`` reaches over TCP, answering ``/v3/carbon-intensity/{latest,history,
past-range,forecast}`` with the JSON bodies the API documents (see ``tests/fixtures/
electricitymaps`` for recorded examples): the ``auth-token`` header is required, ``zone`` is a
query parameter, instants are ``YYYY-MM-DDTHH:MM:SS.000Z``.

It serves the hourly ``truth`` of each zone as observed up to its clock's *now* and ``forecasts``
(a zone's published forecast series) from the hour holding now. ``fault`` makes every answer
fail in one of the ways real APIs fail, for the failure tests: ``down`` (503), ``rate-limited``
(429 with Retry-After), ``garbage`` (HTML), ``truncated`` (cut JSON), ``wrong-zone`` (another
zone's answer), ``nulls`` (``carbonIntensity: null``).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol, TypeVar
from urllib.parse import parse_qs, urlsplit

from carbon_kube.domain.instants import floor_to_hour, parse_rfc3339
from carbon_kube.domain.intensity import IntensitySeries
from carbon_kube.domain.zones import Zone

TOKEN = "loopback-token"  # noqa: S105 (what the test server accepts; not a secret)
FAULTS = ("down", "rate-limited", "garbage", "truncated", "wrong-zone", "nulls")
_HOUR = timedelta(hours=1)
_DAY = timedelta(days=1)


def _instant(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%S.000Z")


@dataclass
class ElectricityMapsServer:
    """State of the loopback API; ``requests`` records each request's path and zone."""

    now: Callable[[], datetime]
    truth: dict[Zone, IntensitySeries]
    forecasts: dict[Zone, IntensitySeries] = field(default_factory=dict)
    # The end of what the forecast endpoint has issued at a given now (None: the whole series).
    # A day-ahead forecaster such as DACF issues each UTC day at its start, never beyond it.
    forecast_until: Callable[[datetime], datetime] | None = None
    fault: str | None = None
    requests: list[tuple[str, str]] = field(default_factory=list)
    base_url: str = ""
    base_path: str = "/v3"
    content_type: str = "application/json"

    def answer(
        self, path: str, query: dict[str, str], headers: Mapping[str, str]
    ) -> tuple[int, bytes, dict[str, str]]:
        """Status, body and headers for one GET; the wire behaviour in one place."""
        zone = Zone(query.get("zone", ""))
        self.requests.append((path, str(zone)))
        if headers.get("auth-token") != TOKEN:
            return 401, b'{"error":"Invalid auth-token"}', {}
        if self.fault == "down":
            return 503, b'{"error":"Service Unavailable"}', {}
        if self.fault == "rate-limited":
            return 429, b'{"error":"Too Many Requests"}', {"Retry-After": "1"}
        if self.fault == "garbage":
            return 200, b"<html><body>maintenance</body></html>", {}
        if zone not in self.truth:
            return 404, json.dumps({"error": f"Zone '{zone}' does not exist"}).encode(), {}
        endpoint = path.rsplit("/", 1)[-1]
        body = self._body(endpoint, zone, query)
        if body is None:
            return 404, b'{"error":"Not found"}', {}
        raw = json.dumps(body).encode()
        if self.fault == "truncated":
            raw = raw[: len(raw) // 2]
        return 200, raw, {}

    def _body(self, endpoint: str, zone: Zone, query: dict[str, str]) -> dict[str, Any] | None:
        now = floor_to_hour(self.now())
        shown = "FR" if self.fault == "wrong-zone" else str(zone)
        if endpoint == "latest":
            points = self._observed(zone, now - _HOUR, now)
            return {"zone": shown, **points[-1]} if points else {"zone": shown}
        if endpoint == "history":
            return {"zone": shown, "history": self._observed(zone, now - _DAY, now)}
        if endpoint == "past-range":
            start = parse_rfc3339(query["start"], "start")
            end = min(parse_rfc3339(query["end"], "end"), now)
            return {"zone": shown, "data": self._observed(zone, start, end)}
        if endpoint == "forecast":
            forecast = self.forecasts.get(zone)
            if forecast is None:
                return None
            until = self.forecast_until(self.now()) if self.forecast_until else None
            points = [
                {"carbonIntensity": self._value(v), "datetime": _instant(t)}
                for t, v in _points(forecast)
                if t >= now and (until is None or t < until)
            ]
            return {"zone": shown, "forecast": points, "updatedAt": _instant(self.now())}
        return None

    def _observed(self, zone: Zone, start: datetime, end: datetime) -> list[dict[str, Any]]:
        """Hourly objects over [start, end) up to now: the API publishes nothing ahead."""
        return [
            {
                "zone": str(zone),
                "carbonIntensity": self._value(value),
                "datetime": _instant(at),
                "updatedAt": _instant(at + _HOUR),
                "emissionFactorType": "lifecycle",
                "isEstimated": False,
                "estimationMethod": None,
            }
            for at, value in _points(self.truth[zone])
            if start <= at < end
        ]

    def _value(self, value: float) -> float | None:
        return None if self.fault == "nulls" else round(value, 1)


def _points(series: IntensitySeries) -> Iterator[tuple[datetime, float]]:
    for index, value in enumerate(series.values_g_per_kwh):
        yield series.start + series.step * index, float(value)


class LoopbackApi(Protocol):
    """What ``serving`` needs of a server: its answers, where it is mounted, its content type."""

    base_url: str
    base_path: str
    content_type: str

    def answer(
        self, path: str, query: dict[str, str], headers: Mapping[str, str]
    ) -> tuple[int, bytes, dict[str, str]]: ...


Api = TypeVar("Api", bound=LoopbackApi)


@contextmanager
def serving(server: Api) -> Iterator[Api]:
    """Run ``server`` on 127.0.0.1 (a free port) for the block; ``base_url`` ends in its path."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            url = urlsplit(self.path)
            query = {k: v[0] for k, v in parse_qs(url.query).items()}
            status, body, headers = server.answer(url.path, query, self.headers)
            self.send_response(status)
            self.send_header("Content-Type", server.content_type)
            self.send_header("Content-Length", str(len(body)))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            return

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    server.base_url = f"http://127.0.0.1:{httpd.server_address[1]}{server.base_path}"
    try:
        yield server
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)
