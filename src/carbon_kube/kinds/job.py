"""batch/v1 Jobs: held by ``spec.suspend: true``, released by ``spec.suspend: false``.

A Job created suspended by someone else (Kueue) is left alone: its flag is theirs. Releasing a
Job that never started also tightens its pod template's node selector to the planned zone (a
suspended Job's template is mutable only until it first starts). Its size is its pod
template's requests times ``parallelism``. A released Job that is interruptible (it checkpoints,
says its owner) is paused with ``suspend: true`` (the Job controller deletes its pods) and
resumed with ``suspend: false`` (new pods restart from the last checkpoint). Pure, no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any, Final

from carbon_kube.domain.workloads import WorkloadKind
from carbon_kube.kinds.holding import (
    SUSPEND_PATCH,
    SuspendFlagPausing,
    plan_recorded,
    plan_zone,
    release_annotations,
    suspend_flag_foreign,
    suspended_hold_is_ours,
    tightening_selector,
)
from carbon_kube.kinds.objects import condition_true, mapping, spec
from carbon_kube.kinds.protocol import ApiCoordinates, JsonPatch, ReleasePatch
from carbon_kube.kinds.quantities import pod_requests, positive_int, with_defaults

__all__ = ["JOB", "JobKind"]


class JobKind(SuspendFlagPausing):
    """:class:`~carbon_kube.kinds.protocol.KindAdapter` of ``batch/v1`` Jobs."""

    workload_kind: Final = WorkloadKind.JOB
    api: Final = ApiCoordinates("batch", "v1", "Job", "jobs")
    supports_pause: Final = True

    def is_held(self, obj: Mapping[str, Any]) -> bool:
        return suspended_hold_is_ours(obj) and bool(spec(obj).get("suspend"))

    def already_held(self, obj: Mapping[str, Any]) -> bool:
        return plan_recorded(obj) and spec(obj).get("suspend") is True

    def foreign_hold(self, obj: Mapping[str, Any]) -> str | None:
        return suspend_flag_foreign(self.workload_kind, obj)

    def hold_patch(self, obj: Mapping[str, Any]) -> JsonPatch:
        return [dict(op) for op in SUSPEND_PATCH]

    def release_patch(
        self,
        obj: Mapping[str, Any],
        *,
        released_at: datetime,
        reason: str,
        node_labels: Iterable[Mapping[str, str]],
    ) -> ReleasePatch:
        zone = plan_zone(obj)
        released_spec: dict[str, Any] = {"suspend": False}
        selector = None
        if not mapping(obj.get("status")).get("startTime"):
            template_spec = mapping(mapping(spec(obj).get("template")).get("spec"))
            selector = tightening_selector(template_spec.get("nodeSelector"), zone, node_labels)
            if selector:
                released_spec["template"] = {"spec": {"nodeSelector": selector}}
        body = {
            "metadata": {"annotations": release_annotations(released_at, reason)},
            "spec": released_spec,
        }
        return ReleasePatch(body, "merge", zone if selector else None)

    def pause_confirmed(self, obj: Mapping[str, Any]) -> bool:
        # The Job controller sets Suspended=True in the sync that deletes the active pods.
        return condition_true(obj, "Suspended")

    def finished(self, obj: Mapping[str, Any]) -> bool:
        return condition_true(obj, "Complete", "Failed")

    def size(self, obj: Mapping[str, Any]) -> tuple[float, float]:
        job_spec = spec(obj)
        cpus, memory = pod_requests(mapping(mapping(job_spec.get("template")).get("spec")))
        parallelism = positive_int(job_spec.get("parallelism"), default=1)
        return with_defaults(cpus * parallelism, memory * parallelism)


JOB: Final = JobKind()
