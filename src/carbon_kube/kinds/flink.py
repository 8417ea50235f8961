"""Flink operator FlinkDeployments (v1beta1): held by ``spec.job.state: suspended``.

Released by ``spec.job.state: running``; never tightened to a zone (their pods come from a pod
template the Flink operator owns). A session cluster (no ``spec.job``) has no job to suspend
and is not held; one created suspended by its owner is left alone. Sized as the job manager
plus ``taskManager.replicas`` task managers. A released job is paused the operator's way,
``spec.job.state: suspended`` with ``upgradeMode: savepoint`` (the operator takes a savepoint
first), and resumed with ``running`` (restored from that savepoint). Pure, no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any, Final

from carbon_kube.domain.workloads import WorkloadKind
from carbon_kube.kinds.holding import (
    pause_body,
    plan_recorded,
    release_annotations,
    resume_body,
    suspended_hold_is_ours,
)
from carbon_kube.kinds.objects import mapping, metadata, spec
from carbon_kube.kinds.protocol import ApiCoordinates, JsonPatch, ReleasePatch
from carbon_kube.kinds.quantities import parse_cpu, parse_memory_gib, positive_int, with_defaults

__all__ = ["FLINK", "FLINK_SUSPENDED", "FlinkKind", "savepoint_of_suspension"]

FLINK_SUSPENDED = "suspended"
FLINK_RUNNING = "running"
FLINK_SAVEPOINT = "savepoint"


class FlinkKind:
    """:class:`~carbon_kube.kinds.protocol.KindAdapter` of FlinkDeployments."""

    workload_kind: Final = WorkloadKind.FLINK
    api: Final = ApiCoordinates(
        "flink.apache.org", "v1beta1", "FlinkDeployment", "flinkdeployments"
    )
    supports_pause: Final = True

    def is_held(self, obj: Mapping[str, Any]) -> bool:
        state = str(mapping(spec(obj).get("job")).get("state", ""))
        return suspended_hold_is_ours(obj) and state.lower() == FLINK_SUSPENDED

    def already_held(self, obj: Mapping[str, Any]) -> bool:
        return plan_recorded(obj) and mapping(spec(obj).get("job")).get("state") == FLINK_SUSPENDED

    def foreign_hold(self, obj: Mapping[str, Any]) -> str | None:
        job = spec(obj).get("job")
        if not isinstance(job, Mapping):
            return (
                "carbon-kube: FlinkDeployment without spec.job is a session cluster; there is "
                "no job to suspend, so it is not held"
            )
        if job.get("state") == FLINK_SUSPENDED:
            return (
                "carbon-kube: FlinkDeployment is created with spec.job.state: suspended by its "
                "owner; carbon-kube leaves it alone and does not plan it"
            )
        return None

    def hold_patch(self, obj: Mapping[str, Any]) -> JsonPatch:
        return [{"op": "add", "path": "/spec/job/state", "value": FLINK_SUSPENDED}]

    def release_patch(
        self,
        obj: Mapping[str, Any],
        *,
        released_at: datetime,
        reason: str,
        node_labels: Iterable[Mapping[str, str]],
    ) -> ReleasePatch:
        body = {
            "metadata": {"annotations": release_annotations(released_at, reason)},
            "spec": {"job": {"state": FLINK_RUNNING}},
        }
        return ReleasePatch(body, "merge", None)

    def pause_patch(self, obj: Mapping[str, Any], *, paused_at: datetime) -> dict[str, Any]:
        # The operator takes a savepoint, then stops the job (upgradeMode: savepoint).
        suspended = {"job": {"state": FLINK_SUSPENDED, "upgradeMode": FLINK_SAVEPOINT}}
        return pause_body(obj, paused_at, suspended)

    def resume_patch(
        self, obj: Mapping[str, Any], *, resumed_at: datetime, abandon_pausing: str | None = None
    ) -> dict[str, Any]:
        # The operator restores the job from the last savepoint.
        running = {"job": {"state": FLINK_RUNNING}}
        return resume_body(resumed_at, running, abandon_pausing=abandon_pausing)

    def pause_confirmed(self, obj: Mapping[str, Any]) -> bool:
        return savepoint_of_suspension(obj) is not None

    def finished(self, obj: Mapping[str, Any]) -> bool:
        state = str(mapping(mapping(obj.get("status")).get("jobStatus")).get("state", ""))
        return state.upper() in ("FINISHED", "FAILED", "CANCELED")

    def size(self, obj: Mapping[str, Any]) -> tuple[float, float]:
        deployment = spec(obj)
        job_manager = mapping(mapping(deployment.get("jobManager")).get("resource"))
        task_manager_spec = mapping(deployment.get("taskManager"))
        task_manager = mapping(task_manager_spec.get("resource"))
        replicas = positive_int(task_manager_spec.get("replicas"), default=1)
        cpus = (parse_cpu(job_manager.get("cpu", 1)) or 1.0) + replicas * (
            parse_cpu(task_manager.get("cpu", 1)) or 1.0
        )
        memory = (parse_memory_gib(job_manager.get("memory", "1g")) or 1.0) + replicas * (
            parse_memory_gib(task_manager.get("memory", "1g")) or 1.0
        )
        return with_defaults(cpus, memory)


def savepoint_of_suspension(obj: Mapping[str, Any]) -> str | None:
    """Where the operator saved a suspended job's state, once the suspension is complete.

    The operator's status protocol (FlinkDeploymentStatus, operator 1.x): the cancel with
    savepoint runs as ``lifecycleState: UPGRADING``; done, the job is ``SUSPENDED`` and the
    savepoint is ``jobStatus.upgradeSavepointPath`` (older operators: only
    ``jobStatus.savepointInfo.lastSavepoint.location``). None until both are there for the
    spec as it is now (``status.observedGeneration``): the path of an earlier pause stays in
    the status after its restore, so only a status that has seen this suspension counts. The
    operator's last-state placeholder path counts too: the state is then kept in its HA
    metadata.
    """
    status = mapping(obj.get("status"))
    if str(status.get("lifecycleState", "")).upper() != "SUSPENDED":
        return None
    generation = metadata(obj).get("generation")
    observed = status.get("observedGeneration")
    if isinstance(generation, int) and (not isinstance(observed, int) or observed < generation):
        return None
    job_status = mapping(status.get("jobStatus"))
    path = job_status.get("upgradeSavepointPath") or mapping(
        mapping(job_status.get("savepointInfo")).get("lastSavepoint")
    ).get("location")
    return str(path) if path else None


FLINK: Final = FlinkKind()
