from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from carbon_kube.domain.errors import ProviderPermanentError
from carbon_kube.domain.intensity import SignalKind
from carbon_kube.domain.zones import Zone
from carbon_kube.providers.electricitymaps import ElectricityMapsProvider, ElectricityMapsSettings
from tests.http_fixtures import FAKE_SECRET, NOW, Recorded, Sleeps, clock, fixture_json, ok

DE = Zone("DE")
BASE = "/v3/carbon-intensity"


def provider(recorded: Recorded) -> ElectricityMapsProvider:
    return ElectricityMapsProvider(
        ElectricityMapsSettings(api_token=FAKE_SECRET, zones=(DE,)),
        http=recorded.client(),
        clock=clock(),
        sleep=Sleeps(),
    )


def test_latest_reads_value_and_instant_and_sends_the_token_header() -> None:
    recorded = Recorded().on(f"{BASE}/latest", ok("electricitymaps", "latest.json"))
    reading = provider(recorded).latest(DE)
    assert reading.intensity_g_per_kwh == 302.0
    assert reading.at == datetime(2024, 3, 1, 12, tzinfo=UTC)
    assert (reading.provider, reading.signal, reading.stale) == (
        "electricitymaps",
        SignalKind.AVERAGE,
        False,
    )
    request = recorded.requests[0]
    assert request.headers["auth-token"] == FAKE_SECRET
    assert request.url.params["zone"] == "DE"
    assert request.url.params["emissionFactorType"] == "lifecycle"


def test_recent_history_comes_from_the_history_endpoint_clipped_to_the_range() -> None:
    recorded = Recorded().on(f"{BASE}/history", ok("electricitymaps", "history.json"))
    start = NOW - timedelta(hours=6, minutes=10)  # 06:00
    series = provider(recorded).history(DE, start, NOW)
    want = [
        p["carbonIntensity"] for p in fixture_json("electricitymaps", "history.json")["history"]
    ]
    assert series.start == datetime(2024, 3, 1, 6, tzinfo=UTC)
    assert series.step == timedelta(hours=1)
    assert list(series.values_g_per_kwh) == want[-7:]
    assert recorded.paths() == [f"{BASE}/history"]


def test_older_history_uses_past_range_and_drops_the_inclusive_end() -> None:
    recorded = Recorded().on(f"{BASE}/past-range", ok("electricitymaps", "past_range.json"))
    start = datetime(2024, 1, 10, tzinfo=UTC)
    series = provider(recorded).history(DE, start, start + timedelta(hours=6))
    assert len(series) == 6
    assert series.end == start + timedelta(hours=6)
    params = recorded.requests[0].url.params
    assert (params["start"], params["end"]) == ("2024-01-10T00:00:00Z", "2024-01-10T06:00:00Z")


def test_long_ranges_are_fetched_in_pieces_of_at_most_ten_days() -> None:
    recorded = Recorded().on(f"{BASE}/past-range", ok("electricitymaps", "past_range.json"))
    start = datetime(2024, 1, 10, tzinfo=UTC)
    provider(recorded).history(DE, start, start + timedelta(hours=6) + timedelta(days=20))
    starts = [r.url.params["start"] for r in recorded.requests]
    assert starts == ["2024-01-10T00:00:00Z", "2024-01-20T00:00:00Z", "2024-01-30T00:00:00Z"]


def test_a_null_value_inside_history_is_a_gap_error_not_a_guess() -> None:
    recorded = Recorded().on(f"{BASE}/history", ok("electricitymaps", "history_with_null.json"))
    with pytest.raises(ProviderPermanentError) as caught:
        provider(recorded).history(DE, NOW - timedelta(hours=23, minutes=10), NOW)
    assert "gap" in str(caught.value)
    assert "2024-02-29T22:00:00+00:00" in str(caught.value)


def test_forecast_starts_with_the_hour_holding_now_and_stops_at_the_horizon() -> None:
    recorded = Recorded().on(f"{BASE}/forecast", ok("electricitymaps", "forecast.json"))
    series = provider(recorded).forecast(DE, timedelta(hours=6))
    assert series.start == datetime(2024, 3, 1, 12, tzinfo=UTC)
    assert len(series) == 7  # 12:00 holds now (12:10); 18:00 starts before 18:10
    want = [
        p["carbonIntensity"] for p in fixture_json("electricitymaps", "forecast.json")["forecast"]
    ]
    assert list(series.values_g_per_kwh) == want[:7]


def test_a_field_missing_from_the_answer_names_the_field() -> None:
    recorded = Recorded().on(f"{BASE}/latest", ok("electricitymaps", "history_empty.json"))
    with pytest.raises(ProviderPermanentError, match="field 'datetime'"):
        provider(recorded).latest(DE)


def test_an_answer_for_another_zone_is_refused_not_used() -> None:
    recorded = Recorded().on(f"{BASE}/latest", ok("electricitymaps", "latest.json"))

    with pytest.raises(ProviderPermanentError, match="for zone 'DE'"):
        provider(recorded).latest(Zone("FR"))
