"""Fuzz the webhook and extender servers: bad bodies get a 4xx with a message, never a 5xx.

Both servers run on 127.0.0.1 (loopback only) for the module; each example is one POST.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from carbon_kube.domain.annotations import MAX_DELAY
from carbon_kube.domain.clock import FixedClock
from carbon_kube.extender.nodes import NodeCache
from carbon_kube.extender.scheduling import ExtenderContext, ZoneIntensities
from carbon_kube.extender.server import make_extender_app
from carbon_kube.planning import PlanningService, PlanningSettings
from carbon_kube.providers.embedded import EmbeddedProvider
from carbon_kube.providers.regions import load_region_zone_map
from carbon_kube.serving import BackgroundServer
from carbon_kube.webhook.server import make_webhook_app
from tests.admission_builders import an_object
from tests.builders import T0

FUZZ = settings(
    max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
SMALL_LIMIT_BYTES = 64 * 1024

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=20,
)


@pytest.fixture(scope="module")
def planner() -> PlanningService:
    clock = FixedClock(T0)
    return PlanningService(EmbeddedProvider(clock), clock, PlanningSettings(home_zone="DE"))


@pytest.fixture(scope="module")
def webhook_url(planner: PlanningService) -> Iterator[str]:
    with BackgroundServer(make_webhook_app(planner, max_body_bytes=SMALL_LIMIT_BYTES)) as server:
        yield server.url


@pytest.fixture(scope="module")
def extender_url(planner: PlanningService) -> Iterator[str]:
    context = ExtenderContext(NodeCache(load_region_zone_map()), ZoneIntensities(planner))
    app = make_extender_app(context, max_body_bytes=SMALL_LIMIT_BYTES)
    with BackgroundServer(app) as server:
        yield server.url


@pytest.fixture(scope="module")
def client() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=10) as http:
        yield http


def post(client: httpx.Client, url: str, body: bytes) -> httpx.Response:
    return client.post(url, content=body, headers={"Content-Type": "application/json"})


def assert_client_error_or_ok(response: httpx.Response) -> None:
    assert response.status_code < 500, response.text
    if response.status_code >= 400:
        message = response.json()["error"]
        assert isinstance(message, str)
        assert message


def valid_review() -> dict[str, Any]:
    return an_object("Pod").flexible().annotated(MAX_DELAY, "2h").review()


def valid_extender_args() -> dict[str, Any]:
    return {"Pod": {"metadata": {"name": "p"}}, "NodeNames": ["a", "b"]}


@FUZZ
@given(body=json_values)
def test_arbitrary_json_is_answered_without_a_server_error(
    client: httpx.Client, webhook_url: str, extender_url: str, body: Any
) -> None:
    raw = json.dumps(body).encode()
    for url in (f"{webhook_url}/mutate", f"{webhook_url}/validate", f"{extender_url}/prioritize"):
        assert_client_error_or_ok(post(client, url, raw))


@FUZZ
@given(raw=st.binary(max_size=200))
def test_arbitrary_bytes_are_a_client_error(
    client: httpx.Client, webhook_url: str, extender_url: str, raw: bytes
) -> None:
    for url in (f"{webhook_url}/mutate", f"{extender_url}/filter"):
        response = post(client, url, raw)
        assert_client_error_or_ok(response)


def test_nan_and_infinity_literals_are_refused_as_not_json(
    client: httpx.Client, webhook_url: str, extender_url: str
) -> None:
    for literal in ("NaN", "Infinity", "-Infinity"):
        body = json.dumps(valid_extender_args())[:-1] + f', "X": {literal}}}'
        for url in (f"{webhook_url}/mutate", f"{extender_url}/prioritize"):
            response = post(client, url, body.encode())
            assert response.status_code == 400
            assert "body is not JSON" in response.json()["error"]


@FUZZ
@given(key=st.text(min_size=1, max_size=12), value=json_values, where=st.sampled_from([0, 1]))
def test_unknown_fields_are_refused_naming_the_field(
    client: httpx.Client, webhook_url: str, key: str, value: Any, where: int
) -> None:
    review = valid_review()
    target = review if where == 0 else review["request"]
    if key in target:
        return
    target[key] = value
    response = post(client, f"{webhook_url}/mutate", json.dumps(review).encode())
    assert response.status_code == 400
    assert "Extra inputs are not permitted" in response.json()["error"]


@FUZZ
@given(
    field=st.sampled_from(["uid", "kind", "operation", "object", "userInfo", "dryRun", "resource"]),
    value=json_values,
)
def test_a_wrong_typed_request_field_is_a_client_error_not_a_crash(
    client: httpx.Client, webhook_url: str, field: str, value: Any
) -> None:
    review = valid_review()
    review["request"][field] = value
    assert_client_error_or_ok(post(client, f"{webhook_url}/mutate", json.dumps(review).encode()))


@FUZZ
@given(field=st.sampled_from(["Pod", "Nodes", "NodeNames"]), value=json_values)
def test_wrong_typed_extender_args_are_a_client_error_not_a_crash(
    client: httpx.Client, extender_url: str, field: str, value: Any
) -> None:
    args = valid_extender_args()
    args[field] = value
    raw = json.dumps(args).encode()
    for verb in ("filter", "prioritize"):
        assert_client_error_or_ok(post(client, f"{extender_url}/{verb}", raw))


def test_a_huge_body_is_refused_with_413(
    client: httpx.Client, webhook_url: str, extender_url: str
) -> None:
    args = {"Pod": {}, "NodeNames": [f"node-{i}" for i in range(20_000)]}
    raw = json.dumps(args).encode()
    for url in (f"{extender_url}/prioritize", f"{webhook_url}/mutate"):
        response = post(client, url, raw)
        assert response.status_code == 413
        assert "limit" in response.json()["error"]


def test_deeply_nested_json_is_a_client_error(
    client: httpx.Client, webhook_url: str, extender_url: str
) -> None:
    raw = b"[" * 20_000 + b"]" * 20_000  # 40 KB, far deeper than the parser recurses
    assert post(client, f"{webhook_url}/mutate", raw).status_code == 400
    assert post(client, f"{extender_url}/filter", raw).status_code == 400


def test_a_non_json_content_type_is_refused_with_415(
    client: httpx.Client, webhook_url: str
) -> None:
    response = client.post(
        f"{webhook_url}/mutate", content=b"x", headers={"Content-Type": "text/plain"}
    )
    assert response.status_code == 415


def test_valid_bodies_still_work_after_the_fuzzing(
    client: httpx.Client, webhook_url: str, extender_url: str
) -> None:
    review = valid_review()
    answer = post(client, f"{webhook_url}/mutate", json.dumps(review).encode()).json()
    assert answer["response"]["uid"] == review["request"]["uid"]
    assert answer["response"]["patchType"] == "JSONPatch"
    scores = post(
        client, f"{extender_url}/prioritize", json.dumps(valid_extender_args()).encode()
    ).json()
    assert scores == [{"Host": "a", "Score": 5}, {"Host": "b", "Score": 5}]
