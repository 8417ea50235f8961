"""Every forecast the poller saw, kept so forecasts can be judged against what then happened.

A live API gives only its *current* forecast. To backtest the provider's forecast (``auto``),
blend it into the learned model, or measure online error ("how wrong was yesterday's day-ahead
forecast?"), the past forecasts must be kept: this archive stores each one by source (the
provider, or the model the poller ran), zone and issue instant in one SQLite file (the
cache's, by default, so restarts keep it).

``day_ahead`` answers with the DACF-style series the forecasting registry reads: for each
target hour, the value from the newest forecast issued at least ``lead`` before it.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import closing, contextmanager
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np

from carbon_kube.domain.intensity import IntensitySeries, from_epoch_s, to_epoch_s
from carbon_kube.domain.zones import Zone

__all__ = ["DAY_AHEAD", "ForecastArchive"]

DAY_AHEAD = timedelta(hours=24)
# Forecasts older than this are dropped: the backtests and the online error look back a week
# or two, and the learned model's blend a few weeks.
KEEP = timedelta(days=60)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS forecast_archive (
    source TEXT NOT NULL,
    zone TEXT NOT NULL,
    issued_at_s INTEGER NOT NULL,
    start_s INTEGER NOT NULL,
    step_s INTEGER NOT NULL,
    count INTEGER NOT NULL,
    values_f64 BLOB NOT NULL,
    PRIMARY KEY (source, zone, issued_at_s)
);
"""


class ForecastArchive:
    """Issued forecasts in SQLite at ``path`` (created with its folder if missing)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as db:
            db.execute("PRAGMA journal_mode=WAL")
            db.executescript(_SCHEMA)

    def add(self, source: str, forecast: IntensitySeries, issued_at: datetime) -> None:
        """Keep ``forecast`` as ``source`` issued it at ``issued_at`` (idempotent)."""
        issued_s = to_epoch_s(issued_at)
        with self._connect() as db:
            db.execute(
                "INSERT OR REPLACE INTO forecast_archive VALUES (?,?,?,?,?,?,?)",
                (
                    source,
                    str(forecast.zone),
                    issued_s,
                    forecast.start_s,
                    forecast.step_s,
                    len(forecast),
                    forecast.values_g_per_kwh.astype("<f8").tobytes(),
                ),
            )
            db.execute(
                "DELETE FROM forecast_archive WHERE issued_at_s < ?",
                (issued_s - int(KEEP.total_seconds()),),
            )

    def day_ahead(
        self,
        source: str,
        zone: Zone,
        start: datetime,
        end: datetime,
        *,
        step: timedelta = timedelta(hours=1),
        lead: timedelta = DAY_AHEAD,
    ) -> IntensitySeries | None:
        """Per step of ``[start, end)``, the newest value issued ``lead`` or more before it.

        None unless every step has one (a hole is not guessed); the caller asks for a range
        the archive has covered.
        """
        start_s, end_s, step_s = to_epoch_s(start), to_epoch_s(end), int(step.total_seconds())
        targets = np.arange(start_s, end_s, step_s, dtype=np.int64)
        if targets.size == 0:
            return None
        values = np.full(targets.size, np.nan)
        issued = np.full(targets.size, -1, dtype=np.int64)
        with self._connect() as db:
            rows = db.execute(
                "SELECT issued_at_s, start_s, step_s, count, values_f64 FROM forecast_archive "
                "WHERE source=? AND zone=? AND start_s < ? AND start_s + step_s * count > ? "
                "AND issued_at_s <= ? ORDER BY issued_at_s",
                (source, str(zone), end_s, start_s, end_s - int(lead.total_seconds())),
            ).fetchall()
        for issued_s, f_start, f_step, count, blob in rows:
            if f_step != step_s or (f_start - start_s) % step_s:
                continue
            forecast = np.frombuffer(blob, dtype="<f8", count=count)
            index = (targets - f_start) // step_s
            usable = (
                (index >= 0)
                & (index < count)
                & (targets - issued_s >= lead.total_seconds())
                & (issued_s >= issued)
            )
            values[usable] = forecast[index[usable]]
            issued[usable] = issued_s
        if np.isnan(values).any():
            return None
        return IntensitySeries(
            zone=zone,
            start=from_epoch_s(float(start_s)),
            step=step,
            values_g_per_kwh=values,
            source=source,
        )

    def covered_since(self, source: str, zone: Zone) -> datetime | None:
        """When the oldest kept forecast of ``source`` for ``zone`` was issued."""
        with self._connect() as db:
            row = db.execute(
                "SELECT MIN(issued_at_s) FROM forecast_archive WHERE source=? AND zone=?",
                (source, str(zone)),
            ).fetchone()
        return None if row is None or row[0] is None else from_epoch_s(float(row[0]))

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        with closing(sqlite3.connect(self.path, timeout=30.0)) as db, db:
            db.execute("PRAGMA synchronous=NORMAL")
            yield db
