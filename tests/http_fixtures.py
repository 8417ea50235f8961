"""Serve the hand-written API responses in tests/fixtures through ``httpx.MockTransport``."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from carbon_kube.domain.clock import FixedClock

FIXTURES = Path(__file__).parent / "fixtures"
NOW = datetime(2024, 3, 1, 12, 10, tzinfo=UTC)
FAKE_SECRET = "not-a-real-secret"  # noqa: S105 (a placeholder the mock server accepts)

Reply = httpx.Response | Exception | Callable[[httpx.Request], httpx.Response]


def fixture_json(provider: str, name: str) -> Any:
    return json.loads((FIXTURES / provider / name).read_text("utf-8"))


def ok(provider: str, name: str) -> httpx.Response:
    return httpx.Response(200, content=(FIXTURES / provider / name).read_bytes())


def status(code: int, body: str = "", headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.Response(code, text=body, headers=headers)


def timeout() -> Exception:
    return httpx.ReadTimeout("read timed out")


class Recorded:
    """Answers each path with its queued replies in order (the last one repeats).

    Every request is kept in ``requests``; a path with no route answers 404 so a test that hits
    an unexpected URL fails loudly.
    """

    def __init__(self) -> None:
        self.routes: dict[str, list[Reply]] = {}
        self.requests: list[httpx.Request] = []

    def on(self, path: str, *replies: Reply) -> Recorded:
        self.routes[path] = list(replies)
        return self

    def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        queue = self.routes.get(request.url.path)
        if not queue:
            return httpx.Response(404, text=f"no route for {request.url.path}")
        reply = queue.pop(0) if len(queue) > 1 else queue[0]
        if isinstance(reply, Exception):
            raise reply
        if isinstance(reply, httpx.Response):
            # A fresh copy: a Response object can only be read once per request.
            return httpx.Response(reply.status_code, headers=reply.headers, content=reply.content)
        return reply(request)

    def client(self) -> httpx.Client:
        return httpx.Client(transport=httpx.MockTransport(self.handle))

    def paths(self) -> list[str]:
        return [request.url.path for request in self.requests]


class Sleeps:
    """An injected sleep that records how long it was asked to wait and returns at once."""

    def __init__(self) -> None:
        self.waits: list[timedelta] = []

    def __call__(self, duration: timedelta) -> None:
        self.waits.append(duration)


def clock() -> FixedClock:
    return FixedClock(NOW)
