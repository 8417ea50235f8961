"""DACF's published day-ahead MAPE, reproduced with our metric from their files."""

from datetime import UTC, datetime

import numpy as np
import pytest

from carbon_kube.domain.weather import WeatherKind
from carbon_kube.forecasting.metrics import mape_pct
from carbon_kube.providers.dacf import read_dacf_forecast, read_dacf_intensity, read_dacf_weather
from carbon_kube.providers.weather_openmeteo import read_openmeteo_folder

pytestmark = pytest.mark.shared_data

# e-Energy'22, Table 4, "Mean" day-ahead MAPE (%).
PUBLISHED_MAPE_PCT = {"CISO": 7.41, "PJM": 3.30, "ERCO": 8.05, "ISNE": 4.44, "SE": 6.47, "DE": 9.08}


@pytest.mark.parametrize(("region", "want_mape_pct"), PUBLISHED_MAPE_PCT.items())
def test_our_mape_reproduces_dacfs_published_figure(shared_data, region, want_mape_pct):
    path = (
        shared_data
        / "dacf-carbon-forecasts-2020-2021"
        / (f"{region}_carbon_from_src_prod_forecasts_direct.csv.gz")
    )
    (actual,) = read_dacf_intensity(path).values()
    forecast = read_dacf_forecast(path)
    assert forecast.start == actual.start == datetime(2021, 7, 1, tzinfo=UTC)
    got = mape_pct(actual.values_g_per_kwh, forecast.values_g_per_kwh)
    assert round(got, 2) == want_mape_pct


def test_gfs_weather_is_a_day_ahead_forecast_and_all_zero_rows_are_missing(shared_data):
    weather = read_dacf_weather(
        shared_data / "dacf-carbon-forecasts-2020-2021" / "PJM_direct_emissions.csv.gz"
    )
    assert weather.kind is WeatherKind.FORECAST
    temperature = weather.variables["temperature_c"]
    assert np.all(np.isnan(temperature[-23:]))
    assert np.nanmin(temperature) > -30
    assert np.nanmax(temperature) < 45


def test_offline_open_meteo_files_are_shifted_to_utc(shared_data):
    weather = read_openmeteo_folder(shared_data / "openmeteo-weather-hourly", "US-MIDA-PJM")
    # The PJM files are labelled in UTC-4, so local midnight 2020-01-01 is 04:00 UTC.
    assert weather.start == datetime(2020, 1, 1, 4, tzinfo=UTC)
    assert weather.kind is WeatherKind.OBSERVED
    assert len(weather) > 5 * 8700
