from __future__ import annotations

import random
from datetime import timedelta

import httpx
import pytest

from carbon_kube.domain.errors import ProviderPermanentError, ProviderTemporaryError
from carbon_kube.providers.http import JsonHttp, ProviderAuthError, RetryPolicy
from tests.http_fixtures import Recorded, Sleeps, clock, status, timeout

URL = "https://api.example.org/v1/thing"


def make(recorded: Recorded, sleeps: Sleeps, **policy: object) -> JsonHttp:
    return JsonHttp(
        recorded.client(),
        "example",
        clock=clock(),
        credential_hint="EXAMPLE_TOKEN to a valid token",
        policy=RetryPolicy(**policy),  # type: ignore[arg-type]
        sleep=sleeps,
        rng=random.Random(7),
    )


def test_backoff_doubles_each_retry_within_the_jitter_and_the_cap() -> None:
    policy = RetryPolicy(
        base_delay=timedelta(seconds=1), max_delay=timedelta(seconds=5), jitter=0.25
    )
    rng = random.Random(1)
    waits = [policy.backoff(retry, rng) for retry in (1, 2, 3, 4)]
    assert timedelta(seconds=1) <= waits[0] <= timedelta(seconds=1.25)
    assert timedelta(seconds=2) <= waits[1] <= timedelta(seconds=2.5)
    assert timedelta(seconds=4) <= waits[2] <= timedelta(seconds=5)
    assert waits[3] == timedelta(seconds=5)


def test_timeouts_are_retried_with_growing_waits_then_succeed() -> None:
    recorded = Recorded().on("/v1/thing", timeout(), timeout(), status(200, '{"ok": true}'))
    sleeps = Sleeps()
    assert make(recorded, sleeps).get(URL) == {"ok": True}
    assert len(recorded.requests) == 3
    assert len(sleeps.waits) == 2
    assert sleeps.waits[1] > sleeps.waits[0]


def test_retry_after_in_seconds_replaces_the_computed_backoff() -> None:
    recorded = Recorded().on(
        "/v1/thing", status(429, headers={"Retry-After": "12"}), status(200, "[]")
    )
    sleeps = Sleeps()
    assert make(recorded, sleeps).get(URL) == []
    assert sleeps.waits == [timedelta(seconds=12)]


def test_retry_after_as_an_http_date_is_measured_from_the_injected_clock() -> None:
    # The test clock reads 2024-03-01T12:10:00Z.
    recorded = Recorded().on(
        "/v1/thing",
        status(503, headers={"Retry-After": "Fri, 01 Mar 2024 12:10:20 GMT"}),
        status(200, "{}"),
    )
    sleeps = Sleeps()
    make(recorded, sleeps).get(URL)
    assert sleeps.waits == [timedelta(seconds=20)]


def test_a_huge_retry_after_is_capped_at_the_policy_maximum() -> None:
    recorded = Recorded().on(
        "/v1/thing", status(429, headers={"Retry-After": "3600"}), status(200, "{}")
    )
    sleeps = Sleeps()
    make(recorded, sleeps, max_delay=timedelta(seconds=30)).get(URL)
    assert sleeps.waits == [timedelta(seconds=30)]


def test_exhausted_retries_raise_a_temporary_error_naming_the_last_failure() -> None:
    recorded = Recorded().on("/v1/thing", status(502))
    sleeps = Sleeps()
    with pytest.raises(ProviderTemporaryError) as caught:
        make(recorded, sleeps, attempts=3).get(URL)
    assert len(recorded.requests) == 3
    assert len(sleeps.waits) == 2
    assert "failed 3 time(s), last: HTTP 502" in str(caught.value)
    assert str(caught.value).startswith("example: GET api.example.org/v1/thing")


def test_refused_credentials_are_permanent_and_say_which_setting_to_fix() -> None:
    recorded = Recorded().on("/v1/thing", status(403, "forbidden"))
    with pytest.raises(ProviderAuthError) as caught:
        make(recorded, Sleeps()).get(URL)
    assert caught.value.status_code == 403
    assert "set EXAMPLE_TOKEN to a valid token" in str(caught.value)
    assert len(recorded.requests) == 1


def test_other_client_errors_are_permanent_and_quote_the_body() -> None:
    recorded = Recorded().on("/v1/thing", status(400, '{"error": "zone XX unknown"}'))
    with pytest.raises(ProviderPermanentError) as caught:
        make(recorded, Sleeps()).get(URL)
    assert "HTTP 400" in str(caught.value)
    assert "zone XX unknown" in str(caught.value)


def test_a_body_that_is_not_json_is_permanent_and_shows_what_came_back() -> None:
    recorded = Recorded().on("/v1/thing", status(200, "<html>maintenance</html>"))
    with pytest.raises(ProviderPermanentError) as caught:
        make(recorded, Sleeps()).get(URL)
    assert "not JSON" in str(caught.value)
    assert "<html>maintenance</html>" in str(caught.value)


def test_connection_errors_are_retried_like_timeouts() -> None:
    recorded = Recorded().on(
        "/v1/thing", httpx.ConnectError("connection refused"), status(200, "{}")
    )
    sleeps = Sleeps()
    assert make(recorded, sleeps).get(URL) == {}
    assert len(sleeps.waits) == 1
