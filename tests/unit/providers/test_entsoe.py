from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import numpy as np
import pytest

from carbon_kube.domain.clock import FixedClock
from carbon_kube.domain.errors import InputError, ProviderPermanentError
from carbon_kube.domain.intensity import IntensitySeries
from carbon_kube.domain.zones import Zone
from carbon_kube.providers.base import ForecastUnsupportedError
from carbon_kube.providers.construction import (
    Credentials,
    SourceKind,
    SourceSettings,
    build_provider,
)
from carbon_kube.providers.entsoe import AREAS, EntsoeProvider, fill_short_gaps
from carbon_kube.providers.http import ProviderAuthError
from carbon_kube.providers.points import series_from_points
from tests.entsoe_server import TOKEN, EntsoeServer
from tests.http_fixtures import FAKE_SECRET, FIXTURES, Recorded, Sleeps, clock, ok, status
from tests.provider_server import serving

DE = Zone("DE")
NINE = datetime(2024, 3, 1, 9, tzinfo=UTC)
HOUR = timedelta(hours=1)


def provider(recorded: Recorded) -> EntsoeProvider:
    return EntsoeProvider(token=FAKE_SECRET, http=recorded.client(), clock=clock(), sleep=Sleeps())


def fixture_with(old: str, new: str) -> httpx.Response:
    text = (FIXTURES / "entsoe" / "a75_de.xml").read_text("utf-8")
    assert old in text
    return httpx.Response(200, text=text.replace(old, new, 1))


def test_history_is_the_generation_weighted_lifecycle_factor_of_complete_hours() -> None:
    recorded = Recorded().on("/api", ok("entsoe", "a75_de.xml"))

    series = provider(recorded).history(DE, NINE, NINE + 3 * HOUR)

    # 09:00: gas 1000 MWh (490 g/kWh), wind 3000 MWh (11): pumped storage left out.
    # 10:00: gas quarters 2000, 2000, 4000, 4000 -> 3000 MWh; wind held at 1000 MW (curve A03).
    # 11:00: gas has two of its four quarters: not published yet, left off.
    assert series.start == NINE
    assert series.step == HOUR
    assert list(series.values_g_per_kwh) == pytest.approx(
        [(1000 * 490 + 3000 * 11) / 4000, (3000 * 490 + 1000 * 11) / 4000]
    )


def test_the_request_asks_for_actual_generation_of_the_zones_area_in_utc_minutes() -> None:
    recorded = Recorded().on("/api", ok("entsoe", "a75_de.xml"))

    provider(recorded).history(DE, NINE + timedelta(minutes=20), NINE + timedelta(minutes=150))

    params = dict(recorded.requests[0].url.params)
    assert params == {
        "securityToken": FAKE_SECRET,
        "documentType": "A75",
        "processType": "A16",
        "in_Domain": AREAS[DE],
        "periodStart": "202403010900",
        "periodEnd": "202403011200",
    }


def test_latest_is_the_newest_complete_hour() -> None:
    recorded = Recorded().on("/api", ok("entsoe", "a75_de.xml"))

    reading = provider(recorded).latest(DE)

    assert reading.at == NINE + HOUR
    assert reading.intensity_g_per_kwh == pytest.approx(370.25)
    assert reading.provider == "entsoe"


def test_no_matching_data_is_an_empty_answer_not_a_series() -> None:
    recorded = Recorded().on("/api", ok("entsoe", "acknowledgement_no_data.xml"))

    with pytest.raises(ProviderPermanentError, match="no history returned"):
        provider(recorded).history(DE, NINE, NINE + 3 * HOUR)


def test_no_matching_data_with_http_400_as_older_servers_send_it_is_empty_too() -> None:
    body = (FIXTURES / "entsoe" / "acknowledgement_no_data.xml").read_text("utf-8")
    recorded = Recorded().on("/api", status(400, body))

    with pytest.raises(ProviderPermanentError, match="no history returned"):
        provider(recorded).history(DE, NINE, NINE + 3 * HOUR)


def test_a_refused_request_quotes_entsoes_reason() -> None:
    body = (FIXTURES / "entsoe" / "acknowledgement_bad_request.xml").read_text("utf-8")
    recorded = Recorded().on("/api", status(400, body))

    with pytest.raises(
        ProviderPermanentError,
        match=r"HTTP 400: The amount of requested data exceeds allowed limit\. \(code 999\)",
    ):
        provider(recorded).history(DE, NINE, NINE + 3 * HOUR)


def test_a_refused_token_names_the_environment_variable() -> None:
    recorded = Recorded().on("/api", status(401, "<html>Unauthorized</html>"))

    with pytest.raises(ProviderAuthError, match="ENTSOE_API_TOKEN"):
        provider(recorded).history(DE, NINE, NINE + HOUR)


def test_a_rate_limit_is_retried_after_the_time_the_server_asks() -> None:
    sleeps = Sleeps()
    recorded = Recorded().on(
        "/api", status(429, "", {"Retry-After": "7"}), ok("entsoe", "a75_de.xml")
    )
    source = EntsoeProvider(token=FAKE_SECRET, http=recorded.client(), clock=clock(), sleep=sleeps)

    assert len(source.history(DE, NINE, NINE + 2 * HOUR)) == 2
    assert sleeps.waits == [timedelta(seconds=7)]


@pytest.mark.parametrize(
    ("reply", "want"),
    [
        (fixture_with("10Y1001A1001A83F", "10YFR-RTE------C"), "area '10YFR-RTE------C'"),
        (fixture_with("<quantity>2000</quantity>", "<quantity>-5</quantity>"), "finite MW"),
        (fixture_with("<quantity>2000</quantity>", "<quantity>NaN</quantity>"), "finite MW"),
        (fixture_with("<quantity>2000</quantity>", "<quantity>lots</quantity>"), "a number"),
        (fixture_with("<psrType>B04</psrType>", "<psrType>B99</psrType>"), "'B99'"),
        (fixture_with("<resolution>PT15M</resolution>", "<resolution>P1D</resolution>"), "P1D"),
        (fixture_with("MAW", "MWH"), "MAW"),
        (fixture_with("<position>10</position>", "<position>99</position>"), "positions 1..12"),
        (httpx.Response(200, text="<html><body>maintenance</body></html>"), "<html>"),
        (httpx.Response(200, content=ok("entsoe", "a75_de.xml").content[:900]), "not XML"),
        (httpx.Response(200, text=""), "not XML"),
    ],
    ids=[
        "wrong-area",
        "negative",
        "nan",
        "not-a-number",
        "unknown-type",
        "unknown-resolution",
        "wrong-unit",
        "position-out-of-range",
        "html",
        "truncated",
        "empty",
    ],
)
def test_garbage_is_refused_with_what_was_expected(reply: httpx.Response, want: str) -> None:
    recorded = Recorded().on("/api", reply)

    with pytest.raises(ProviderPermanentError, match=want):
        provider(recorded).history(DE, NINE, NINE + 3 * HOUR)


def test_one_incomplete_hour_inside_the_range_is_interpolated_between_its_neighbours() -> None:
    # Wind as an A01 curve without its 10:00 quarters: 09:00 and 11:00 complete, 10:00 not.
    text = (FIXTURES / "entsoe" / "a75_de.xml").read_text("utf-8")
    text = text.replace("<curveType>A03</curveType>", "<curveType>A01</curveType>")
    text = text.replace(
        "<Point><position>5</position><quantity>1000</quantity></Point>",
        "<Point><position>2</position><quantity>1</quantity></Point>"
        "<Point><position>3</position><quantity>1</quantity></Point>"
        "<Point><position>4</position><quantity>1</quantity></Point>"
        "<Point><position>9</position><quantity>1</quantity></Point>"
        "<Point><position>10</position><quantity>1</quantity></Point>"
        "<Point><position>11</position><quantity>1</quantity></Point>"
        "<Point><position>12</position><quantity>1</quantity></Point>",
    )
    text = text.replace(
        "<Point><position>10</position><quantity>3000</quantity></Point>",
        "<Point><position>10</position><quantity>3000</quantity></Point>"
        "<Point><position>11</position><quantity>3000</quantity></Point>"
        "<Point><position>12</position><quantity>3000</quantity></Point>",
    )
    recorded = Recorded().on("/api", httpx.Response(200, text=text))

    series = provider(recorded).history(DE, NINE, NINE + 3 * HOUR)

    wind_nine = (3000 + 1 + 1 + 1) / 4  # MWh: its first quarter kept, then 1 MW
    nine = (1000 * 490 + wind_nine * 11) / (1000 + wind_nine)
    eleven = (3000 * 490 + 1 * 11) / 3001
    assert list(series.values_g_per_kwh) == pytest.approx([nine, (nine + eleven) / 2, eleven])


def test_a_long_hole_stays_a_gap_and_a_short_one_is_filled() -> None:
    hours = [NINE + k * HOUR for k in (0, 1, 3, 8)]
    filled = fill_short_gaps([(at, 100.0 + 10 * i) for i, at in enumerate(hours)])

    assert [at for at, _ in filled] == [NINE + k * HOUR for k in (0, 1, 2, 3, 8)]
    assert filled[2][1] == pytest.approx(115.0)
    with pytest.raises(ProviderPermanentError, match="gap"):
        series_from_points("entsoe", DE, filled, what="history", step=HOUR)


def test_a_hole_in_storage_does_not_drop_the_hour() -> None:
    reply = fixture_with(
        "<Point><position>2</position><quantity>500</quantity></Point>", ""
    )  # pumped storage's 10:00 gone
    recorded = Recorded().on("/api", reply)

    series = provider(recorded).history(DE, NINE, NINE + 3 * HOUR)

    assert len(series) == 2


def test_entsoe_has_no_carbon_forecast_so_the_chain_moves_on() -> None:
    with pytest.raises(ForecastUnsupportedError, match="not a carbon forecast"):
        provider(Recorded()).forecast(DE, timedelta(hours=24))


def test_a_zone_without_an_area_is_a_provider_error_naming_the_zones() -> None:
    with pytest.raises(ProviderPermanentError, match="no area for zone 'US-CAL-CISO'"):
        provider(Recorded()).history(Zone("US-CAL-CISO"), NINE, NINE + HOUR)


def test_the_source_needs_the_token_and_an_entsoe_zone() -> None:
    settings = SourceSettings(kind=SourceKind.ENTSOE)
    with pytest.raises(InputError, match="ENTSOE_API_TOKEN"):
        build_provider(settings, clock(), zone=DE, client=Recorded().client())
    with pytest.raises(InputError, match="ukcarbon"):
        build_provider(
            settings,
            clock(),
            zone=Zone("GB"),
            client=Recorded().client(),
            credentials=Credentials(entsoe_token=FAKE_SECRET),
        )
    built, _ = build_provider(
        settings.model_copy(update={"entsoe_url": "http://127.0.0.1:9/api"}),
        clock(),
        zone=DE,
        client=Recorded().client(),
        credentials=Credentials(entsoe_token=FAKE_SECRET),
    )
    assert built.name == "entsoe"


@pytest.mark.loopback
def test_over_tcp_the_loopback_platform_reads_back_as_the_intensity_it_serves() -> None:
    now = NINE + timedelta(hours=5, minutes=40)
    truth = IntensitySeries(DE, NINE, HOUR, np.array([100.0, 250.0, 400.0, 30.0, 90.0, 420.0]))
    with serving(EntsoeServer(now=lambda: now, truth={DE: truth})) as api, httpx.Client() as http:
        source = EntsoeProvider(
            token=TOKEN, http=http, clock=FixedClock(now), base_url=api.base_url
        )
        series = source.history(DE, NINE, now)
        reading = source.latest(DE)

    # 14:00 is still being published (gas up to 14:30, wind not yet): left off.
    assert series.start == NINE
    assert list(series.values_g_per_kwh) == pytest.approx([100, 250, 400, 30, 90], abs=1e-3)
    assert (reading.at, round(reading.intensity_g_per_kwh, 3)) == (NINE + 4 * HOUR, 90.0)
