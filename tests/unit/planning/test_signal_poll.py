from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from carbon_kube.domain.clock import FixedClock
from carbon_kube.domain.zones import Zone
from carbon_kube.planning.signal_poll import PollModel, poll_zone
from carbon_kube.providers.fallback import FallbackProvider
from carbon_kube.providers.forecast_archive import ForecastArchive
from carbon_kube.providers.published import ZoneSignal, decode, encode
from carbon_kube.providers.recent_weather import RecentWeather
from tests.builders import HOUR, T0, hourly_weather, make_daily_series, make_series
from tests.openmeteo_server import OpenMeteoServer
from tests.provider_server import serving
from tests.unit.planning.test_planning_service import LiveLikeSource

DE = Zone("DE")
NOW = T0 + 10 * 24 * HOUR


def test_a_poll_publishes_the_history_and_the_providers_forecast() -> None:
    clock = FixedClock(NOW)
    history = make_daily_series(10)
    forecast = make_series([111.0] * 72, start=NOW)
    source = FallbackProvider([LiveLikeSource(clock, history, forecast)], clock=clock)

    signal = poll_zone(source, DE, NOW, history=timedelta(hours=48), horizon=timedelta(hours=72))

    assert (signal.source, signal.model, signal.stale) == ("live", "provider", False)
    assert signal.history.end == NOW
    assert len(signal.history) == 48
    assert signal.forecast is not None
    assert set(signal.forecast.p50_g_per_kwh) == {111.0}


def test_without_a_provider_forecast_the_most_capable_baseline_stands_in() -> None:
    short = LiveLikeSource(FixedClock(NOW), make_daily_series(10), None)
    long_now = T0 + 40 * 24 * HOUR
    long = LiveLikeSource(FixedClock(long_now), make_daily_series(40), None)

    ten_days = poll_zone(short, DE, NOW, history=timedelta(hours=48), horizon=timedelta(hours=24))
    forty_days = poll_zone(
        long, DE, long_now, history=timedelta(hours=48), horizon=timedelta(hours=24)
    )

    assert ten_days.model == "persistence"
    assert forty_days.model == "seasonal-naive"
    assert len(forty_days.history) == 48  # only the recent history is published
    assert ten_days.error is not None
    assert "no provider forecast" in ten_days.error


def test_with_too_little_history_for_any_baseline_no_forecast_is_published() -> None:
    clock = FixedClock(T0 + 3 * 24 * HOUR)
    source = LiveLikeSource(clock, make_daily_series(3), None)

    signal = poll_zone(
        source, DE, clock.now(), history=timedelta(hours=48), horizon=timedelta(hours=24)
    )

    assert signal.forecast is None
    assert signal.model == "none"
    assert signal.error is not None
    assert "no baseline either" in signal.error


def test_a_baseline_is_refitted_hourly_not_at_every_poll() -> None:
    clock = FixedClock(NOW)
    source = LiveLikeSource(clock, make_daily_series(12), None)
    first = poll_zone(source, DE, NOW, history=timedelta(hours=48), horizon=timedelta(hours=24))

    later = NOW + timedelta(minutes=5)
    clock.advance(timedelta(minutes=5))
    again = poll_zone(
        source, DE, later, history=timedelta(hours=48), horizon=timedelta(hours=24), previous=first
    )
    an_hour_on = NOW + timedelta(hours=1)
    clock.advance(timedelta(minutes=55))
    refit = poll_zone(
        source,
        DE,
        an_hour_on,
        history=timedelta(hours=48),
        horizon=timedelta(hours=24),
        previous=again,
    )

    assert again.forecast is first.forecast
    assert again.fitted_at == NOW
    assert refit.fitted_at == an_hour_on


def test_auto_publishes_the_backtest_winner_and_its_score() -> None:
    now = T0 + 50 * 24 * HOUR  # too short for the learned model's 85 days: two baselines
    source = LiveLikeSource(FixedClock(now), make_daily_series(50), None)

    signal = poll_zone(
        source, DE, now, history=timedelta(hours=48), horizon=timedelta(hours=24), model="auto"
    )

    assert signal.model in ("seasonal-naive", "persistence")
    assert signal.backtest_oracle_fraction is not None
    assert 0.0 < signal.backtest_oracle_fraction <= 1.0
    assert signal.forecast is not None
    assert any("oracle fraction" in note for note in signal.forecast.notes)


def test_with_an_archive_the_published_model_gets_its_day_ahead_error(tmp_path: Path) -> None:
    archive = ForecastArchive(tmp_path / "archive.sqlite")
    history = make_daily_series(12)
    first_at = T0 + 10 * 24 * HOUR
    clock = FixedClock(first_at)
    source = LiveLikeSource(clock, history, None)
    first = poll_zone(
        source, DE, first_at, history=timedelta(hours=48), horizon=timedelta(hours=48),
        model="persistence", archive=archive,
    )  # fmt: skip
    clock.advance(timedelta(days=2))  # the hours of the last day were forecast 24-48 h ahead
    later = poll_zone(
        source, DE, clock.now(), history=timedelta(hours=48), horizon=timedelta(hours=48),
        model="persistence", archive=archive,
    )  # fmt: skip

    assert first.online_mape_pct is None  # no forecast a day old yet
    assert first.baseline_online_mape_pct is not None
    assert later.online_mape_pct is not None
    assert later.online_mape_pct > 0


def test_the_learned_model_blends_in_every_hour_of_the_live_forecast_and_says_so(
    tmp_path: Path,
) -> None:
    # 15:00 UTC: a live forecast is known for tomorrow's hours too (not only today's, the
    # rule for a day-ahead archive).
    now = T0 + 100 * 24 * HOUR + 15 * HOUR
    history = make_daily_series(101)
    clock = FixedClock(now)
    # A provider that says every hour of today is 50 g/kWh cleaner than the usual day.
    provider = make_series([220.0] * 72, start=now)
    with_provider = LiveLikeSource(clock, history, provider)
    without = LiveLikeSource(clock, history, None)

    blended = poll_zone(
        with_provider, DE, now, history=timedelta(hours=48), horizon=timedelta(hours=24),
        model="lightgbm", archive=ForecastArchive(tmp_path / "archive.sqlite"),
    )  # fmt: skip
    alone = poll_zone(
        without, DE, now, history=timedelta(hours=48), horizon=timedelta(hours=24),
        model="lightgbm",
    )  # fmt: skip

    assert (blended.model, alone.model) == ("lightgbm", "lightgbm")
    assert blended.forecast is not None
    assert alone.forecast is not None
    assert any("blended with equal weights" in note for note in blended.forecast.notes)
    assert not any("blended" in note for note in alone.forecast.notes)
    # Equal weights: half way between the model's median and the provider's 220 g/kWh.
    expected = (alone.forecast.p50_g_per_kwh + 220.0) / 2
    assert blended.forecast.p50_g_per_kwh == pytest.approx(expected, rel=1e-6)


def test_with_weeks_of_archived_provider_forecasts_the_blend_weight_is_learned(
    tmp_path: Path,
) -> None:
    now = T0 + 100 * 24 * HOUR
    history = make_daily_series(100)
    archive = ForecastArchive(tmp_path / "archive.sqlite")
    for days_ago in range(60, 0, -1):  # a provider that was always right, issued a day ahead
        day = now - days_ago * 24 * HOUR
        archive.add("provider", history.between(day, day + 24 * HOUR), day - 24 * HOUR)
    source = LiveLikeSource(FixedClock(now), history, make_series([220.0] * 72, start=now))

    signal = poll_zone(
        source, DE, now, history=timedelta(hours=48), horizon=timedelta(hours=24),
        model="lightgbm", archive=archive,
    )  # fmt: skip

    assert signal.forecast is not None
    assert any("fitted (min MAPE)" in note for note in signal.forecast.notes)
    # A provider that was never wrong earns (nearly) all the weight.
    assert signal.forecast.p50_g_per_kwh == pytest.approx(220.0, rel=0.02)


def test_a_stale_provider_forecast_from_the_cache_is_not_blended_in() -> None:
    now = T0 + 100 * 24 * HOUR
    clock = FixedClock(now)
    stale = dataclasses.replace(make_series([220.0] * 72, start=now), stale=True)
    source = LiveLikeSource(clock, make_daily_series(100), stale)

    signal = poll_zone(
        source, DE, now, history=timedelta(hours=48), horizon=timedelta(hours=24),
        model="lightgbm",
    )  # fmt: skip

    assert signal.forecast is not None
    assert not any("blended" in note for note in signal.forecast.notes)


# The weather tests: 100 days of history, day-ahead, the Open-Meteo APIs on loopback.
WEATHER_NOW = T0 + 100 * 24 * HOUR


def weather_source(clock: FixedClock) -> LiveLikeSource:
    return LiveLikeSource(clock, make_daily_series(100), None)


def poll_day_ahead(
    source: LiveLikeSource, now: datetime, model: PollModel = "lightgbm", **options: Any
) -> ZoneSignal:
    return poll_zone(
        source, DE, now, history=timedelta(hours=48), horizon=timedelta(hours=24), model=model,
        **options,
    )  # fmt: skip


@pytest.mark.loopback
def test_the_learned_model_trains_on_the_zones_observed_weather_and_the_signal_names_it() -> None:
    now = WEATHER_NOW
    clock = FixedClock(now)
    source = weather_source(clock)
    truth = hourly_weather(T0 - 24 * HOUR, 102)
    with serving(OpenMeteoServer(now=clock.now, truth=truth)) as server:
        weather = RecentWeather(server.client(clock))
        baseline = poll_day_ahead(source, now, "seasonal-naive", weather=weather)
        asked_for_the_baseline = list(server.requests)
        with_weather = poll_day_ahead(source, now, weather=weather)
    without = poll_day_ahead(source, now)

    assert (with_weather.weather, without.weather, baseline.weather) == (
        "open-meteo observed",
        None,
        None,
    )
    assert with_weather.forecast is not None
    assert without.forecast is not None
    assert any("only values up to the origin" in n for n in with_weather.forecast.notes)
    assert with_weather.forecast.p50_g_per_kwh.tolist() != without.forecast.p50_g_per_kwh.tolist()
    # One fetch (archive + recent days), for the learned model only.
    assert asked_for_the_baseline == []
    assert [path for path, _, _ in server.requests] == ["/v1/archive", "/v1/forecast"]
    assert decode(encode(with_weather)).weather == "open-meteo observed"


@pytest.mark.loopback
def test_a_failing_weather_api_leaves_a_forecast_without_weather_and_a_note() -> None:
    now = WEATHER_NOW
    clock = FixedClock(now)
    source = weather_source(clock)
    truth = hourly_weather(T0 - 24 * HOUR, 102)
    with serving(OpenMeteoServer(now=clock.now, truth=truth, fault="down")) as server:
        weather = RecentWeather(server.client(clock))
        signal = poll_day_ahead(source, now, weather=weather)

    assert signal.model == "lightgbm"
    assert signal.weather is None
    assert signal.error is not None
    assert "trained without weather" in signal.error


@pytest.mark.loopback
def test_weather_that_stops_before_the_history_ends_is_not_trained_on() -> None:
    now = WEATHER_NOW
    clock = FixedClock(now)
    source = weather_source(clock)
    # The weather API's data end a day before the carbon history does.
    truth = hourly_weather(T0 - 24 * HOUR, 100)
    with serving(OpenMeteoServer(now=clock.now, truth=truth)) as server:
        signal = poll_day_ahead(source, now, weather=RecentWeather(server.client(clock)))

    assert signal.model == "lightgbm"
    assert signal.weather is None
    assert signal.error is not None
    assert "stops before" in signal.error


@pytest.mark.loopback
def test_why_a_fit_has_no_weather_is_said_again_while_the_fit_is_reused() -> None:
    now = WEATHER_NOW
    clock = FixedClock(now)
    source = weather_source(clock)
    truth = hourly_weather(T0 - 24 * HOUR, 102)
    with serving(OpenMeteoServer(now=clock.now, truth=truth, fault="down")) as server:
        weather = RecentWeather(server.client(clock))
        first = poll_day_ahead(source, now, weather=weather)
        clock.advance(timedelta(minutes=5))
        again = poll_day_ahead(source, clock.now(), weather=weather, previous=decode(encode(first)))

    assert again.fitted_at == first.fitted_at  # reused, not refitted
    assert again.error is not None
    assert "trained without weather" in again.error


def test_the_learned_model_runs_although_the_api_has_not_published_the_newest_hour() -> None:
    now = T0 + 88 * 24 * HOUR
    # 88 days ending an hour before now, as a live API publishes; lightgbm needs 87 for 72 h.
    lagging = make_daily_series(88).between(T0, now - HOUR)
    source = LiveLikeSource(FixedClock(now), lagging, None)

    signal = poll_zone(
        source, DE, now, history=timedelta(hours=48), horizon=timedelta(hours=72),
        model="lightgbm",
    )  # fmt: skip

    assert signal.model == "lightgbm"
