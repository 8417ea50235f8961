"""The poller's weather memory, over the real Open-Meteo client and the loopback APIs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from carbon_kube.domain.clock import FixedClock
from carbon_kube.domain.zones import Zone
from carbon_kube.observability.metrics import PROVIDER_ERRORS
from carbon_kube.providers.recent_weather import RecentWeather
from tests.builders import hourly_weather
from tests.openmeteo_server import OpenMeteoServer
from tests.provider_server import serving

pytestmark = pytest.mark.loopback

NOW = datetime(2024, 6, 20, 9, 0, tzinfo=UTC)
PJM = Zone("US-MIDA-PJM")
TRUTH = hourly_weather(datetime(2024, 5, 1, tzinfo=UTC), 60)


def recent(server: OpenMeteoServer, clock: FixedClock) -> RecentWeather:
    provider = server.client(clock)
    return RecentWeather(provider)


def test_weather_is_fetched_once_per_refresh_period_not_at_every_fit() -> None:
    clock = FixedClock(NOW)
    with serving(OpenMeteoServer(now=clock.now, truth=TRUTH)) as server:
        weather = recent(server, clock)
        first, note = weather.for_zone(PJM, NOW - timedelta(days=3), NOW)
        again, _ = weather.for_zone(PJM, NOW - timedelta(days=3), NOW + timedelta(hours=5))
        later, _ = weather.for_zone(PJM, NOW - timedelta(days=3), NOW + timedelta(hours=6))

    assert note is None
    assert first is not None
    assert again is first
    assert later is not None
    assert later is not first
    assert len(server.requests) == 2


def test_a_longer_training_window_than_the_copy_covers_is_fetched_again() -> None:
    clock = FixedClock(NOW)
    with serving(OpenMeteoServer(now=clock.now, truth=TRUTH)) as server:
        weather = recent(server, clock)
        weather.for_zone(PJM, NOW - timedelta(days=3), NOW)
        longer, _ = weather.for_zone(PJM, NOW - timedelta(days=20), NOW)

    assert longer is not None
    assert longer.start == datetime(2024, 5, 31, tzinfo=UTC)


def test_when_the_api_fails_the_last_copy_serves_for_a_day_then_none() -> None:
    clock = FixedClock(NOW)
    before = PROVIDER_ERRORS.labels("open-meteo", "weather", "temporary")._value.get()
    with serving(OpenMeteoServer(now=clock.now, truth=TRUTH)) as server:
        weather = recent(server, clock)
        fresh, _ = weather.for_zone(PJM, NOW - timedelta(days=3), NOW)
        server.fault = "down"
        kept, kept_note = weather.for_zone(PJM, NOW - timedelta(days=3), NOW + timedelta(hours=7))
        gone, gone_note = weather.for_zone(PJM, NOW - timedelta(days=3), NOW + timedelta(hours=24))

    assert kept is fresh
    assert kept_note is not None
    assert "using the copy from 7 h ago" in kept_note
    assert gone is None
    assert gone_note is not None
    assert "trained without weather" in gone_note
    after = PROVIDER_ERRORS.labels("open-meteo", "weather", "temporary")._value.get()
    assert after - before == 2


def test_a_zone_without_a_weather_point_trains_without_weather_and_says_so() -> None:
    clock = FixedClock(NOW)
    with serving(OpenMeteoServer(now=clock.now, truth=TRUTH)) as server:
        weather, note = recent(server, clock).for_zone(Zone("PL"), NOW - timedelta(days=3), NOW)

    assert weather is None
    assert note is not None
    assert "no weather point" in note
    assert server.requests == []
