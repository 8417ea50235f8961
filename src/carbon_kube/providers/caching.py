"""A SQLite store of provider answers: fresh within a TTL per kind, and the last good answer ever.

Two questions are asked of it:

* ``fresh_*``: "did this provider answer this within its TTL?" (latest, history and forecast
  age differently: a forecast is re-issued often, a past hour hardly changes);
* ``last_*``: "what is the newest answer any provider ever gave?" regardless of age, which the
  fallback chain serves flagged ``stale`` when every provider fails.

The file is opened per operation in WAL mode with a busy timeout, so several processes (the
operator, a CLI) may share it. Its location is passed in: ``default_cache_path`` computes the
conventional one from values the caller read from the environment, and nothing here reads the
environment or the wall clock (the ``Clock`` is injected).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum
from pathlib import Path

import numpy as np

from carbon_kube.domain.clock import Clock
from carbon_kube.domain.intensity import IntensitySeries, SignalKind, from_epoch_s, to_epoch_s
from carbon_kube.domain.zones import Zone
from carbon_kube.providers.base import IntensityReading

_SCHEMA = """
CREATE TABLE IF NOT EXISTS series (
    provider TEXT NOT NULL,
    zone TEXT NOT NULL,
    kind TEXT NOT NULL,
    signal TEXT NOT NULL,
    requested_start_s INTEGER NOT NULL,
    requested_end_s INTEGER NOT NULL,
    start_s INTEGER NOT NULL,
    step_s INTEGER NOT NULL,
    count INTEGER NOT NULL,
    values_f64 BLOB NOT NULL,
    fetched_at_s INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS series_lookup ON series (zone, kind, signal, fetched_at_s);
CREATE TABLE IF NOT EXISTS readings (
    provider TEXT NOT NULL,
    zone TEXT NOT NULL,
    signal TEXT NOT NULL,
    at_s INTEGER NOT NULL,
    intensity_g_per_kwh REAL NOT NULL,
    fetched_at_s INTEGER NOT NULL,
    PRIMARY KEY (provider, zone, signal)
);
"""
_BUSY_TIMEOUT = timedelta(seconds=10)


class SeriesKind(StrEnum):
    """Which question a cached series answered."""

    HISTORY = "history"
    FORECAST = "forecast"


@dataclass(frozen=True, slots=True)
class CacheTtl:
    """How long an answer counts as fresh, per kind.

    Defaults: the newest value changes every few minutes to an hour; forecasts are re-issued
    about hourly; history is only revised for the most recent hours.
    """

    latest: timedelta = timedelta(minutes=5)
    forecast: timedelta = timedelta(minutes=30)
    history: timedelta = timedelta(hours=6)

    def of(self, kind: SeriesKind) -> timedelta:
        return self.history if kind is SeriesKind.HISTORY else self.forecast


def default_cache_path(xdg_cache_home: str | None, home: Path) -> Path:
    """``$XDG_CACHE_HOME/carbon-kube/intensity.sqlite``, else ``~/.cache/carbon-kube/...``.

    An empty or relative ``XDG_CACHE_HOME`` is ignored, as the XDG specification asks.
    """
    base = Path(xdg_cache_home) if xdg_cache_home else None
    if base is None or not base.is_absolute():
        base = home / ".cache"
    return base / "carbon-kube" / "intensity.sqlite"


class IntensityCache:
    """Provider answers in one SQLite file at ``path`` (created with its folder if missing)."""

    def __init__(self, path: Path, *, clock: Clock, ttl: CacheTtl | None = None) -> None:
        self.path = path
        self._clock = clock
        self.ttl = ttl or CacheTtl()
        path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as db:
            db.execute("PRAGMA journal_mode=WAL")
            db.executescript(_SCHEMA)

    def put_series(
        self,
        provider: str,
        kind: SeriesKind,
        series: IntensitySeries,
        *,
        requested_start: datetime,
        requested_end: datetime,
    ) -> None:
        """Remember ``series`` as the answer to a request for ``[requested_start, requested_end)``.

        A forecast replaces the provider's previous forecast for the zone; a history answer
        replaces only an answer to the very same range.
        """
        row = (
            provider,
            series.zone,
            kind.value,
            series.signal.value,
            to_epoch_s(requested_start),
            to_epoch_s(requested_end),
            series.start_s,
            series.step_s,
            len(series),
            series.values_g_per_kwh.astype("<f8").tobytes(),
            to_epoch_s(self._clock.now()),
        )
        with self._connect() as db:
            if kind is SeriesKind.FORECAST:
                db.execute(
                    "DELETE FROM series WHERE provider=? AND zone=? AND kind=? AND signal=?",
                    row[:4],
                )
            else:
                db.execute(
                    "DELETE FROM series WHERE provider=? AND zone=? AND kind=? AND signal=? "
                    "AND requested_start_s=? AND requested_end_s=?",
                    row[:6],
                )
            db.execute("INSERT INTO series VALUES (?,?,?,?,?,?,?,?,?,?,?)", row)

    def fresh_series(
        self, provider: str, kind: SeriesKind, zone: Zone, start: datetime, end: datetime
    ) -> IntensitySeries | None:
        """The provider's answer to a request covering ``[start, end)``, if within the TTL.

        A forecast request drifts with the clock, so a cached forecast counts as covering a
        request that ends up to one TTL after the one it answered.
        """
        now_s = to_epoch_s(self._clock.now())
        slack_s = int(self.ttl.of(kind).total_seconds()) if kind is SeriesKind.FORECAST else 0
        with self._connect() as db:
            row = db.execute(
                "SELECT start_s, step_s, count, values_f64, signal, provider FROM series "
                "WHERE provider=? AND zone=? AND kind=? AND fetched_at_s>=? "
                "AND requested_start_s<=? AND requested_end_s+?>=? "
                "ORDER BY fetched_at_s DESC LIMIT 1",
                (
                    provider,
                    zone,
                    kind.value,
                    now_s - int(self.ttl.of(kind).total_seconds()),
                    to_epoch_s(start) if kind is SeriesKind.HISTORY else now_s,
                    slack_s,
                    to_epoch_s(end),
                ),
            ).fetchone()
        if row is None:
            return None
        return _overlap(_series(zone, row), start, end)

    def last_series(
        self, kind: SeriesKind, zone: Zone, start: datetime, end: datetime, signal: SignalKind
    ) -> IntensitySeries | None:
        """The newest answer from any provider that overlaps ``[start, end)``, flagged stale."""
        with self._connect() as db:
            rows = db.execute(
                "SELECT start_s, step_s, count, values_f64, signal, provider FROM series "
                "WHERE zone=? AND kind=? AND signal=? AND start_s<? "
                "AND start_s + step_s * count>? ORDER BY fetched_at_s DESC LIMIT 1",
                (zone, kind.value, signal.value, to_epoch_s(end), to_epoch_s(start)),
            ).fetchall()
        if not rows:
            return None
        found = _overlap(_series(zone, rows[0]), start, end)
        return None if found is None else replace(found, stale=True)

    def put_reading(self, reading: IntensityReading) -> None:
        with self._connect() as db:
            db.execute(
                "INSERT OR REPLACE INTO readings VALUES (?,?,?,?,?,?)",
                (
                    reading.provider,
                    reading.zone,
                    reading.signal.value,
                    to_epoch_s(reading.at),
                    reading.intensity_g_per_kwh,
                    to_epoch_s(self._clock.now()),
                ),
            )

    def fresh_reading(self, provider: str, zone: Zone) -> IntensityReading | None:
        """The provider's latest reading for ``zone`` if fetched within ``ttl.latest``."""
        oldest_s = to_epoch_s(self._clock.now()) - int(self.ttl.latest.total_seconds())
        with self._connect() as db:
            row = db.execute(
                "SELECT provider, signal, at_s, intensity_g_per_kwh FROM readings "
                "WHERE provider=? AND zone=? AND fetched_at_s>=? "
                "ORDER BY fetched_at_s DESC LIMIT 1",
                (provider, zone, oldest_s),
            ).fetchone()
        return None if row is None else _reading(zone, row, stale=False)

    def last_reading(self, zone: Zone, signal: SignalKind) -> IntensityReading | None:
        """The newest reading any provider gave for ``zone``, flagged stale."""
        with self._connect() as db:
            row = db.execute(
                "SELECT provider, signal, at_s, intensity_g_per_kwh FROM readings "
                "WHERE zone=? AND signal=? ORDER BY at_s DESC, fetched_at_s DESC LIMIT 1",
                (zone, signal.value),
            ).fetchone()
        return None if row is None else _reading(zone, row, stale=True)

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        with closing(sqlite3.connect(self.path, timeout=_BUSY_TIMEOUT.total_seconds())) as db, db:
            # With WAL, NORMAL survives application crashes and is much cheaper than FULL.
            db.execute("PRAGMA synchronous=NORMAL")
            yield db


def _series(zone: Zone, row: tuple[int, int, int, bytes, str, str]) -> IntensitySeries:
    start_s, step_s, count, blob, signal, provider = row
    values = np.frombuffer(blob, dtype="<f8", count=count).astype(np.float64)
    return IntensitySeries(
        zone=zone,
        start=from_epoch_s(start_s),
        step=timedelta(seconds=step_s),
        values_g_per_kwh=values,
        signal=SignalKind(signal),
        source=provider,
    )


def _overlap(series: IntensitySeries, start: datetime, end: datetime) -> IntensitySeries | None:
    if series.end <= start or end <= series.start:
        return None
    return series.between(max(start, series.start), min(end, series.end))


def _reading(zone: Zone, row: tuple[str, str, int, float], *, stale: bool) -> IntensityReading:
    provider, signal, at_s, value = row
    return IntensityReading(
        zone=zone,
        at=from_epoch_s(at_s),
        intensity_g_per_kwh=value,
        provider=provider,
        signal=SignalKind(signal),
        stale=stale,
    )
