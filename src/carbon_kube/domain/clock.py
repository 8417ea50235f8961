"""Clocks are passed in, never read from ``datetime.now()`` inside decisions.

``SystemClock`` is the one place that reads the wall clock; tests use ``FixedClock``; the lab
uses a speeded-up clock of its own built on the same protocol.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    """Something that tells the current instant as a tz-aware UTC ``datetime``."""

    def now(self) -> datetime: ...


class SystemClock:
    """The wall clock, in UTC."""

    def now(self) -> datetime:
        return datetime.now(UTC)


class FixedClock:
    """A clock that only moves when told to: deterministic tests and replays."""

    def __init__(self, at: datetime) -> None:
        self._at = require_utc(at, "FixedClock")

    def now(self) -> datetime:
        return self._at

    def advance(self, by: timedelta) -> None:
        self._at += by


def require_utc(instant: datetime, what: str) -> datetime:
    """Return ``instant`` in UTC; a naive datetime is a programming error, not a guess."""
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise ValueError(f"{what}: naive datetime {instant.isoformat()}; pass a tz-aware UTC time")
    return instant.astimezone(UTC)
