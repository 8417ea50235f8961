"""Spark operator SparkApplications (v1beta2): held by ``spec.suspend``, like Jobs.

Released by ``spec.suspend: false`` with the node selector tightened to the planned zone in
the same patch; sized as the driver plus ``executor.instances`` executors (Spark's JVM sizes,
``4g``, are read as GiB).

A released application marked interruptible is paused with ``spec.suspend: true`` too: the
Spark operator (v2) moves it through ``SUSPENDING`` to ``SUSPENDED`` and deletes its driver and
executors; ``suspend: false`` resubmits it (``RESUMING``), and Spark starts the application
from the beginning. Only an application that checkpoints (Structured Streaming's
``checkpointLocation``, or its own) continues where it was, so pausing is opt-in, as for Jobs,
and ``carbon-kube.io/checkpoint-interval`` states the work a pause loses. Pure, no I/O.
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
from carbon_kube.kinds.objects import mapping, spec
from carbon_kube.kinds.protocol import ApiCoordinates, JsonPatch, ReleasePatch
from carbon_kube.kinds.quantities import parse_cpu, parse_memory_gib, positive_int, with_defaults

__all__ = ["SPARK", "SparkKind"]


class SparkKind(SuspendFlagPausing):
    """:class:`~carbon_kube.kinds.protocol.KindAdapter` of SparkApplications."""

    workload_kind: Final = WorkloadKind.SPARK
    api: Final = ApiCoordinates(
        "sparkoperator.k8s.io", "v1beta2", "SparkApplication", "sparkapplications"
    )
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
        selector = tightening_selector(spec(obj).get("nodeSelector"), zone, node_labels)
        if selector:
            released_spec["nodeSelector"] = selector
        body = {
            "metadata": {"annotations": release_annotations(released_at, reason)},
            "spec": released_spec,
        }
        return ReleasePatch(body, "merge", zone if selector else None)

    def pause_confirmed(self, obj: Mapping[str, Any]) -> bool:
        return _application_state(obj) == "SUSPENDED"

    def finished(self, obj: Mapping[str, Any]) -> bool:
        return _application_state(obj) in ("COMPLETED", "FAILED")

    def size(self, obj: Mapping[str, Any]) -> tuple[float, float]:
        app = spec(obj)
        driver, executor = mapping(app.get("driver")), mapping(app.get("executor"))
        instances = positive_int(executor.get("instances"), default=1)
        cpus = (parse_cpu(driver.get("cores", 1)) or 1.0) + instances * (
            parse_cpu(executor.get("cores", 1)) or 1.0
        )
        memory = (parse_memory_gib(driver.get("memory", "1g")) or 1.0) + instances * (
            parse_memory_gib(executor.get("memory", "1g")) or 1.0
        )
        return with_defaults(cpus, memory)


def _application_state(obj: Mapping[str, Any]) -> str:
    """``status.applicationState.state`` as the operator writes it (``RUNNING``, ...)."""
    state = mapping(mapping(obj.get("status")).get("applicationState")).get("state", "")
    return str(state).upper()


SPARK: Final = SparkKind()
