"""Every workload kind has one adapter in the registry, and its hold is what it calls held."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from carbon_kube.domain.annotations import (
    FLEXIBLE_LABEL,
    PAUSED_AT,
    PAUSES,
    PAUSING_ABANDONED,
    RELEASE_AT,
    RESUMED_AT,
)
from carbon_kube.domain.workloads import WorkloadKind
from carbon_kube.kinds.protocol import JsonPatch
from carbon_kube.kinds.registry import KINDS, adapter_for, kind_named, kind_of, pausable
from carbon_kube.kube.client import JOBS, PODS
from carbon_kube.kube.resources import FLINK_DEPLOYMENTS, SPARK_APPLICATIONS, workload_resource

_POD_SPEC: dict[str, Any] = {"containers": [{"name": "work", "image": "pause"}]}

# What a user submits: opted in, not held yet.
_SUBMITTED: dict[WorkloadKind, dict[str, Any]] = {
    WorkloadKind.POD: {"spec": dict(_POD_SPEC)},
    WorkloadKind.JOB: {"spec": {"template": {"spec": dict(_POD_SPEC)}}},
    WorkloadKind.SPARK: {"spec": {"type": "Scala", "driver": {}, "executor": {}}},
    WorkloadKind.FLINK: {"spec": {"job": {"jarURI": "local:///job.jar", "state": "running"}}},
}


def _submitted(kind: WorkloadKind) -> dict[str, Any]:
    api = adapter_for(kind).api
    obj = copy.deepcopy(_SUBMITTED[kind])
    meta = {"name": "w", "namespace": "default", "labels": {FLEXIBLE_LABEL: "true"}}
    return {"apiVersion": api.api_version, "kind": api.kind, "metadata": meta, **obj}


def _apply(obj: dict[str, Any], patch: JsonPatch) -> dict[str, Any]:
    """RFC 6902 ``add`` (the only op a hold uses), including ``/-`` appends."""
    result = copy.deepcopy(obj)
    for op in patch:
        assert op["op"] == "add"
        *parents, last = [
            p.replace("~1", "/").replace("~0", "~") for p in op["path"][1:].split("/")
        ]
        target: Any = result
        for part in parents:
            target = target[int(part)] if isinstance(target, list) else target[part]
        if isinstance(target, list):
            target.append(op["value"]) if last == "-" else target.insert(int(last), op["value"])
        else:
            target[last] = op["value"]
    return result


def test_every_workload_kind_has_one_adapter_with_its_coordinates() -> None:
    assert set(KINDS) == set(WorkloadKind)
    for kind, adapter in KINDS.items():
        api = adapter.api
        assert adapter.workload_kind is kind
        assert all((api.version, api.kind, api.plural))
        assert kind_of(api.group, api.version, api.kind) is kind
        assert kind_named(api.kind) is kind
        assert workload_resource(kind).plural == api.plural


def test_the_rest_paths_come_from_the_kinds_coordinates() -> None:
    assert workload_resource(WorkloadKind.POD) == PODS
    assert workload_resource(WorkloadKind.JOB) == JOBS
    assert SPARK_APPLICATIONS.group_version == "apis/sparkoperator.k8s.io/v1beta2"
    assert FLINK_DEPLOYMENTS.group_version == "apis/flink.apache.org/v1beta1"


@pytest.mark.parametrize("kind", list(WorkloadKind))
def test_the_hold_patch_makes_a_held_object(kind: WorkloadKind) -> None:
    adapter = adapter_for(kind)
    obj = _submitted(kind)
    assert not adapter.is_held(obj)
    assert adapter.foreign_hold(obj) is None

    held = _apply(obj, adapter.hold_patch(obj))

    assert adapter.is_held(held)
    held["metadata"]["annotations"] = {RELEASE_AT: "2022-01-01T00:00:00Z"}  # the plan, recorded
    assert adapter.already_held(held)


@pytest.mark.parametrize("kind", list(WorkloadKind))
def test_a_kind_says_it_can_pause_exactly_when_it_has_pause_and_resume(
    kind: WorkloadKind,
) -> None:
    adapter = adapter_for(kind)
    assert adapter.supports_pause == (pausable(kind) is not None)
    assert adapter.supports_pause == (kind is not WorkloadKind.POD)


_PAUSABLE_KINDS = [WorkloadKind.JOB, WorkloadKind.SPARK, WorkloadKind.FLINK]


@pytest.mark.parametrize("kind", _PAUSABLE_KINDS)
def test_pause_then_resume_records_both_and_counts_pauses(kind: WorkloadKind) -> None:
    adapter = pausable(kind)
    assert adapter is not None
    obj = _submitted(kind)
    at = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)

    first = adapter.pause_patch(obj, paused_at=at)
    assert first["metadata"]["annotations"] == {PAUSED_AT: "2026-03-10T12:00:00Z", PAUSES: "1"}
    obj["metadata"].setdefault("annotations", {})[PAUSES] = "1"
    assert adapter.pause_patch(obj, paused_at=at)["metadata"]["annotations"][PAUSES] == "2"
    resumed = adapter.resume_patch(obj, resumed_at=at + timedelta(hours=2))
    assert resumed["metadata"]["annotations"] == {
        PAUSED_AT: None,
        RESUMED_AT: "2026-03-10T14:00:00Z",
    }


def test_a_job_pauses_with_suspend_and_flink_with_a_savepoint() -> None:
    at = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
    job, flink = pausable(WorkloadKind.JOB), pausable(WorkloadKind.FLINK)
    assert job is not None
    assert flink is not None
    assert job.pause_patch(_submitted(WorkloadKind.JOB), paused_at=at)["spec"] == {"suspend": True}
    assert job.resume_patch({}, resumed_at=at)["spec"] == {"suspend": False}
    assert flink.pause_patch(_submitted(WorkloadKind.FLINK), paused_at=at)["spec"] == {
        "job": {"state": "suspended", "upgradeMode": "savepoint"}
    }
    assert flink.resume_patch({}, resumed_at=at)["spec"] == {"job": {"state": "running"}}


@pytest.mark.parametrize("kind", _PAUSABLE_KINDS)
def test_the_last_resume_records_why_pausing_was_abandoned(kind: WorkloadKind) -> None:
    adapter = pausable(kind)
    assert adapter is not None
    at = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
    resumed = adapter.resume_patch({}, resumed_at=at, abandon_pausing="no savepoint")
    assert resumed["metadata"]["annotations"][PAUSING_ABANDONED] == (
        "2026-03-10T12:00:00Z no savepoint"
    )


# What each kind's own controller writes once the pause is done (and before: nothing).
_CONFIRMED_PAUSES: dict[WorkloadKind, dict[str, Any]] = {
    WorkloadKind.JOB: {"conditions": [{"type": "Suspended", "status": "True"}]},
    WorkloadKind.SPARK: {"applicationState": {"state": "SUSPENDED"}},
    WorkloadKind.FLINK: {
        "lifecycleState": "SUSPENDED",
        "jobStatus": {"state": "FINISHED", "upgradeSavepointPath": "s3://sp/savepoint-1"},
    },
}
_UNCONFIRMED_PAUSES: dict[WorkloadKind, list[dict[str, Any]]] = {
    WorkloadKind.JOB: [{}, {"conditions": [{"type": "Suspended", "status": "False"}]}],
    WorkloadKind.SPARK: [{}, {"applicationState": {"state": "SUSPENDING"}}],
    WorkloadKind.FLINK: [
        {},
        # Cancel with savepoint under way; then a suspension with no savepoint recorded.
        {"lifecycleState": "UPGRADING", "jobStatus": {"savepointInfo": {"triggerId": "t1"}}},
        {"lifecycleState": "SUSPENDED", "jobStatus": {"state": "FINISHED"}},
    ],
}


@pytest.mark.parametrize("kind", _PAUSABLE_KINDS)
def test_a_pause_is_confirmed_only_by_the_kinds_own_controller(kind: WorkloadKind) -> None:
    adapter = pausable(kind)
    assert adapter is not None
    assert adapter.pause_confirmed({"status": _CONFIRMED_PAUSES[kind]})
    for status in _UNCONFIRMED_PAUSES[kind]:
        assert not adapter.pause_confirmed({"status": status}), status


def test_a_flink_status_that_has_not_seen_the_pause_does_not_confirm_it() -> None:
    # After a first pause and restore the old savepoint path stays; the new suspension
    # (generation 4) is not confirmed by a status the operator wrote for generation 3.
    flink = pausable(WorkloadKind.FLINK)
    assert flink is not None
    status = {**_CONFIRMED_PAUSES[WorkloadKind.FLINK], "observedGeneration": 3}
    assert not flink.pause_confirmed({"metadata": {"generation": 4}, "status": status})
    assert flink.pause_confirmed(
        {"metadata": {"generation": 4}, "status": {**status, "observedGeneration": 4}}
    )


def test_an_older_flink_operator_confirms_with_its_last_savepoint() -> None:
    status = {
        "lifecycleState": "SUSPENDED",
        "jobStatus": {"savepointInfo": {"lastSavepoint": {"location": "file:///sp/1"}}},
    }
    assert pausable(WorkloadKind.FLINK).pause_confirmed({"status": status})  # type: ignore[union-attr]


def test_a_spark_application_pauses_with_suspend_and_finishes_by_its_state() -> None:
    spark = pausable(WorkloadKind.SPARK)
    assert spark is not None
    at = datetime(2026, 3, 10, 12, 0, tzinfo=UTC)
    assert spark.pause_patch(_submitted(WorkloadKind.SPARK), paused_at=at)["spec"] == {
        "suspend": True
    }
    assert spark.resume_patch({}, resumed_at=at)["spec"] == {"suspend": False}
    for state, over in (("RUNNING", False), ("COMPLETED", True), ("FAILED", True)):
        assert spark.finished({"status": {"applicationState": {"state": state}}}) is over


@pytest.mark.parametrize("kind", list(WorkloadKind))
def test_every_kind_is_sized_with_defaults_when_it_says_nothing(kind: WorkloadKind) -> None:
    cpus, memory_gib = adapter_for(kind).size(_submitted(kind))
    assert (cpus >= 1.0, memory_gib >= 1.0) == (True, True)
