import json
from datetime import UTC, date, datetime, timedelta

import httpx
import numpy as np
import pytest

from carbon_kube.domain.clock import FixedClock
from carbon_kube.domain.errors import ProviderPermanentError, ProviderTemporaryError
from carbon_kube.domain.weather import WeatherKind
from carbon_kube.providers.http import RetryPolicy
from carbon_kube.providers.weather_noaa import NoaaWeatherProvider
from carbon_kube.providers.weather_openmeteo import OpenMeteoWeatherProvider
from carbon_kube.providers.weather_points import weather_point
from tests.builders import hourly_weather
from tests.openmeteo_server import OpenMeteoServer
from tests.paths import FIXTURES_DIR
from tests.provider_server import serving

FIXTURES = FIXTURES_DIR / "weather"
NOW = datetime(2024, 6, 1, 9, 45, tzinfo=UTC)
PJM = weather_point("US-MIDA-PJM")


def fixture(name: str) -> dict:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def client(handler) -> httpx.Client:
    return httpx.Client(transport=httpx.MockTransport(handler))


def no_wait_provider(handler) -> OpenMeteoWeatherProvider:
    return OpenMeteoWeatherProvider(
        http=client(handler), clock=FixedClock(NOW), sleep=lambda _: None
    )


def test_open_meteo_forecast_is_parsed_into_utc_hours_with_units_in_names():
    seen = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=fixture("openmeteo_forecast.json"))

    weather = OpenMeteoWeatherProvider(http=client(handler), clock=FixedClock(NOW)).forecast(PJM)
    assert seen[0].url.params["timezone"] == "GMT"
    assert weather.start == datetime(2024, 6, 1, tzinfo=UTC)
    assert weather.kind is WeatherKind.FORECAST
    assert set(weather.names) >= {"temperature_c", "wind_speed_km_per_h", "cloud_cover_pct"}
    temperature = weather.variables["temperature_c"]
    assert temperature[0] == 21.5
    assert np.isnan(temperature[2])  # null in the answer is missing, not zero


def test_open_meteo_forecast_is_known_only_from_when_it_was_fetched():
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=fixture("openmeteo_forecast.json"))

    weather = OpenMeteoWeatherProvider(http=client(handler), clock=FixedClock(NOW)).forecast(PJM)
    times = np.array([int(weather.start.timestamp())], dtype=np.int64)
    before = weather.at_times(times, NOW - timedelta(hours=1))
    after = weather.at_times(times, NOW)
    assert np.isnan(before["temperature_c"][0])
    assert after["temperature_c"][0] == 21.5


def test_open_meteo_history_is_observed_weather_from_the_archive():
    def handler(request: httpx.Request) -> httpx.Response:
        assert request.url.host == "archive-api.open-meteo.com"
        assert request.url.params["start_date"] == "2024-06-01"
        return httpx.Response(200, json=fixture("openmeteo_forecast.json"))

    provider = OpenMeteoWeatherProvider(http=client(handler), clock=FixedClock(NOW))
    weather = provider.history(PJM, date(2024, 6, 1), date(2024, 6, 1))
    assert weather.kind is WeatherKind.OBSERVED


@pytest.mark.parametrize(
    ("status", "error"),
    [(500, ProviderTemporaryError), (429, ProviderTemporaryError), (400, ProviderPermanentError)],
)
def test_open_meteo_http_errors_are_typed_for_the_fallback_chain(status, error):
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, json={"error": True, "reason": "bad latitude"})

    with pytest.raises(error):
        no_wait_provider(handler).forecast(PJM)


def test_open_meteo_timeout_is_a_temporary_error():
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow", request=request)

    with pytest.raises(ProviderTemporaryError, match="timed out"):
        no_wait_provider(handler).forecast(PJM)


def noaa_handler(request: httpx.Request) -> httpx.Response:
    if request.url.path.startswith("/points/"):
        return httpx.Response(200, json=fixture("noaa_points.json"))
    if request.url.path == "/gridpoints/PHI/49,75":
        return httpx.Response(200, json=fixture("noaa_gridpoints.json"))
    return httpx.Response(404, json={"title": "Not Found"})


def test_noaa_gridpoint_intervals_are_spread_onto_utc_hours():
    weather = NoaaWeatherProvider(http=client(noaa_handler), clock=FixedClock(NOW)).forecast(PJM)
    assert weather.start == datetime(2024, 6, 1, 10, tzinfo=UTC)
    np.testing.assert_array_equal(weather.variables["temperature_c"], [18.0, 18.0, 20.5, 22.0])
    np.testing.assert_array_equal(weather.variables["wind_speed_km_per_h"], [11.1] * 4)
    cloud = weather.variables["cloud_cover_pct"]
    assert list(cloud[:3]) == [40, 40, 40]
    assert np.isnan(cloud[3])


def test_noaa_forecast_is_known_from_its_update_time():
    weather = NoaaWeatherProvider(http=client(noaa_handler), clock=FixedClock(NOW)).forecast(PJM)
    assert set(weather.known_at_s) == {int(datetime(2024, 6, 1, 9, 41, tzinfo=UTC).timestamp())}


def test_noaa_outside_the_us_says_to_use_open_meteo():
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(404, json={"title": "Data Unavailable For Requested Point"})

    provider = NoaaWeatherProvider(http=client(handler), clock=FixedClock(NOW))
    with pytest.raises(ProviderPermanentError, match="United States only, use open-meteo"):
        provider.forecast(weather_point("DE"))


# The poller's weather: ``observed`` over the loopback Open-Meteo APIs (real HTTP).


LOOPBACK_NOW = datetime(2024, 6, 20, 9, 30, tzinfo=UTC)


def loopback_provider(server: OpenMeteoServer) -> OpenMeteoWeatherProvider:
    return server.client(FixedClock(LOOPBACK_NOW))


@pytest.mark.loopback
def test_observed_weather_takes_old_days_from_the_archive_and_recent_ones_from_the_forecast_api():
    truth = hourly_weather(datetime(2024, 3, 1, tzinfo=UTC), 120)
    with serving(OpenMeteoServer(now=lambda: LOOPBACK_NOW, truth=truth)) as server:
        start = LOOPBACK_NOW - timedelta(days=40)
        weather = loopback_provider(server).observed(PJM, start, LOOPBACK_NOW)

    assert server.requests == [
        ("/v1/archive", "2024-05-11", "2024-06-13"),
        ("/v1/forecast", "2024-06-14", "2024-06-20"),
    ]
    assert weather.kind is WeatherKind.OBSERVED
    assert weather.start == datetime(2024, 5, 11, tzinfo=UTC)
    # Nothing after now passes as observed: the forecast API's hours from 09:00 on are cut.
    assert weather.start + len(weather) * timedelta(hours=1) == datetime(2024, 6, 20, 9, tzinfo=UTC)
    offset = int((weather.start - truth.start) / timedelta(hours=1))
    expected = truth.variables["temperature_c"][offset : offset + len(weather)]
    np.testing.assert_allclose(weather.variables["temperature_c"], expected, atol=0.01)


@pytest.mark.loopback
def test_observed_weather_of_the_last_days_is_one_request_to_the_forecast_api():
    truth = hourly_weather(datetime(2024, 6, 1, tzinfo=UTC), 30)
    with serving(OpenMeteoServer(now=lambda: LOOPBACK_NOW, truth=truth)) as server:
        weather = loopback_provider(server).observed(
            PJM, LOOPBACK_NOW - timedelta(days=3), LOOPBACK_NOW
        )

    assert [path for path, _, _ in server.requests] == ["/v1/forecast"]
    assert weather.start == datetime(2024, 6, 17, tzinfo=UTC)


@pytest.mark.loopback
@pytest.mark.parametrize(
    ("fault", "error"),
    [
        ("down", ProviderTemporaryError),
        ("rate-limited", ProviderTemporaryError),
        ("garbage", ProviderPermanentError),
        ("truncated", ProviderPermanentError),
    ],
)
def test_observed_weather_failures_are_typed_for_the_caller(fault, error):
    truth = hourly_weather(datetime(2024, 6, 1, tzinfo=UTC), 30)
    server = OpenMeteoServer(now=lambda: LOOPBACK_NOW, truth=truth, fault=fault)
    with serving(server), pytest.raises(error):
        loopback_provider(server).observed(PJM, LOOPBACK_NOW - timedelta(days=2), LOOPBACK_NOW)
    if fault in ("down", "rate-limited"):  # retried like the carbon providers, then given up
        assert len(server.requests) == RetryPolicy().attempts


@pytest.mark.loopback
def test_a_range_the_api_refuses_is_a_permanent_error_quoting_its_reason():
    truth = hourly_weather(datetime(2024, 6, 1, tzinfo=UTC), 30)
    # The server's "now" is days behind ours: our recent days are its future beyond 16 days.
    behind = OpenMeteoServer(now=lambda: LOOPBACK_NOW - timedelta(days=30), truth=truth)
    with serving(behind), pytest.raises(ProviderPermanentError, match="out of allowed range"):
        loopback_provider(behind).observed(PJM, LOOPBACK_NOW - timedelta(days=2), LOOPBACK_NOW)
