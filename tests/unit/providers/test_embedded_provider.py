from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from carbon_kube.domain.clock import FixedClock
from carbon_kube.domain.errors import ProviderPermanentError
from carbon_kube.domain.intensity import IntensitySeries
from carbon_kube.domain.zones import Zone
from carbon_kube.providers.base import ForecastUnsupportedError, IntensityProvider
from carbon_kube.providers.embedded import EmbeddedProvider, load_embedded_series, replay_hours
from tests.builders import HOUR, make_series

Y2020 = datetime(2020, 1, 1, tzinfo=UTC)
CLOCK = FixedClock(datetime(2026, 7, 1, 13, 30, tzinfo=UTC))


def hour_index_series(year: int, zone: str = "DE") -> IntensitySeries:
    """A whole year whose value is the hour index: replayed values name the hour they came from."""
    start = datetime(year, 1, 1, tzinfo=UTC)
    hours = (datetime(year + 1, 1, 1, tzinfo=UTC) - start) // HOUR
    return make_series([float(i) for i in range(hours)], zone=zone, start=start)


def provider(year: int = 2020, *, replay: bool = True) -> EmbeddedProvider:
    return EmbeddedProvider(CLOCK, replay=replay, series={Zone("DE"): hour_index_series(year)})


def test_embedded_provider_satisfies_the_provider_protocol() -> None:
    source: IntensityProvider = EmbeddedProvider(CLOCK)
    assert source.name == "embedded"
    assert source.zones() == sorted(load_embedded_series())


def test_history_inside_the_embedded_year_returns_the_data_itself() -> None:
    got = provider().history(Zone("DE"), Y2020 + 10 * HOUR, Y2020 + 13 * HOUR)
    assert got.start == Y2020 + 10 * HOUR
    assert list(got.values_g_per_kwh) == [10.0, 11.0, 12.0]


def test_history_starts_at_the_hour_containing_a_mid_hour_start() -> None:
    got = provider().history(
        Zone("DE"), Y2020 + 10 * HOUR + timedelta(minutes=30), Y2020 + 12 * HOUR
    )
    assert got.start == Y2020 + 10 * HOUR
    assert list(got.values_g_per_kwh) == [10.0, 11.0]


def test_history_in_another_year_replays_the_same_month_day_and_hour() -> None:
    start = datetime(2026, 3, 1, 5, tzinfo=UTC)
    got = provider().history(Zone("DE"), start, start + 2 * HOUR)
    # 2020 is a leap year: 1 March 05:00 is hour (31 + 29) * 24 + 5.
    want_first = (31 + 29) * 24 + 5
    assert got.start == start
    assert list(got.values_g_per_kwh) == [want_first, want_first + 1]


def test_replay_across_new_year_wraps_to_the_start_of_the_embedded_year() -> None:
    start = datetime(2025, 12, 31, 22, tzinfo=UTC)
    got = provider().history(Zone("DE"), start, start + 4 * HOUR)
    assert list(got.values_g_per_kwh) == [8782.0, 8783.0, 0.0, 1.0]


def test_replay_of_29_february_on_a_non_leap_embedded_year_uses_28_february() -> None:
    indexes = replay_hours(2021, datetime(2024, 2, 29, 0, tzinfo=UTC), 1)
    assert list(indexes) == [(31 + 27) * 24]


def test_latest_is_the_replayed_value_of_the_clocks_current_hour() -> None:
    reading = provider().latest(Zone("DE"))
    want_index = (31 + 29 + 31 + 30 + 31 + 30) * 24 + 13  # 1 July 13:00 of 2020
    assert reading.at == datetime(2026, 7, 1, 13, tzinfo=UTC)
    assert reading.intensity_g_per_kwh == want_index
    assert reading.provider == "embedded"


def test_latest_on_real_data_matches_the_same_hour_of_2020() -> None:
    reading = EmbeddedProvider(CLOCK).latest(Zone("FR"))
    want = load_embedded_series()[Zone("FR")].value_at(datetime(2020, 7, 1, 13, tzinfo=UTC))
    assert reading.intensity_g_per_kwh == pytest.approx(want)


def test_without_replay_a_window_outside_the_year_is_a_permanent_error_naming_the_span() -> None:
    start = datetime(2026, 3, 1, tzinfo=UTC)
    with pytest.raises(ProviderPermanentError, match=r"outside the embedded data.*2020-01-01"):
        provider(replay=False).history(Zone("DE"), start, start + HOUR)
    with pytest.raises(ProviderPermanentError, match="outside the embedded data"):
        provider(replay=False).latest(Zone("DE"))


def test_without_replay_the_clock_inside_the_year_reads_the_data() -> None:
    inside = EmbeddedProvider(
        FixedClock(Y2020 + 5 * HOUR), replay=False, series={Zone("DE"): hour_index_series(2020)}
    )
    assert inside.latest(Zone("DE")).intensity_g_per_kwh == 5.0


def test_replay_refuses_data_that_is_not_a_whole_calendar_year() -> None:
    short = EmbeddedProvider(CLOCK, series={Zone("DE"): make_series([1.0, 2.0], start=Y2020)})
    with pytest.raises(ProviderPermanentError, match="not one whole calendar year"):
        short.latest(Zone("DE"))


def test_forecast_is_unsupported_so_a_fallback_chain_moves_on() -> None:
    with pytest.raises(ForecastUnsupportedError, match="historical"):
        provider().forecast(Zone("DE"), timedelta(hours=24))


def test_unknown_zone_is_a_permanent_error_listing_the_embedded_zones() -> None:
    with pytest.raises(ProviderPermanentError, match=r"no embedded data for zone XX.*DE"):
        provider().history(Zone("XX"), Y2020, Y2020 + HOUR)


def test_naive_or_reversed_windows_are_programming_errors() -> None:
    with pytest.raises(ValueError, match="naive"):
        provider().history(Zone("DE"), datetime(2020, 1, 1), datetime(2020, 1, 2))  # noqa: DTZ001
    with pytest.raises(ValueError, match="not after"):
        provider().history(Zone("DE"), Y2020 + HOUR, Y2020)


def test_replaying_a_non_leap_year_skips_29_february_of_the_embedded_year() -> None:
    real = load_embedded_series()[Zone("GB")].values_g_per_kwh
    start = datetime(2031, 1, 1, tzinfo=UTC)
    got = EmbeddedProvider(CLOCK).history(Zone("GB"), start, start + timedelta(days=365))
    before_march_h = (31 + 28) * 24
    np.testing.assert_array_equal(got.values_g_per_kwh[:before_march_h], real[:before_march_h])
    np.testing.assert_array_equal(
        got.values_g_per_kwh[before_march_h:], real[before_march_h + 24 :]
    )
