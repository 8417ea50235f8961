from __future__ import annotations

import sqlite3
import threading
from datetime import timedelta
from pathlib import Path

import pytest

from carbon_kube.domain.clock import FixedClock
from carbon_kube.domain.intensity import SignalKind
from carbon_kube.domain.zones import Zone
from carbon_kube.providers.base import IntensityReading
from carbon_kube.providers.caching import CacheTtl, IntensityCache, SeriesKind, default_cache_path
from tests.builders import HOUR, T0, make_series

DE = Zone("DE")


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(T0 + 24 * HOUR)


@pytest.fixture
def cache(tmp_path: Path, clock: FixedClock) -> IntensityCache:
    ttl = CacheTtl(latest=timedelta(minutes=5), forecast=timedelta(minutes=30), history=HOUR)
    return IntensityCache(tmp_path / "sub" / "intensity.sqlite", clock=clock, ttl=ttl)


def put_history(cache: IntensityCache, values: list[float], provider: str = "em") -> None:
    cache.put_series(
        provider,
        SeriesKind.HISTORY,
        make_series(values),
        requested_start=T0,
        requested_end=T0 + len(values) * HOUR,
    )


def test_default_path_honours_an_absolute_xdg_cache_home(tmp_path: Path) -> None:
    want = tmp_path / "xdg" / "carbon-kube" / "intensity.sqlite"
    assert default_cache_path(str(tmp_path / "xdg"), Path("/home/ada")) == want


@pytest.mark.parametrize("xdg", [None, "", "relative/cache"])
def test_default_path_falls_back_to_dot_cache_in_home(xdg: str | None) -> None:
    want = Path("/home/ada/.cache/carbon-kube/intensity.sqlite")
    assert default_cache_path(xdg, Path("/home/ada")) == want


def test_the_database_is_created_with_its_folder_in_wal_mode(cache: IntensityCache) -> None:
    assert cache.path.exists()
    with sqlite3.connect(cache.path) as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_history_round_trips_exactly_and_a_sub_range_is_served(cache: IntensityCache) -> None:
    put_history(cache, [100.5, 200.25, 300.0, 50.0])
    got = cache.fresh_series("em", SeriesKind.HISTORY, DE, T0 + HOUR, T0 + 3 * HOUR)
    assert got is not None
    assert got.start == T0 + HOUR
    assert list(got.values_g_per_kwh) == [200.25, 300.0]
    assert not got.stale


def test_history_expires_after_its_ttl(cache: IntensityCache, clock: FixedClock) -> None:
    put_history(cache, [1.0, 2.0])
    clock.advance(HOUR)
    assert cache.fresh_series("em", SeriesKind.HISTORY, DE, T0, T0 + 2 * HOUR) is not None
    clock.advance(timedelta(seconds=1))
    assert cache.fresh_series("em", SeriesKind.HISTORY, DE, T0, T0 + 2 * HOUR) is None


def test_a_range_wider_than_the_cached_request_is_a_miss(cache: IntensityCache) -> None:
    put_history(cache, [1.0, 2.0])
    assert cache.fresh_series("em", SeriesKind.HISTORY, DE, T0, T0 + 3 * HOUR) is None


def test_fresh_answers_are_per_provider(cache: IntensityCache) -> None:
    put_history(cache, [1.0, 2.0], provider="em")
    assert cache.fresh_series("uk", SeriesKind.HISTORY, DE, T0, T0 + 2 * HOUR) is None


def test_forecast_ttl_is_separate_from_history(cache: IntensityCache, clock: FixedClock) -> None:
    now = clock.now()
    forecast = make_series([5.0, 6.0, 7.0], start=now)
    cache.put_series(
        "em", SeriesKind.FORECAST, forecast, requested_start=now, requested_end=now + 3 * HOUR
    )
    clock.advance(timedelta(minutes=20))
    later = clock.now()
    hit = cache.fresh_series("em", SeriesKind.FORECAST, DE, later, later + 3 * HOUR)
    assert hit is not None
    assert hit.start == now
    clock.advance(timedelta(minutes=11))
    assert cache.fresh_series("em", SeriesKind.FORECAST, DE, later, later + HOUR) is None


def test_latest_reading_expires_after_the_latest_ttl(
    cache: IntensityCache, clock: FixedClock
) -> None:
    cache.put_reading(IntensityReading(DE, T0, 123.0, "em"))
    assert cache.fresh_reading("em", DE) == IntensityReading(DE, T0, 123.0, "em")
    clock.advance(timedelta(minutes=5, seconds=1))
    assert cache.fresh_reading("em", DE) is None


def test_last_good_data_ignores_age_and_comes_back_flagged_stale(
    cache: IntensityCache, clock: FixedClock
) -> None:
    put_history(cache, [1.0, 2.0, 3.0])
    cache.put_reading(IntensityReading(DE, T0, 9.0, "em"))
    clock.advance(timedelta(days=30))
    series = cache.last_series(
        SeriesKind.HISTORY, DE, T0 + HOUR, T0 + 10 * HOUR, SignalKind.AVERAGE
    )
    assert series is not None
    assert series.stale
    assert list(series.values_g_per_kwh) == [2.0, 3.0]
    reading = cache.last_reading(DE, SignalKind.AVERAGE)
    assert reading is not None
    assert reading.stale


def test_last_good_data_never_returns_another_signal_kind(cache: IntensityCache) -> None:
    put_history(cache, [1.0, 2.0])
    assert cache.last_series(SeriesKind.HISTORY, DE, T0, T0 + HOUR, SignalKind.MARGINAL) is None
    assert cache.last_reading(DE, SignalKind.MARGINAL) is None


def test_concurrent_writers_and_readers_do_not_lose_or_corrupt_entries(
    cache: IntensityCache,
) -> None:
    errors: list[BaseException] = []

    def work(worker: int) -> None:
        try:
            for i in range(20):
                zone = Zone(f"Z{worker}")
                series = make_series([float(i), float(worker)], zone=zone)
                cache.put_series(
                    "em",
                    SeriesKind.HISTORY,
                    series,
                    requested_start=T0,
                    requested_end=T0 + 2 * HOUR,
                )
                got = cache.fresh_series("em", SeriesKind.HISTORY, zone, T0, T0 + 2 * HOUR)
                assert got is not None
                assert got.values_g_per_kwh[1] == float(worker)
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=work, args=(w,)) for w in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with sqlite3.connect(cache.path) as db:
        # Same provider, zone and range: each write replaced the previous one.
        assert db.execute("SELECT COUNT(*) FROM series").fetchone()[0] == 4
