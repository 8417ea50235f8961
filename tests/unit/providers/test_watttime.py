from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from carbon_kube.domain.errors import ProviderPermanentError
from carbon_kube.domain.intensity import SignalKind
from carbon_kube.domain.zones import Zone
from carbon_kube.providers.watttime import (
    WattTimeProvider,
    WattTimeSettings,
    lbs_per_mwh_to_g_per_kwh,
)
from tests.http_fixtures import FAKE_SECRET, NOW, Recorded, Sleeps, clock, fixture_json, ok, status

CISO = Zone("US-CAL-CISO")


def provider(recorded: Recorded, **settings: object) -> WattTimeProvider:
    return WattTimeProvider(
        WattTimeSettings(username="ada", password=FAKE_SECRET, **settings),  # type: ignore[arg-type]
        http=recorded.client(),
        clock=clock(),
        sleep=Sleeps(),
    )


def logged_in() -> Recorded:
    return Recorded().on("/login", ok("watttime", "login.json"))


def test_one_lb_per_mwh_is_0_453592_g_per_kwh() -> None:
    assert lbs_per_mwh_to_g_per_kwh(1000.0) == pytest.approx(453.592)


def test_history_converts_moer_to_g_per_kwh_and_marks_it_marginal() -> None:
    recorded = logged_in().on("/v3/historical", ok("watttime", "historical.json"))
    series = provider(recorded).history(CISO, NOW - timedelta(hours=1), NOW)
    raw = [p["value"] for p in fixture_json("watttime", "historical.json")["data"]]
    assert series.signal is SignalKind.MARGINAL
    assert series.step == timedelta(minutes=5)
    assert len(series) == 12
    assert list(series.values_g_per_kwh) == pytest.approx([v * 0.453592 for v in raw[:12]])
    params = recorded.requests[1].url.params
    assert (params["region"], params["signal_type"]) == ("CAISO_NORTH", "co2_moer")


def test_login_uses_basic_auth_and_the_token_is_reused_as_a_bearer() -> None:
    recorded = logged_in().on("/v3/historical", ok("watttime", "historical.json"))
    wt = provider(recorded)
    wt.history(CISO, NOW - timedelta(hours=1), NOW)
    wt.latest(CISO)
    assert recorded.paths() == ["/login", "/v3/historical", "/v3/historical"]
    assert recorded.requests[0].headers["authorization"].startswith("Basic ")
    token = fixture_json("watttime", "login.json")["token"]
    assert recorded.requests[2].headers["authorization"] == f"Bearer {token}"


def test_an_expired_token_is_renewed_once_on_401() -> None:
    recorded = logged_in().on(
        "/v3/historical", status(401, "token expired"), ok("watttime", "historical.json")
    )
    provider(recorded).latest(CISO)
    assert recorded.paths() == ["/login", "/v3/historical", "/login", "/v3/historical"]


def test_latest_is_the_newest_historical_point() -> None:
    recorded = logged_in().on("/v3/historical", ok("watttime", "historical.json"))
    reading = provider(recorded).latest(CISO)
    raw = fixture_json("watttime", "historical.json")["data"][-1]
    assert reading.at == datetime(2024, 3, 1, 12, 10, tzinfo=UTC)
    assert reading.intensity_g_per_kwh == pytest.approx(raw["value"] * 0.453592)
    assert reading.signal is SignalKind.MARGINAL


def test_forecast_asks_for_whole_hours_and_keeps_the_horizon() -> None:
    recorded = logged_in().on("/v3/forecast", ok("watttime", "forecast.json"))
    series = provider(recorded).forecast(CISO, timedelta(minutes=90))
    assert recorded.requests[1].url.params["horizon_hours"] == "2"
    assert series.start == NOW
    assert len(series) == 18
    assert series.signal is SignalKind.MARGINAL


def test_units_other_than_lbs_per_mwh_are_refused_not_converted() -> None:
    recorded = logged_in().on("/v3/historical", ok("watttime", "historical_wrong_units.json"))
    with pytest.raises(ProviderPermanentError, match="refusing to convert"):
        provider(recorded).latest(CISO)


def test_a_zone_without_a_configured_region_names_the_option_that_maps_it() -> None:
    with pytest.raises(ProviderPermanentError, match="--watttime-region"):
        provider(logged_in()).latest(Zone("DE"))


def test_regions_can_be_configured_per_zone() -> None:
    recorded = logged_in().on("/v3/historical", ok("watttime", "historical.json"))
    wt = provider(recorded, regions={Zone("US-MIDA-PJM"): "PJM_DC"})
    wt.latest(Zone("US-MIDA-PJM"))
    assert recorded.requests[1].url.params["region"] == "PJM_DC"
