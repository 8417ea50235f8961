"""Every live provider fails the same, clear way on the same HTTP trouble.

Each case drives one provider call whose data request is answered from the recorded fixtures,
except that the first answer(s) are replaced by the failure under test.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

import httpx
import pytest

from carbon_kube.domain.errors import (
    ProviderError,
    ProviderPermanentError,
    ProviderTemporaryError,
)
from carbon_kube.domain.zones import Zone
from carbon_kube.providers.electricitymaps import ElectricityMapsProvider, ElectricityMapsSettings
from carbon_kube.providers.entsoe import EntsoeProvider
from carbon_kube.providers.http import RetryPolicy
from carbon_kube.providers.ukcarbon import UkCarbonIntensityProvider
from carbon_kube.providers.watttime import WattTimeProvider, WattTimeSettings
from tests.http_fixtures import (
    FAKE_SECRET,
    NOW,
    Recorded,
    Reply,
    Sleeps,
    clock,
    ok,
    status,
    timeout,
)

RETRY = RetryPolicy(attempts=3)
Call = Callable[[Recorded, Sleeps], object]


@dataclass(frozen=True)
class Case:
    provider: str
    path: str
    good: str
    empty: str
    call: Call
    credential: str | None
    setup: Callable[[Recorded], Recorded] = lambda recorded: recorded
    # The format the API answers in, which a malformed body is said not to be.
    wire: str = "JSON (expected a JSON object)"


def em_call(recorded: Recorded, sleeps: Sleeps) -> object:
    em = ElectricityMapsProvider(
        ElectricityMapsSettings(api_token=FAKE_SECRET),
        http=recorded.client(),
        clock=clock(),
        retry=RETRY,
        sleep=sleeps,
    )
    return em.history(Zone("DE"), NOW - timedelta(hours=3), NOW)


def uk_call(recorded: Recorded, sleeps: Sleeps) -> object:
    uk = UkCarbonIntensityProvider(http=recorded.client(), clock=clock(), retry=RETRY, sleep=sleeps)
    return uk.forecast(Zone("GB"), timedelta(hours=24))


def wt_call(recorded: Recorded, sleeps: Sleeps) -> object:
    wt = WattTimeProvider(
        WattTimeSettings(username="u", password=FAKE_SECRET),
        http=recorded.client(),
        clock=clock(),
        retry=RETRY,
        sleep=sleeps,
    )
    return wt.forecast(Zone("US-CAL-CISO"), timedelta(hours=24))


def entsoe_call(recorded: Recorded, sleeps: Sleeps) -> object:
    source = EntsoeProvider(
        token=FAKE_SECRET, http=recorded.client(), clock=clock(), retry=RETRY, sleep=sleeps
    )
    return source.history(Zone("DE"), NOW - timedelta(hours=3, minutes=10), NOW)


CASES = [
    Case(
        "electricitymaps",
        "/v3/carbon-intensity/history",
        "history.json",
        "history_empty.json",
        em_call,
        "ELECTRICITYMAPS_API_TOKEN",
    ),
    Case(
        "ukcarbon",
        "/intensity/2024-03-01T12:10Z/fw48h",
        "intensity_fw48h.json",
        "intensity_empty.json",
        uk_call,
        None,
    ),
    Case(
        "watttime",
        "/v3/forecast",
        "forecast.json",
        "forecast_empty.json",
        wt_call,
        "WATTTIME_USERNAME",
        lambda recorded: recorded.on("/login", ok("watttime", "login.json")),
    ),
    Case(
        "entsoe",
        "/api",
        "a75_de.xml",
        "acknowledgement_no_data.xml",
        entsoe_call,
        "ENTSOE_API_TOKEN",
        wire="XML",
    ),
]
IDS = [case.provider for case in CASES]


def run(case: Case, *replies: Reply) -> tuple[Recorded, Sleeps, Callable[[], object]]:
    recorded = case.setup(Recorded().on(case.path, *replies))
    sleeps = Sleeps()
    return recorded, sleeps, lambda: case.call(recorded, sleeps)


def data_requests(case: Case, recorded: Recorded) -> int:
    return recorded.paths().count(case.path)


def fails(call: Callable[[], object], kind: type[ProviderError]) -> ProviderError:
    with pytest.raises(kind) as caught:
        call()
    return caught.value


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_happy_path_returns_a_series(case: Case) -> None:
    _, sleeps, call = run(case, ok(case.provider, case.good))
    assert len(call()) > 0  # type: ignore[arg-type]
    assert sleeps.waits == []


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_401_is_permanent_not_retried_and_names_the_credential(case: Case) -> None:
    _, sleeps, call = run(case, status(401, '{"message": "unauthorized"}'))
    error = fails(call, ProviderPermanentError)
    assert error.provider == case.provider
    assert "HTTP 401" in str(error)
    if case.credential is not None:
        assert case.credential in str(error)
    assert sleeps.waits == []


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_429_is_retried_after_the_servers_delay_then_succeeds(case: Case) -> None:
    recorded, sleeps, call = run(
        case, status(429, headers={"Retry-After": "3"}), ok(case.provider, case.good)
    )
    assert len(call()) > 0  # type: ignore[arg-type]
    assert sleeps.waits == [timedelta(seconds=3)]
    assert data_requests(case, recorded) == 2


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_429_until_retries_run_out_is_a_temporary_error(case: Case) -> None:
    recorded, sleeps, call = run(case, status(429, "slow down"))
    error = fails(call, ProviderTemporaryError)
    assert "failed 3 time(s), last: HTTP 429" in str(error)
    assert data_requests(case, recorded) == 3
    assert len(sleeps.waits) == 2


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_5xx_is_retried_then_a_temporary_error(case: Case) -> None:
    recorded, _, call = run(case, status(503, "maintenance"))
    error = fails(call, ProviderTemporaryError)
    assert "HTTP 503" in str(error)
    assert data_requests(case, recorded) == 3


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_timeout_is_retried_then_a_temporary_error(case: Case) -> None:
    recorded, _, call = run(case, timeout())
    error = fails(call, ProviderTemporaryError)
    assert "timed out after 10 s" in str(error)
    assert data_requests(case, recorded) == 3


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_a_malformed_body_is_permanent_and_says_what_format_was_expected(case: Case) -> None:
    _, sleeps, call = run(case, httpx.Response(200, text='{"data": [ {"from": '))
    error = fails(call, ProviderPermanentError)
    assert f"not {case.wire}" in str(error)
    assert sleeps.waits == []


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_empty_data_is_permanent_and_says_nothing_was_returned(case: Case) -> None:
    _, _, call = run(case, ok(case.provider, case.empty))
    error = fails(call, ProviderPermanentError)
    assert "returned (empty data)" in str(error)
