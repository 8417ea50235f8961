from datetime import timedelta

import numpy as np
import pytest

from carbon_kube.domain.errors import InputError
from carbon_kube.forecasting import (
    PersistenceForecaster,
    ProviderForecaster,
    SeasonalNaiveForecaster,
)
from tests.builders import HOUR, T0, make_daily_series, make_series

DAY = timedelta(days=1)


def test_persistence_forecasts_the_value_24_hours_before_each_target():
    series = make_daily_series(10)
    origin = T0 + 9 * DAY
    forecast = PersistenceForecaster().forecast(series, origin, 24 * HOUR)
    want = series.values_g_per_kwh[8 * 24 : 9 * 24]
    np.testing.assert_array_equal(forecast.p50_g_per_kwh, want)


def test_persistence_beyond_a_day_repeats_the_last_known_day():
    series = make_daily_series(12)
    origin = T0 + 11 * DAY
    forecast = PersistenceForecaster().forecast(series, origin, 72 * HOUR)
    last_day = series.values_g_per_kwh[10 * 24 : 11 * 24]
    np.testing.assert_array_equal(forecast.p50_g_per_kwh, np.tile(last_day, 3))


def test_seasonal_naive_averages_the_same_hour_of_the_last_four_weeks():
    series = make_daily_series(40)
    origin = T0 + 36 * DAY
    forecast = SeasonalNaiveForecaster(weeks=4).forecast(series, origin, 24 * HOUR)
    y = series.values_g_per_kwh
    first = 36 * 24
    want = np.mean([y[first - 168 * m : first - 168 * m + 24] for m in (1, 2, 3, 4)], axis=0)
    np.testing.assert_allclose(forecast.p50_g_per_kwh, want)


def test_quantiles_are_ordered_and_the_band_has_width():
    series = make_daily_series(40)
    forecast = SeasonalNaiveForecaster().forecast(series, T0 + 36 * DAY, 24 * HOUR)
    assert np.all(forecast.p10_g_per_kwh <= forecast.p50_g_per_kwh)
    assert np.all(forecast.p50_g_per_kwh <= forecast.p90_g_per_kwh)
    assert np.all(forecast.p90_g_per_kwh > forecast.p10_g_per_kwh)


def test_too_little_history_names_how_much_the_model_needs():
    series = make_daily_series(20)
    with pytest.raises(InputError, match=r"needs at least 35 days of DE history"):
        SeasonalNaiveForecaster().forecast(series, T0 + 20 * DAY, 24 * HOUR)


def test_a_horizon_beyond_what_the_model_supports_is_refused():
    series = make_daily_series(20)
    with pytest.raises(InputError, match="forecasts at most 72 h ahead, asked for 96 h"):
        PersistenceForecaster().forecast(series, T0 + 20 * DAY, 96 * HOUR)


def test_an_origin_off_the_data_grid_is_refused():
    series = make_daily_series(20)
    with pytest.raises(InputError, match="not on the data's 1 h grid"):
        PersistenceForecaster().forecast(series, T0 + 19 * DAY + timedelta(minutes=30), 24 * HOUR)


def test_provider_model_returns_the_sources_forecast_for_the_target_hours():
    series = make_daily_series(20)
    published = make_series([float(v) for v in range(20 * 24)])
    forecast = ProviderForecaster(published).forecast(series, T0 + 10 * DAY, 24 * HOUR)
    np.testing.assert_array_equal(forecast.p50_g_per_kwh, np.arange(240, 264, dtype=float))


def test_provider_model_caps_the_horizon_at_its_lead():
    series = make_daily_series(20)
    published = make_series([1.0] * (20 * 24))
    with pytest.raises(InputError, match="at most 24 h ahead"):
        ProviderForecaster(published).forecast(series, T0 + 10 * DAY, 48 * HOUR)


def test_provider_model_without_past_errors_says_its_band_is_degenerate():
    series = make_daily_series(3)
    published = make_series([300.0] * (4 * 24), start=T0 + DAY)
    forecast = ProviderForecaster(published).forecast(series, T0 + DAY, 24 * HOUR)
    assert forecast.notes
    assert "p10/p90 equal the point" in forecast.notes[0]


def test_provider_model_never_reads_a_day_ahead_forecast_before_its_day_begins():
    series = make_daily_series(20)
    published = make_series([float(v) for v in range(20 * 24)])
    origin = T0 + 10 * DAY + 10 * HOUR
    forecast = ProviderForecaster(published).forecast(series, origin, 24 * HOUR)
    # 10:00-23:00 today come from today's forecast; 00:00-09:00 tomorrow are not issued yet
    # at 10:00, so they repeat today's forecast for the same hours (240..249).
    want = np.concatenate([np.arange(250, 264), np.arange(240, 250)]).astype(float)
    np.testing.assert_array_equal(forecast.p50_g_per_kwh, want)
    assert any("10 hours after the issued day repeat" in note for note in forecast.notes)
