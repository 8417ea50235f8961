"""``policy.zone_affinity``: allowed zones as a required node affinity, merged with the user's."""

from __future__ import annotations

from typing import Any

import pytest

from carbon_kube.domain.clock import FixedClock
from carbon_kube.domain.zones import REGION_LABEL, RegionMapping, RegionZoneMap, Zone
from carbon_kube.extender.nodes import NodeCache
from carbon_kube.extender.scheduling import ExtenderContext, ZoneIntensities, serve_filter
from carbon_kube.extender.wire import ExtenderArgs
from carbon_kube.planning import PlanningService, PlanningSettings
from carbon_kube.policy.zone_affinity import require_node_expression, zone_requirement
from carbon_kube.providers.embedded import EmbeddedProvider
from tests.builders import T0, make_series

REGIONS = RegionZoneMap(
    [
        RegionMapping("aws", "eu-west-1", Zone("IE")),
        RegionMapping("aws", "eu-central-1", Zone("DE")),
        RegionMapping("gcp", "europe-west3", Zone("DE")),
        RegionMapping("aws", "eu-west-3", Zone("FR")),
        RegionMapping("aws", "us-east-1", Zone("US-MIDA-PJM")),
    ]
)
NOT_IE_OR_DE = {
    "key": REGION_LABEL,
    "operator": "NotIn",
    "values": ["eu-west-3", "us-east-1"],
}


def test_requirement_forbids_the_known_regions_of_every_other_zone() -> None:
    want = NOT_IE_OR_DE

    got = zone_requirement([Zone("IE")], Zone("DE"), REGIONS)

    assert got == want


def test_home_zone_is_always_allowed() -> None:
    got = zone_requirement([Zone("FR")], Zone("DE"), REGIONS)

    assert got is not None
    assert "eu-central-1" not in got["values"]
    assert "europe-west3" not in got["values"]
    assert got["values"] == ["eu-west-1", "us-east-1"]


def test_an_empty_allowed_zones_list_restricts_nothing() -> None:
    assert zone_requirement([], Zone("DE"), REGIONS) is None


def test_allowed_zones_covering_every_known_zone_need_no_requirement() -> None:
    zones = [Zone("IE"), Zone("FR"), Zone("US-MIDA-PJM")]
    assert zone_requirement(zones, Zone("DE"), REGIONS) is None


def _planner() -> PlanningService:
    clock = FixedClock(T0)
    series = {Zone("DE"): make_series([300.0] * 48, zone="DE")}
    provider = EmbeddedProvider(clock, replay=False, series=series)
    return PlanningService(provider, clock, PlanningSettings(home_zone="DE"))


def _matches(labels: dict[str, str], requirement: dict[str, Any]) -> bool:
    """Kubernetes' NotIn: true when the label is absent or its value is not listed."""
    assert requirement["operator"] == "NotIn"
    return labels.get(requirement["key"]) not in requirement["values"]


@pytest.mark.parametrize(
    "labels",
    [
        {REGION_LABEL: "eu-west-1"},
        {REGION_LABEL: "eu-central-1"},
        {REGION_LABEL: "europe-west3"},
        {REGION_LABEL: "eu-west-3"},
        {REGION_LABEL: "us-east-1"},
        {REGION_LABEL: "ap-south-9"},  # a region the table does not know
        {},  # no region label at all
    ],
)
def test_requirement_admits_exactly_the_nodes_the_extender_filter_passes(
    labels: dict[str, str],
) -> None:
    cache = NodeCache(REGIONS)
    cache.update([{"metadata": {"name": "n", "labels": labels}}])
    context = ExtenderContext(cache, ZoneIntensities(_planner()), home_zone=Zone("DE"))
    pod = {"metadata": {"name": "p", "annotations": {"carbon-kube.io/allowed-zones": "IE"}}}
    args = ExtenderArgs.model_validate({"Pod": pod, "NodeNames": ["n"]})
    want = serve_filter(args, context).node_names == ["n"]

    requirement = zone_requirement([Zone("IE")], Zone("DE"), REGIONS)

    assert requirement is not None
    assert _matches(labels, requirement) is want


def test_without_affinity_one_required_term_is_added() -> None:
    want = {
        "nodeAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": {
                "nodeSelectorTerms": [{"matchExpressions": [NOT_IE_OR_DE]}]
            }
        }
    }

    assert require_node_expression(None, NOT_IE_OR_DE) == want
    assert require_node_expression({}, NOT_IE_OR_DE) == want


def test_pod_affinity_and_preferred_node_affinity_are_kept() -> None:
    preferred = [
        {"weight": 10, "preference": {"matchExpressions": [{"key": "a", "operator": "Exists"}]}}
    ]
    pod_affinity = {"requiredDuringSchedulingIgnoredDuringExecution": [{"topologyKey": "x"}]}
    affinity = {
        "podAffinity": pod_affinity,
        "nodeAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": preferred},
    }

    merged = require_node_expression(affinity, NOT_IE_OR_DE)

    assert merged["podAffinity"] == pod_affinity
    node = merged["nodeAffinity"]
    assert node["preferredDuringSchedulingIgnoredDuringExecution"] == preferred
    assert node["requiredDuringSchedulingIgnoredDuringExecution"] == {
        "nodeSelectorTerms": [{"matchExpressions": [NOT_IE_OR_DE]}]
    }


def test_the_requirement_is_anded_into_every_ored_term() -> None:
    arm = {"key": "kubernetes.io/arch", "operator": "In", "values": ["arm64"]}
    gpu = {"key": "gpu", "operator": "Exists"}
    by_name = {"key": "metadata.name", "operator": "In", "values": ["n1"]}
    affinity = {
        "nodeAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": {
                "nodeSelectorTerms": [
                    {"matchExpressions": [arm]},
                    {"matchExpressions": [gpu]},
                    {"matchFields": [by_name]},
                ]
            }
        }
    }

    merged = require_node_expression(affinity, NOT_IE_OR_DE)

    terms = merged["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"][
        "nodeSelectorTerms"
    ]
    assert terms == [
        {"matchExpressions": [arm, NOT_IE_OR_DE]},
        {"matchExpressions": [gpu, NOT_IE_OR_DE]},
        {"matchFields": [by_name], "matchExpressions": [NOT_IE_OR_DE]},
    ]


def test_an_empty_term_still_matches_no_node() -> None:
    affinity = {
        "nodeAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": {
                "nodeSelectorTerms": [{}, {"matchExpressions": []}]
            }
        }
    }

    merged = require_node_expression(affinity, NOT_IE_OR_DE)

    required = merged["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
    assert required["nodeSelectorTerms"] == [{}, {"matchExpressions": []}]


def test_merging_twice_changes_nothing_more() -> None:
    arm = {"key": "kubernetes.io/arch", "operator": "In", "values": ["arm64"]}
    affinity = {
        "nodeAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": {
                "nodeSelectorTerms": [{"matchExpressions": [arm]}]
            }
        }
    }

    once = require_node_expression(affinity, NOT_IE_OR_DE)

    assert require_node_expression(once, NOT_IE_OR_DE) == once


def test_the_given_affinity_is_not_modified() -> None:
    arm = {"key": "kubernetes.io/arch", "operator": "In", "values": ["arm64"]}
    affinity = {
        "nodeAffinity": {
            "requiredDuringSchedulingIgnoredDuringExecution": {
                "nodeSelectorTerms": [{"matchExpressions": [arm]}]
            }
        }
    }

    require_node_expression(affinity, NOT_IE_OR_DE)

    terms = affinity["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
    assert terms == {"nodeSelectorTerms": [{"matchExpressions": [arm]}]}
