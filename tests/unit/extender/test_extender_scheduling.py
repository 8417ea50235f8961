from __future__ import annotations

import json
from typing import Any

import pytest

from carbon_kube.domain.annotations import ALLOWED_ZONES
from carbon_kube.domain.clock import FixedClock
from carbon_kube.domain.zones import Zone
from carbon_kube.extender.nodes import INSTANCE_TYPE_LABEL, REGION_LABEL, NodeCache
from carbon_kube.extender.scheduling import (
    ExtenderContext,
    ZoneIntensities,
    serve_filter,
    serve_prioritize,
)
from carbon_kube.extender.wire import ExtenderArgs, encode_priorities
from carbon_kube.planning import PlanningService, PlanningSettings
from carbon_kube.providers.embedded import EmbeddedProvider
from carbon_kube.providers.regions import load_region_zone_map
from tests.builders import T0, make_series


def make_node(name: str, region: str | None, instance_type: str = "m6i.2xlarge") -> dict[str, Any]:
    labels = {INSTANCE_TYPE_LABEL: instance_type}
    if region is not None:
        labels[REGION_LABEL] = region
    return {"metadata": {"name": name, "labels": labels}}


def make_context(intensity_by_zone: dict[str, float], home: str = "IE") -> ExtenderContext:
    clock = FixedClock(T0)
    series = {Zone(z): make_series([v] * 48, zone=z) for z, v in intensity_by_zone.items()}
    planner = PlanningService(
        EmbeddedProvider(clock, replay=False, series=series),
        clock,
        PlanningSettings(home_zone=home),
    )
    cache = NodeCache(load_region_zone_map())
    cache.update(
        [
            make_node("ie-intel", "eu-west-1"),
            make_node("ie-arm", "eu-west-1", "m6g.2xlarge"),
            make_node("de-intel", "eu-central-1"),
            make_node("us-intel", "us-east-1"),
            make_node("unlabelled", None),
        ]
    )
    return ExtenderContext(cache, ZoneIntensities(planner), home_zone=Zone(home))


def args_for(names: list[str], annotations: dict[str, str] | None = None) -> ExtenderArgs:
    pod = {
        "metadata": {"name": "p", "namespace": "ns", "annotations": annotations or {}},
        "spec": {"containers": [{"name": "c", "resources": {"requests": {"cpu": "2"}}}]},
    }
    return ExtenderArgs.model_validate({"Pod": pod, "NodeNames": names})


ALL = ["ie-intel", "ie-arm", "de-intel", "us-intel", "unlabelled", "never-seen"]


def test_lowest_intensity_times_energy_scores_ten_and_no_data_scores_neutral() -> None:
    context = make_context({"IE": 100.0, "DE": 400.0})

    scores = {p.host: p.score for p in serve_prioritize(args_for(ALL), context)}

    assert scores["ie-arm"] == 10  # same grid as ie-intel, Graviton draws less per vCPU
    assert scores["de-intel"] == 0
    assert 0 < scores["ie-intel"] < 10
    # US-MIDA-PJM has no data here; unlabelled and unknown nodes have no zone: neutral.
    assert scores["us-intel"] == scores["unlabelled"] == scores["never-seen"] == 5


def test_prioritize_answers_every_node_in_the_order_given() -> None:
    context = make_context({"IE": 100.0})
    names = list(reversed(ALL))
    assert [p.host for p in serve_prioritize(args_for(names), context)] == names


def test_the_encoded_answer_is_the_host_priority_list_for_known_and_unknown_nodes() -> None:
    context = make_context({"IE": 100.0, "DE": 400.0})
    context.nodes.update([make_node('odd "näme"\\', "eu-west-1")])
    names = [*ALL, 'odd "näme"\\', "unseen ünïcode"]

    priorities = serve_prioritize(args_for(names), context)

    want = [{"Host": p.host, "Score": p.score} for p in priorities]
    assert json.loads(encode_priorities(priorities)) == want
    assert [entry["Host"] for entry in want] == names


def test_a_node_list_refresh_moves_nodes_between_groups() -> None:
    context = make_context({"IE": 100.0, "DE": 400.0})
    before = {p.host: p.score for p in serve_prioritize(args_for(ALL), context)}

    context.nodes.replace([make_node("de-intel", "eu-west-1"), make_node("ie-intel", None)])

    after = {p.host: p.score for p in serve_prioritize(args_for(ALL), context)}
    assert before["de-intel"] == 0
    assert after["de-intel"] == 10  # now in IE, the only zone with data among candidates
    assert after["ie-intel"] == after["ie-arm"] == 5  # unlabelled now, and dropped: neutral


def test_without_any_data_every_node_scores_neutral() -> None:
    context = make_context({"FR": 100.0})
    assert {p.score for p in serve_prioritize(args_for(ALL), context)} == {5}


def test_filter_removes_only_known_zones_outside_allowed_zones_with_a_reason() -> None:
    context = make_context({"IE": 100.0}, home="IE")

    result = serve_filter(args_for(ALL, {ALLOWED_ZONES: "DE"}), context)

    assert set(result.failed_nodes) == {"us-intel"}
    assert "US-MIDA-PJM" in result.failed_nodes["us-intel"]
    assert ALLOWED_ZONES in result.failed_nodes["us-intel"]
    assert result.node_names == [n for n in ALL if n != "us-intel"]


def test_filter_passes_everything_without_or_with_an_invalid_zone_annotation() -> None:
    context = make_context({"IE": 100.0})
    for given_annotations in ({}, {ALLOWED_ZONES: "not a zone!"}):
        result = serve_filter(args_for(ALL, given_annotations), context)
        assert result.node_names == ALL
        assert result.failed_nodes == {}


def test_filter_with_full_nodes_learns_them_and_answers_nodes() -> None:
    context = make_context({"IE": 100.0}, home="IE")
    nodes = [make_node("fr-1", "eu-west-3"), make_node("ie-1", "eu-west-1")]
    args = ExtenderArgs.model_validate(
        {
            "Pod": {"metadata": {"annotations": {ALLOWED_ZONES: "IE"}}},
            "Nodes": {"items": nodes},
        }
    )

    result = serve_filter(args, context)

    assert result.nodes is not None
    assert [n["metadata"]["name"] for n in result.nodes.items] == ["ie-1"]
    assert "fr-1" in result.failed_nodes
    assert context.nodes.get("fr-1") is not None


@pytest.mark.parametrize("cpu", ["0", "100m", "64"])
def test_scores_stay_in_range_whatever_the_request(cpu: str) -> None:
    context = make_context({"IE": 100.0, "DE": 400.0})
    args = args_for(ALL)
    args.pod["spec"]["containers"][0]["resources"]["requests"]["cpu"] = cpu
    assert all(0 <= p.score <= 10 for p in serve_prioritize(args, context))
