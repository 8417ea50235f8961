"""No model may use data after its origin: poisoning the future must not change a forecast."""

from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
import pytest

from carbon_kube.domain.forecasts import QuantileForecast
from carbon_kube.domain.intensity import IntensitySeries
from carbon_kube.domain.weather import WeatherSeries
from carbon_kube.forecasting import (
    BoostingConfig,
    Forecaster,
    GradientBoostingForecaster,
    PersistenceForecaster,
    SeasonalNaiveForecaster,
)
from carbon_kube.forecasting.features import build_features
from tests.builders import HOUR, T0, make_wind_driven

DAY = timedelta(days=1)
POISON_G_PER_KWH = 1e9
SMALL = BoostingConfig(
    n_estimators=15,
    min_train=timedelta(days=14),
    train_window=timedelta(days=30),
    origin_stride=timedelta(hours=12),
    max_horizon=timedelta(hours=24),
    num_threads=1,
    calibration_window=timedelta(days=5),
)


def poisoned(series: IntensitySeries, origin: datetime) -> IntensitySeries:
    values = series.values_g_per_kwh.copy()
    values[series.index_at(origin) :] = POISON_G_PER_KWH
    return IntensitySeries(series.zone, series.start, series.step, values)


def poisoned_weather(weather: WeatherSeries, origin: datetime) -> WeatherSeries:
    """Every value that was not yet known at the origin becomes absurd."""
    origin_s = int(origin.timestamp())
    unknown = weather.known_at_s > origin_s
    variables = {n: np.where(unknown, 1e6, v) for n, v in weather.variables.items()}
    return WeatherSeries(
        weather.location,
        weather.source,
        weather.kind,
        weather.start,
        weather.step,
        variables,
        weather.known_at_s,
    )


def assert_no_look_ahead(model: Forecaster, series, weather, origin, horizon) -> None:
    clean = model.forecast(series, origin, horizon, weather)
    dirty = model.forecast(
        poisoned(series, origin), origin, horizon, poisoned_weather(weather, origin)
    )
    for name in ("p10_g_per_kwh", "p50_g_per_kwh", "p90_g_per_kwh"):
        np.testing.assert_array_equal(getattr(clean, name), getattr(dirty, name), err_msg=name)


@dataclass(frozen=True)
class PeekingForecaster:
    """A deliberately broken model: it reads the actual value of each target hour."""

    name: str = "peeking"
    max_horizon: timedelta = timedelta(hours=24)

    def required_history(self, horizon: timedelta) -> timedelta:
        return DAY

    def forecast(self, history, origin, horizon, weather=None) -> QuantileForecast:
        future = history.between(origin, origin + horizon).values_g_per_kwh
        return QuantileForecast(history.zone, self.name, origin, HOUR, future, future, future)


@pytest.fixture(scope="module")
def data():
    return make_wind_driven(60)


@pytest.mark.parametrize(
    "model",
    [PersistenceForecaster(), SeasonalNaiveForecaster(), GradientBoostingForecaster(SMALL)],
    ids=lambda m: m.name,
)
def test_forecasts_do_not_change_when_the_future_is_poisoned(model, data):
    series, weather = data
    assert_no_look_ahead(model, series, weather, T0 + 50 * DAY + 7 * HOUR, 24 * HOUR)


def test_the_look_ahead_check_catches_a_model_that_peeks(data):
    series, weather = data
    with pytest.raises(AssertionError):
        assert_no_look_ahead(PeekingForecaster(), series, weather, T0 + 50 * DAY, 24 * HOUR)


def test_feature_rows_ignore_values_at_and_after_their_origin(data):
    series, weather = data
    y = series.values_g_per_kwh.copy()
    origin = 40 * 24
    args = (series.start_s, 3600, np.array([origin]), 24, weather, ("wind_speed_m_per_s",))
    clean = build_features(y, *args)
    y[origin:] = POISON_G_PER_KWH
    dirty = build_features(y, *args)
    np.testing.assert_array_equal(clean.matrix, dirty.matrix)


def test_weather_stamped_after_the_origin_never_reaches_a_feature(data):
    series, weather = data
    origin = 40 * 24
    rows = build_features(
        series.values_g_per_kwh,
        series.start_s,
        3600,
        np.array([origin]),
        48,
        weather,
        ("wind_speed_m_per_s",),
    )
    at_target = rows.matrix[:, rows.names.index("wx_wind_speed_m_per_s_target")]
    # Day-ahead weather (issued 24 h before its hour): known up to origin + 24 h, not after.
    assert np.all(np.isfinite(at_target[:25]))
    assert np.all(np.isnan(at_target[25:]))


def provider_for(series: IntensitySeries, seed: int = 5) -> IntensitySeries:
    """A noisy but informative day-ahead forecast of the series (like DACF's)."""
    noise = np.random.default_rng(seed).normal(1.0, 0.05, len(series))
    return IntensitySeries(series.zone, series.start, series.step, series.values_g_per_kwh * noise)


def poisoned_provider(provider: IntensitySeries, origin: datetime) -> IntensitySeries:
    """Provider values for UTC days that had not begun at the origin become absurd."""
    next_day = datetime(origin.year, origin.month, origin.day, tzinfo=origin.tzinfo) + DAY
    values = provider.values_g_per_kwh.copy()
    values[provider.index_at(next_day) :] = POISON_G_PER_KWH
    return IntensitySeries(provider.zone, provider.start, provider.step, values)


def test_the_provider_blend_ignores_provider_forecasts_not_issued_at_the_origin(data):
    series, weather = data
    origin = T0 + 50 * DAY + 7 * HOUR
    provider = provider_for(series)
    clean = GradientBoostingForecaster(SMALL, provider_forecasts=provider).forecast(
        series, origin, 24 * HOUR, weather
    )
    dirty = GradientBoostingForecaster(
        SMALL, provider_forecasts=poisoned_provider(provider, origin)
    ).forecast(poisoned(series, origin), origin, 24 * HOUR, poisoned_weather(weather, origin))
    for name in ("p10_g_per_kwh", "p50_g_per_kwh", "p90_g_per_kwh"):
        np.testing.assert_array_equal(getattr(clean, name), getattr(dirty, name), err_msg=name)


def test_the_provider_blend_does_use_the_forecast_of_the_current_day(data):
    """The poisoning above must be able to fail: today's provider values do reach p50."""
    series, weather = data
    origin = T0 + 50 * DAY + 7 * HOUR
    provider = provider_for(series)
    values = provider.values_g_per_kwh.copy()
    values[provider.index_at(origin) :] = POISON_G_PER_KWH
    spiked = IntensitySeries(provider.zone, provider.start, provider.step, values)
    model = GradientBoostingForecaster(SMALL, provider_forecasts=spiked)
    forecast = model.forecast(series, origin, 24 * HOUR, weather)
    assert forecast.p50_g_per_kwh[0] > 1e6  # 07:00 of the origin's own day: issued
    assert forecast.p50_g_per_kwh[-1] < 1e6  # 06:00 of the next day: not yet issued
