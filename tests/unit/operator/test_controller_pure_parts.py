"""The hold index, leader-election decisions, node labels, NodePool weights, re-plan threshold."""

from __future__ import annotations

from datetime import timedelta

import pytest

from carbon_kube.domain.annotations import (
    GRID_ZONE_LABEL,
    INTENSITY_LABEL,
    PLAN_ZONE,
    RELEASE_AT,
    WATTS_PER_GIB_LABEL,
    WATTS_PER_VCPU_LABEL,
)
from carbon_kube.domain.workloads import WorkloadKind
from carbon_kube.domain.zones import Zone
from carbon_kube.energy.power import default_power_model
from carbon_kube.operator.holds import HeldWorkload, HoldIndex, WorkloadKey
from carbon_kube.operator.leadership import LeaseDecision, format_micro_time, lease_decision
from carbon_kube.operator.nodepools import (
    MANAGE_WEIGHT_ANNOTATION,
    is_managed,
    pool_profile,
    weights_by_rate,
)
from carbon_kube.operator.nodes import grid_zone_of, node_label_patch
from carbon_kube.operator.releasing import DueReason, ReleaseTiming
from carbon_kube.operator.replanning import plan_moved_materially
from carbon_kube.providers.regions import load_region_zone_map
from tests.builders import HOUR, T0

MINUTE = timedelta(minutes=1)
SECOND = timedelta(seconds=1)
REGIONS = load_region_zone_map()


def _held(name: str, due_in: timedelta | None) -> HeldWorkload:
    timing = ReleaseTiming(
        None if due_in is None else T0 + due_in,
        DueReason.NO_TIMING if due_in is None else DueReason.PLANNED,
    )
    return HeldWorkload(WorkloadKey(WorkloadKind.POD, "ns", name), {}, timing)


# -- hold index --------------------------------------------------------------------------------


def test_index_pops_due_workloads_earliest_first_and_keeps_the_rest() -> None:
    index = HoldIndex()
    for name, due_in in (("late", 3 * HOUR), ("soon", HOUR), ("now", None), ("mid", 2 * HOUR)):
        index.upsert(_held(name, due_in))

    due = index.pop_due(T0 + 2 * HOUR)

    assert [held.key.name for held in due] == ["now", "soon", "mid"]
    assert len(index) == 1
    assert index.next_due() == T0 + 3 * HOUR


def test_rescheduled_workload_is_due_only_at_its_new_time() -> None:
    index = HoldIndex()
    index.upsert(_held("w", HOUR))

    index.upsert(_held("w", 5 * HOUR))

    assert index.pop_due(T0 + 2 * HOUR) == []
    assert [h.key.name for h in index.pop_due(T0 + 5 * HOUR)] == ["w"]


def test_removed_workload_is_never_popped() -> None:
    index = HoldIndex()
    index.upsert(_held("w", HOUR))

    index.remove(WorkloadKey(WorkloadKind.POD, "ns", "w"))

    assert index.pop_due(T0 + 10 * HOUR) == []
    assert index.next_due() is None


def test_upsert_reports_when_the_new_entry_is_the_earliest() -> None:
    index = HoldIndex()
    assert index.upsert(_held("a", 2 * HOUR))
    assert not index.upsert(_held("b", 3 * HOUR))
    assert index.upsert(_held("c", HOUR))


# -- leader election ---------------------------------------------------------------------------


def _lease(holder: str | None, renewed_ago: timedelta, duration_s: int = 15) -> dict[str, object]:
    return {
        "holderIdentity": holder,
        "renewTime": format_micro_time(T0 - renewed_ago),
        "leaseDurationSeconds": duration_s,
    }


def test_live_lease_of_another_replica_makes_us_wait() -> None:
    assert lease_decision(_lease("other", 5 * SECOND), "me", T0) is LeaseDecision.WAIT


def test_lease_not_renewed_within_its_duration_is_taken_over() -> None:
    assert lease_decision(_lease("other", 15 * SECOND), "me", T0) is LeaseDecision.TAKE


def test_our_own_lease_is_renewed_and_a_free_one_taken() -> None:
    assert lease_decision(_lease("me", 1 * SECOND), "me", T0) is LeaseDecision.RENEW
    assert lease_decision(_lease(None, 1 * SECOND), "me", T0) is LeaseDecision.TAKE
    assert lease_decision(None, "me", T0) is LeaseDecision.TAKE


def test_lease_with_unreadable_renew_time_counts_as_expired() -> None:
    spec = {"holderIdentity": "other", "renewTime": "yesterday", "leaseDurationSeconds": 15}
    assert lease_decision(spec, "me", T0) is LeaseDecision.TAKE


# -- node labels -------------------------------------------------------------------------------


def test_node_grid_zone_comes_from_its_cloud_region() -> None:
    assert grid_zone_of({"topology.kubernetes.io/region": "eu-central-1"}, REGIONS) == "DE"
    assert grid_zone_of({"topology.kubernetes.io/region": "mars-north-1"}, REGIONS) is None
    assert grid_zone_of({}, REGIONS) is None


M6G = {"node.kubernetes.io/instance-type": "m6g.2xlarge"}
# CCF's Graviton2 at 50 % (1.08 W) and 0.392 W/GiB, x AWS PUE 1.135.
M6G_POWER = {WATTS_PER_VCPU_LABEL: "1.2258", WATTS_PER_GIB_LABEL: "0.44492"}


def test_node_label_patch_sets_zone_whole_grams_and_power_and_is_none_when_current() -> None:
    patch = node_label_patch(M6G, Zone("DE"), 312.6)
    assert patch == {
        "metadata": {"labels": {GRID_ZONE_LABEL: "DE", INTENSITY_LABEL: "313", **M6G_POWER}}
    }

    current = {**M6G, GRID_ZONE_LABEL: "DE", INTENSITY_LABEL: "313", **M6G_POWER}
    assert node_label_patch(current, Zone("DE"), 313.2) is None


def test_power_labels_are_the_energy_model_with_pue_for_any_instance_type() -> None:
    model = default_power_model(instance_type="m5.large")
    patch = node_label_patch({"node.kubernetes.io/instance-type": "m5.large"}, None, None)

    assert patch is not None
    labels = patch["metadata"]["labels"]  # type: ignore[index]
    assert float(labels[WATTS_PER_VCPU_LABEL]) == pytest.approx(model.watts_per_vcpu * 1.135)
    # No instance type: the cloud average, as the extender scores such a node.
    average = default_power_model().watts_per_vcpu * 1.135
    no_type = node_label_patch({}, None, None)
    assert no_type is not None
    assert float(no_type["metadata"]["labels"][WATTS_PER_VCPU_LABEL]) == pytest.approx(average)  # type: ignore[index]


def test_intensity_label_is_removed_when_the_signal_is_gone() -> None:
    current = {**M6G, GRID_ZONE_LABEL: "DE", INTENSITY_LABEL: "313", **M6G_POWER}

    assert node_label_patch(current, Zone("DE"), None) == {
        "metadata": {"labels": {INTENSITY_LABEL: None}}
    }


# -- NodePool weights --------------------------------------------------------------------------


def _pool(name: str, *, region: str, types: list[str], managed: bool = True) -> dict[str, object]:
    annotations = {MANAGE_WEIGHT_ANNOTATION: "true"} if managed else {}
    return {
        "metadata": {"name": name, "annotations": annotations},
        "spec": {
            "template": {
                "spec": {
                    "requirements": [
                        {
                            "key": "topology.kubernetes.io/region",
                            "operator": "In",
                            "values": [region],
                        },
                        {
                            "key": "node.kubernetes.io/instance-type",
                            "operator": "In",
                            "values": types,
                        },
                    ]
                }
            }
        },
    }


def test_lowest_emission_rate_pool_gets_weight_100_and_highest_gets_1() -> None:
    pools = [
        _pool("de-intel", region="eu-central-1", types=["m5.xlarge"]),
        _pool("de-graviton", region="eu-central-1", types=["m6g.xlarge"]),
        _pool("fr-intel", region="eu-west-3", types=["m5.xlarge"]),
    ]
    profiles = [pool_profile(pool, REGIONS) for pool in pools]
    intensity = {"DE": 400.0, "FR": 60.0}

    weights = weights_by_rate(profiles, lambda zone: intensity.get(zone))

    assert weights["fr-intel"] == 100
    assert weights["de-intel"] == 1
    # Same grid as de-intel, fewer watts per vCPU: strictly in between.
    assert 1 < weights["de-graviton"] < 100


def test_pool_without_intensity_data_keeps_its_weight() -> None:
    profiles = [
        pool_profile(_pool("de", region="eu-central-1", types=["m5.xlarge"]), REGIONS),
        pool_profile(_pool("ie", region="eu-west-1", types=["m5.xlarge"]), REGIONS),
    ]

    weights = weights_by_rate(profiles, lambda zone: 300.0 if zone == "DE" else None)

    assert weights == {"de": 100}


def test_only_opted_in_non_static_pools_are_managed() -> None:
    static = _pool("static", region="eu-central-1", types=["m5.xlarge"])
    static["spec"]["replicas"] = 3  # type: ignore[index]

    assert is_managed(_pool("a", region="eu-central-1", types=["m5.xlarge"]))
    assert not is_managed(_pool("b", region="eu-central-1", types=["m5.xlarge"], managed=False))
    assert not is_managed(static)


# -- re-planning -------------------------------------------------------------------------------


def test_replan_is_written_only_when_the_release_moves_by_the_tolerance_or_the_zone_changes() -> (
    None
):
    old = {RELEASE_AT: "2022-01-01T04:00:00Z", PLAN_ZONE: "DE"}
    tolerance = 15 * MINUTE

    assert not plan_moved_materially(old, {**old, RELEASE_AT: "2022-01-01T04:10:00Z"}, tolerance)
    assert plan_moved_materially(old, {**old, RELEASE_AT: "2022-01-01T04:15:00Z"}, tolerance)
    assert plan_moved_materially(old, {**old, PLAN_ZONE: "FR"}, tolerance)


def test_planning_replanner_plans_a_held_pod_with_the_same_policy_code() -> None:
    from datetime import UTC, datetime

    from carbon_kube.domain.clock import FixedClock
    from carbon_kube.operator.replanning import PlanningReplanner
    from carbon_kube.planning.service import PlanningService
    from carbon_kube.planning.settings import PlanningSettings, SourceSettings
    from carbon_kube.planning.sources import build_intensity_source
    from tests.held_workloads import held_pod

    now = datetime(2020, 3, 2, 6, tzinfo=UTC)
    clock = FixedClock(now)
    service = PlanningService(
        build_intensity_source(SourceSettings(), clock),
        clock,
        PlanningSettings(home_zone="DE", policy="temporal", forecast="oracle"),
    )
    pod = held_pod("p").deadline(now + 12 * HOUR, expected=HOUR).build()

    fresh = PlanningReplanner(service).replan(pod, now, now)

    assert fresh is not None
    assert fresh[PLAN_ZONE] == "DE"
    release_at = datetime.fromisoformat(fresh[RELEASE_AT].replace("Z", "+00:00"))
    assert now <= release_at <= now + 11 * HOUR
