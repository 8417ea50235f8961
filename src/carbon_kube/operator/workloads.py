"""How each kind of workload is held and released: detection and the release patch (pure).

=================  ==========================================  ==============================
kind               held while                                   released by
=================  ==========================================  ==============================
Pod                our gate is in ``spec.schedulingGates``     deleting that gate (strategic)
batch/v1 Job       ``spec.suspend`` is true                    ``spec.suspend: false``
SparkApplication   ``spec.suspend`` is true                    ``spec.suspend: false``
FlinkDeployment    ``spec.job.state`` is ``suspended``         ``spec.job.state: running``
=================  ==========================================  ==============================

Suspended kinds count as held by Carbon-Kube only when they opted in (label
``carbon-kube.io/flexible: "true"``) or carry a plan (``release-at``/``latest-start``), and were
never released before (no ``released-at``): a user who suspends a job by hand after we released
it keeps it suspended. Pods need no such test, since a removed gate can never come back.

Releasing a Pod (or a never-started Job or SparkApplication) also tightens its node selector to
the planned grid zone, in the same update, so the scheduler cannot place the work elsewhere.
It is tightened only when some known node satisfies both the plan and the workload's own node
selector: a tightening that no node can satisfy would strand the work, which is worse than
running it in another zone. FlinkDeployments are not tightened (their pods come from a pod
template the Flink operator owns).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from carbon_kube.domain.annotations import (
    GRID_ZONE_LABEL,
    LATEST_START,
    PLAN_ZONE,
    RELEASE_AT,
    RELEASED_AT,
    RELEASED_REASON,
    SCHEDULING_GATE,
    format_rfc3339,
    is_opted_in,
)
from carbon_kube.domain.workloads import WorkloadKind
from carbon_kube.kube.client import JOBS, PODS, JsonObject, PatchType, ResourcePath
from carbon_kube.kube.resources import FLINK_DEPLOYMENTS, SPARK_APPLICATIONS

__all__ = [
    "HeldKind",
    "ReleasePatch",
    "is_held",
    "release_patch",
    "resource_of",
    "tightening_selector",
    "workload_kind",
]


class HeldKind(StrEnum):
    POD = "Pod"
    JOB = "Job"
    SPARK = "SparkApplication"
    FLINK = "FlinkDeployment"


_RESOURCES: dict[HeldKind, ResourcePath] = {
    HeldKind.POD: PODS,
    HeldKind.JOB: JOBS,
    HeldKind.SPARK: SPARK_APPLICATIONS,
    HeldKind.FLINK: FLINK_DEPLOYMENTS,
}


def resource_of(kind: HeldKind) -> ResourcePath:
    """The REST path of ``kind``."""
    return _RESOURCES[kind]


_WORKLOAD_KINDS: dict[HeldKind, WorkloadKind] = {
    HeldKind.POD: WorkloadKind.POD,
    HeldKind.JOB: WorkloadKind.JOB,
    HeldKind.SPARK: WorkloadKind.SPARK,
    HeldKind.FLINK: WorkloadKind.FLINK,
}


def workload_kind(kind: HeldKind) -> WorkloadKind:
    """The domain kind of ``kind``; its value is the ``kind`` label of every metric.

    The webhook labels its series with the same values, so decisions, holds and releases of
    one kind join in PromQL.
    """
    return _WORKLOAD_KINDS[kind]


@dataclass(frozen=True, slots=True)
class ReleasePatch:
    """One PATCH that releases a workload; ``zone`` is set when the selector was tightened."""

    body: JsonObject
    patch_type: PatchType
    zone: str | None


def _meta(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    return obj.get("metadata") or {}


def _spec(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    return obj.get("spec") or {}


def _carries_plan(obj: Mapping[str, Any]) -> bool:
    annotations = _meta(obj).get("annotations") or {}
    return RELEASE_AT in annotations or LATEST_START in annotations


def is_held(kind: HeldKind, obj: Mapping[str, Any]) -> bool:
    """True while ``obj`` waits for Carbon-Kube to release it (see the module table)."""
    meta = _meta(obj)
    if meta.get("deletionTimestamp"):
        return False  # going away: releasing it would only start work nobody wants
    spec = _spec(obj)
    if kind is HeldKind.POD:
        gates = spec.get("schedulingGates") or []
        return any(gate.get("name") == SCHEDULING_GATE for gate in gates)
    if RELEASED_AT in (meta.get("annotations") or {}):
        return False
    if not (is_opted_in(meta.get("labels")) or _carries_plan(obj)):
        return False
    if kind is HeldKind.FLINK:
        return str((spec.get("job") or {}).get("state", "")).lower() == "suspended"
    return bool(spec.get("suspend"))


def tightening_selector(
    workload_selector: Mapping[str, str] | None,
    plan_zone: str | None,
    node_labels: Iterable[Mapping[str, str]],
) -> dict[str, str] | None:
    """The node-selector entry to add for ``plan_zone``, or None when it must not be added.

    None when there is no plan zone, when the workload already selects a grid zone (we never
    override the user), or when no known node carries ``plan_zone`` and also matches the
    workload's own selector.
    """
    if not plan_zone:
        return None
    own = dict(workload_selector or {})
    if GRID_ZONE_LABEL in own:
        return None
    wanted = {**own, GRID_ZONE_LABEL: plan_zone}
    for labels in node_labels:
        if all(labels.get(key) == value for key, value in wanted.items()):
            return {GRID_ZONE_LABEL: plan_zone}
    return None


def release_patch(
    kind: HeldKind,
    obj: Mapping[str, Any],
    *,
    released_at: datetime,
    reason: str,
    node_labels: Iterable[Mapping[str, str]] = (),
) -> ReleasePatch:
    """The one PATCH that releases ``obj`` and records when and why (see the module table)."""
    annotations = {RELEASED_AT: format_rfc3339(released_at), RELEASED_REASON: reason}
    plan_zone = (_meta(obj).get("annotations") or {}).get(PLAN_ZONE)
    spec = _spec(obj)
    if kind is HeldKind.POD:
        selector = tightening_selector(spec.get("nodeSelector"), plan_zone, node_labels)
        pod_spec: JsonObject = {"schedulingGates": [{"$patch": "delete", "name": SCHEDULING_GATE}]}
        if selector:
            pod_spec["nodeSelector"] = selector
        body = {"metadata": {"annotations": annotations}, "spec": pod_spec}
        return ReleasePatch(body, "strategic", plan_zone if selector else None)
    if kind is HeldKind.FLINK:
        body = {"metadata": {"annotations": annotations}, "spec": {"job": {"state": "running"}}}
        return ReleasePatch(body, "merge", None)
    released_spec: JsonObject = {"suspend": False}
    selector = None
    if kind is HeldKind.JOB and not (obj.get("status") or {}).get("startTime"):
        # A suspended Job's pod template is mutable only until it first starts.
        template_spec = (spec.get("template") or {}).get("spec") or {}
        selector = tightening_selector(template_spec.get("nodeSelector"), plan_zone, node_labels)
        if selector:
            released_spec["template"] = {"spec": {"nodeSelector": selector}}
    elif kind is HeldKind.SPARK:
        selector = tightening_selector(spec.get("nodeSelector"), plan_zone, node_labels)
        if selector:
            released_spec["nodeSelector"] = selector
    body = {"metadata": {"annotations": annotations}, "spec": released_spec}
    return ReleasePatch(body, "merge", plan_zone if selector else None)
