from dataclasses import replace
from datetime import timedelta

import numpy as np
import pytest

from carbon_kube.domain.errors import InputError
from carbon_kube.forecasting import (
    BoostingConfig,
    GradientBoostingForecaster,
    PersistenceForecaster,
    run_backtest,
)
from tests.builders import HOUR, T0, make_wind_driven

DAY = timedelta(days=1)
SMALL = BoostingConfig(
    n_estimators=40,
    min_train=timedelta(days=14),
    train_window=timedelta(days=40),
    origin_stride=timedelta(hours=6),
    max_horizon=timedelta(hours=24),
    num_threads=1,
    calibration_window=timedelta(days=7),
)


@pytest.fixture(scope="module")
def data():
    return make_wind_driven(75)


def test_the_learned_model_is_deterministic_given_a_seed(data):
    series, weather = data
    origin = T0 + 60 * DAY
    first = GradientBoostingForecaster(SMALL).forecast(series, origin, 24 * HOUR, weather)
    second = GradientBoostingForecaster(SMALL).forecast(series, origin, 24 * HOUR, weather)
    np.testing.assert_array_equal(first.p50_g_per_kwh, second.p50_g_per_kwh)
    np.testing.assert_array_equal(first.p90_g_per_kwh, second.p90_g_per_kwh)


def test_a_forecast_does_not_depend_on_what_was_asked_before(data):
    series, weather = data
    model = GradientBoostingForecaster(SMALL)
    origin = T0 + 60 * DAY
    model.forecast(series, T0 + 58 * DAY, 24 * HOUR, weather)
    warm = model.forecast(series, origin, 24 * HOUR, weather)
    cold = GradientBoostingForecaster(SMALL).forecast(series, origin, 24 * HOUR, weather)
    np.testing.assert_array_equal(warm.p50_g_per_kwh, cold.p50_g_per_kwh)


def test_without_weather_the_model_still_forecasts_and_says_so(data):
    series, _ = data
    forecast = GradientBoostingForecaster(SMALL).forecast(series, T0 + 60 * DAY, 24 * HOUR)
    assert any("no weather covariates" in note for note in forecast.notes)
    assert np.all(forecast.p10_g_per_kwh <= forecast.p90_g_per_kwh)


def test_day_ahead_weather_makes_the_learned_model_beat_persistence(data):
    series, weather = data
    result = run_backtest(
        series,
        [PersistenceForecaster(), GradientBoostingForecaster(SMALL)],
        start=T0 + 60 * DAY,
        end=T0 + 74 * DAY,
        horizon=24 * HOUR,
        weather=weather,
    )
    scores = {s.model: s.mape_pct for s in result.scores()}
    assert scores["lightgbm"] < 0.75 * scores["persistence"]


def test_the_learned_model_says_how_much_history_it_needs(data):
    series, weather = data
    with pytest.raises(InputError, match="needs at least 50 days"):
        GradientBoostingForecaster(SMALL).forecast(series, T0 + 30 * DAY, 24 * HOUR, weather)


def test_a_horizon_beyond_the_trained_one_is_refused(data):
    series, _ = data
    with pytest.raises(InputError, match="at most 24 h ahead"):
        GradientBoostingForecaster(replace(SMALL)).forecast(series, T0 + 60 * DAY, 48 * HOUR)


def test_medians_in_one_batch_equal_the_forecasts_origin_by_origin(data):
    series, _ = data
    config = replace(SMALL, bands=False, retrain_every=timedelta(days=7))
    origins = [T0 + 45 * DAY + 5 * HOUR, T0 + 50 * DAY, T0 + 60 * DAY + 13 * HOUR]
    batch = GradientBoostingForecaster(config)
    medians, notes = batch.forecast_medians(
        series, np.array([int(o.timestamp()) for o in origins]), 24 * HOUR
    )
    for row, origin in zip(medians, origins, strict=True):
        single = GradientBoostingForecaster(config).forecast(series, origin, 24 * HOUR)
        np.testing.assert_allclose(row, single.p50_g_per_kwh, rtol=1e-12)
    assert any("no weather covariates" in note for note in notes)
    assert len(batch.fit_cache) == 3


def test_batched_medians_refuse_an_origin_without_enough_history(data):
    series, _ = data
    model = GradientBoostingForecaster(replace(SMALL, bands=False))
    too_early = int((T0 + 10 * DAY).timestamp())
    with pytest.raises(ValueError, match="required history"):
        model.forecast_medians(series, np.array([too_early]), 24 * HOUR)


def test_without_bands_the_forecast_is_a_point_and_says_so(data):
    series, _ = data
    forecast = GradientBoostingForecaster(replace(SMALL, bands=False)).forecast(
        series, T0 + 60 * DAY, 24 * HOUR
    )
    np.testing.assert_array_equal(forecast.p10_g_per_kwh, forecast.p90_g_per_kwh)
    assert any("without bands" in note for note in forecast.notes)
