from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from carbon_kube.domain.errors import ProviderPermanentError
from carbon_kube.domain.zones import Zone
from carbon_kube.providers.ukcarbon import UK_REGIONS, UkCarbonIntensityProvider
from tests.http_fixtures import Recorded, Sleeps, clock, fixture_json, ok

GB = Zone("GB")
LONDON = Zone("GB-R13")
T0 = datetime(2024, 1, 10, tzinfo=UTC)


def provider(recorded: Recorded) -> UkCarbonIntensityProvider:
    return UkCarbonIntensityProvider(http=recorded.client(), clock=clock(), sleep=Sleeps())


def test_zones_are_the_nation_and_the_seventeen_api_regions() -> None:
    zones = provider(Recorded()).zones()
    assert zones[0] == "GB"
    assert len(zones) == 18
    assert UK_REGIONS[LONDON] == (13, "London")


def test_national_latest_falls_back_to_the_forecast_while_no_actual_is_published() -> None:
    recorded = Recorded().on("/intensity", ok("ukcarbon", "intensity_now.json"))
    reading = provider(recorded).latest(GB)
    assert (reading.at, reading.intensity_g_per_kwh) == (datetime(2024, 3, 1, 12, tzinfo=UTC), 181)


def test_regional_latest_reads_the_list_shaped_answer() -> None:
    recorded = Recorded().on("/regional/regionid/13", ok("ukcarbon", "regional_now.json"))
    assert provider(recorded).latest(LONDON).intensity_g_per_kwh == 152


def test_national_history_uses_actuals_clipped_to_the_range_without_unpublished_tail() -> None:
    recorded = Recorded().on(
        "/intensity/2024-01-10T00:00Z/2024-01-10T03:00Z", ok("ukcarbon", "intensity_range.json")
    )
    series = provider(recorded).history(GB, T0, T0 + timedelta(hours=3))
    items = fixture_json("ukcarbon", "intensity_range.json")["data"]
    # Item 0 is the half-hour ending at {from}; item 6 has no actual yet.
    assert series.start == T0
    assert series.step == timedelta(minutes=30)
    assert list(series.values_g_per_kwh) == [i["intensity"]["actual"] for i in items[1:6]]


def test_regional_history_uses_the_regional_estimate() -> None:
    recorded = Recorded().on(
        "/regional/intensity/2024-01-10T00:00Z/2024-01-10T03:00Z/regionid/13",
        ok("ukcarbon", "regional_range.json"),
    )
    series = provider(recorded).history(LONDON, T0, T0 + timedelta(hours=3))
    items = fixture_json("ukcarbon", "regional_range.json")["data"]["data"]
    assert list(series.values_g_per_kwh) == [i["intensity"]["forecast"] for i in items[1:7]]


def test_forecast_is_capped_at_the_apis_48_hours() -> None:
    recorded = Recorded().on(
        "/intensity/2024-03-01T12:10Z/fw48h", ok("ukcarbon", "intensity_fw48h.json")
    )
    series = provider(recorded).forecast(GB, timedelta(hours=72))
    assert series.start == datetime(2024, 3, 1, 12, tzinfo=UTC)
    assert len(series) == 96
    assert series.step == timedelta(minutes=30)


def test_regional_forecast_reads_the_object_shaped_answer() -> None:
    recorded = Recorded().on(
        "/regional/intensity/2024-03-01T12:10Z/fw48h/regionid/13",
        ok("ukcarbon", "regional_fw48h.json"),
    )
    series = provider(recorded).forecast(LONDON, timedelta(hours=2))
    items = fixture_json("ukcarbon", "regional_fw48h.json")["data"]["data"]
    assert list(series.values_g_per_kwh) == [i["intensity"]["forecast"] for i in items[:5]]


def test_an_unknown_zone_is_a_permanent_error_listing_the_known_ones() -> None:
    with pytest.raises(ProviderPermanentError) as caught:
        provider(Recorded()).latest(Zone("DE"))
    assert "GB-R13" in str(caught.value)
