from datetime import timedelta

import numpy as np
import pytest

from carbon_kube.forecasting import BoostingConfig, GradientBoostingForecaster, run_backtest
from carbon_kube.forecasting.calibration import (
    EQUAL_WEIGHT,
    blend_weights,
    corrected_central,
    issued_values,
    residual_band,
)
from tests.builders import HOUR, T0, make_series, make_wind_driven

DAY = timedelta(days=1)
SMALL = BoostingConfig(
    n_estimators=40,
    min_train=timedelta(days=14),
    train_window=timedelta(days=40),
    origin_stride=timedelta(hours=6),
    max_horizon=timedelta(hours=24),
    num_threads=1,
    calibration_window=timedelta(days=14),
    retrain_every=timedelta(days=7),
)


def test_residual_bands_cover_about_eighty_percent_of_draws_from_the_same_errors():
    rng = np.random.default_rng(1)
    residual_ratio = rng.normal(0.0, 0.1, (400, 6))
    p50 = np.full(6, 100.0)
    p10, p90 = residual_band(p50, 100.0, residual_ratio)
    fresh = 100.0 + 100.0 * rng.normal(0.0, 0.1, (4000, 6))
    covered = np.mean((fresh >= p10) & (fresh <= p90))
    assert 0.77 < covered < 0.83


def test_a_provider_value_is_usable_only_once_its_utc_day_has_begun():
    provider = make_series([100.0 + i for i in range(72)])
    origin_s = int((T0 + DAY + 5 * HOUR).timestamp())
    targets = origin_s + 3600 * np.arange(30, dtype=np.int64)
    values = issued_values(provider, targets, np.int64(origin_s))
    # Targets 05:00..23:00 of day 1 are issued (19 hours); day 2 is not yet.
    assert np.all(np.isfinite(values[:19]))
    assert np.all(np.isnan(values[19:]))
    assert values[0] == 100.0 + 29


def test_the_blend_learns_to_trust_the_better_forecast():
    rng = np.random.default_rng(2)
    actual = rng.uniform(100, 200, (30, 4))
    good = actual * rng.normal(1.0, 0.01, actual.shape)
    bad = actual * rng.normal(1.0, 0.3, actual.shape)
    weights, learned = blend_weights(bad, good, actual)
    assert learned
    assert np.all(weights >= 0.9)
    weights, _ = blend_weights(good, bad, actual)
    assert np.all(weights <= 0.1)


def test_without_a_week_of_provider_history_the_blend_uses_equal_weights():
    actual = np.full((30, 4), 100.0)
    provider = np.full((30, 4), np.nan)
    provider[:3] = 100.0
    weights, learned = blend_weights(actual, provider, actual)
    assert not learned
    assert np.all(weights == EQUAL_WEIGHT)


def test_the_learned_models_band_is_calibrated_out_of_sample():
    series, weather = make_wind_driven(110)
    result = run_backtest(
        series,
        [GradientBoostingForecaster(SMALL)],
        start=T0 + 64 * DAY,
        end=T0 + 108 * DAY,
        horizon=24 * HOUR,
        weather=weather,
    )
    coverage = result.score("lightgbm").coverage_p10_p90
    assert 0.65 < coverage < 0.95


def test_a_band_learned_on_drifting_errors_is_widened_by_the_shortfall_it_shows_on_itself():
    rng = np.random.default_rng(7)
    steady = rng.normal(0.0, 0.1, (28, 24))
    growing = rng.normal(0.0, 1.0, (28, 24)) * np.linspace(0.05, 0.2, 28)[:, None]
    assert corrected_central(steady[:14], steady[14:]) == pytest.approx(0.8, abs=0.05)
    assert corrected_central(growing[:14], growing[14:]) > 0.85
    widened = corrected_central(growing[:14], growing[14:])
    p50 = np.full(24, 100.0)
    narrow_low, narrow_high = residual_band(p50, 100.0, growing[14:])
    wide_low, wide_high = residual_band(p50, 100.0, growing[14:], widened)
    assert np.all(wide_high - wide_low > narrow_high - narrow_low)


def test_a_band_whose_errors_shrink_is_narrowed_by_the_excess_it_shows_on_itself():
    rng = np.random.default_rng(7)
    shrinking = rng.normal(0.0, 1.0, (28, 24)) * np.linspace(0.2, 0.05, 28)[:, None]
    assert corrected_central(shrinking[:14], shrinking[14:]) < 0.75


def test_without_earlier_rows_the_window_is_split_in_time_and_too_few_rows_change_nothing():
    rng = np.random.default_rng(7)
    growing = rng.normal(0.0, 1.0, (28, 24)) * np.linspace(0.05, 0.2, 28)[:, None]
    none_before = np.empty((0, 24))
    assert corrected_central(none_before, growing) > 0.85
    assert corrected_central(none_before, np.zeros((10, 24))) == 0.8
