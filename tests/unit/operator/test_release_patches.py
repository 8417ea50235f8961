"""Each kind is recognised as held its own way and released by one patch that records why."""

from __future__ import annotations

import pytest

from carbon_kube.domain.annotations import (
    GRID_ZONE_LABEL,
    RELEASED_AT,
    RELEASED_REASON,
    SCHEDULING_GATE,
)
from carbon_kube.domain.workloads import WorkloadKind
from carbon_kube.operator.workloads import is_held, release_patch, tightening_selector
from tests.builders import HOUR, T0
from tests.held_workloads import held, held_pod

DE_NODE = {GRID_ZONE_LABEL: "DE", "kubernetes.io/arch": "amd64"}
FR_NODE = {GRID_ZONE_LABEL: "FR", "kubernetes.io/arch": "arm64"}


@pytest.mark.parametrize("kind", list(WorkloadKind))
def test_every_kind_built_held_is_recognised_as_held(kind: WorkloadKind) -> None:
    assert is_held(kind, held(kind, "w").planned(release_at=T0).build())


def test_pod_without_our_gate_is_not_held_even_with_a_plan() -> None:
    pod = held_pod("p").planned(release_at=T0).build()
    pod["spec"]["schedulingGates"] = [{"name": "someone-else/gate"}]

    assert not is_held(WorkloadKind.POD, pod)


@pytest.mark.parametrize("kind", [WorkloadKind.JOB, WorkloadKind.SPARK, WorkloadKind.FLINK])
def test_suspended_workload_that_did_not_opt_in_and_has_no_plan_is_not_ours(
    kind: WorkloadKind,
) -> None:
    assert not is_held(kind, held(kind, "w").not_opted_in().build())


@pytest.mark.parametrize("kind", [WorkloadKind.JOB, WorkloadKind.SPARK, WorkloadKind.FLINK])
def test_workload_released_once_is_never_released_again_if_suspended_by_hand(
    kind: WorkloadKind,
) -> None:
    obj = held(kind, "w").annotated(RELEASED_AT, "2022-01-01T00:00:00Z").build()

    assert not is_held(kind, obj)


def test_workload_being_deleted_is_not_held() -> None:
    pod = held_pod("p").build()
    pod["metadata"]["deletionTimestamp"] = "2022-01-01T00:00:00Z"

    assert not is_held(WorkloadKind.POD, pod)


def test_pod_release_deletes_only_our_gate_and_pins_the_plan_zone_in_the_same_patch() -> None:
    pod = held_pod("p").planned(release_at=T0, zone="DE").build()

    patch = release_patch(
        WorkloadKind.POD,
        pod,
        released_at=T0 + HOUR,
        reason="planned",
        node_labels=[DE_NODE, FR_NODE],
    )

    assert patch.patch_type == "strategic"
    assert patch.body["spec"]["schedulingGates"] == [{"$patch": "delete", "name": SCHEDULING_GATE}]
    assert patch.body["spec"]["nodeSelector"] == {GRID_ZONE_LABEL: "DE"}
    assert patch.body["metadata"]["annotations"] == {
        RELEASED_AT: "2022-01-01T01:00:00Z",
        RELEASED_REASON: "planned",
    }
    assert patch.zone == "DE"


def test_pod_is_not_pinned_to_a_zone_no_node_is_labelled_with() -> None:
    pod = held_pod("p").planned(release_at=T0, zone="PL").build()

    patch = release_patch(
        WorkloadKind.POD, pod, released_at=T0, reason="planned", node_labels=[DE_NODE]
    )

    assert "nodeSelector" not in patch.body["spec"]
    assert patch.zone is None


def test_pin_must_be_satisfiable_together_with_the_workloads_own_selector() -> None:
    # The pod wants arm64, the only DE node is amd64: pinning DE would strand it.
    assert tightening_selector({"kubernetes.io/arch": "arm64"}, "DE", [DE_NODE, FR_NODE]) is None
    assert tightening_selector({"kubernetes.io/arch": "arm64"}, "FR", [DE_NODE, FR_NODE]) == {
        GRID_ZONE_LABEL: "FR"
    }


def test_a_grid_zone_the_user_selected_is_never_overridden() -> None:
    assert tightening_selector({GRID_ZONE_LABEL: "FR"}, "DE", [DE_NODE, FR_NODE]) is None


def test_job_release_unsuspends_and_pins_the_template_when_never_started() -> None:
    job = held(WorkloadKind.JOB, "j").planned(release_at=T0, zone="DE").build()

    patch = release_patch(
        WorkloadKind.JOB, job, released_at=T0, reason="planned", node_labels=[DE_NODE]
    )

    assert patch.patch_type == "merge"
    assert patch.body["spec"] == {
        "suspend": False,
        "template": {"spec": {"nodeSelector": {GRID_ZONE_LABEL: "DE"}}},
    }


def test_job_that_ran_before_is_unsuspended_without_touching_its_immutable_template() -> None:
    job = held(WorkloadKind.JOB, "j").planned(release_at=T0, zone="DE").started().build()

    patch = release_patch(
        WorkloadKind.JOB, job, released_at=T0, reason="planned", node_labels=[DE_NODE]
    )

    assert patch.body["spec"] == {"suspend": False}


def test_spark_application_is_unsuspended_and_pinned() -> None:
    app = held(WorkloadKind.SPARK, "s").planned(release_at=T0, zone="DE").build()

    patch = release_patch(
        WorkloadKind.SPARK, app, released_at=T0, reason="planned", node_labels=[DE_NODE]
    )

    assert patch.body["spec"] == {"suspend": False, "nodeSelector": {GRID_ZONE_LABEL: "DE"}}


def test_flink_deployment_is_set_running_and_keeps_its_pod_template() -> None:
    app = held(WorkloadKind.FLINK, "f").planned(release_at=T0, zone="DE").build()

    patch = release_patch(
        WorkloadKind.FLINK, app, released_at=T0, reason="latest-safe-start", node_labels=[DE_NODE]
    )

    assert patch.body["spec"] == {"job": {"state": "running"}}
    assert patch.body["metadata"]["annotations"][RELEASED_REASON] == "latest-safe-start"
