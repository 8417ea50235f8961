"""Pods: held by Carbon-Kube's scheduling gate, released by deleting that gate.

=========  =========================================  ========================================
held by    ``spec.schedulingGates`` += green-window   (the gate is Carbon-Kube's own: no other
released   deleting that gate (strategic merge)        owner can hold a pod with it)
=========  =========================================  ========================================

Releasing also tightens the node selector to the planned zone in the same update (see
``kinds.holding``). A pod owned by a controller is never gated (the webhook decides that; its
owner is the unit of flexibility). Pure, no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any, Final

from carbon_kube.domain.annotations import SCHEDULING_GATE
from carbon_kube.domain.workloads import WorkloadKind
from carbon_kube.kinds.holding import (
    going_away,
    plan_zone,
    release_annotations,
    tightening_selector,
)
from carbon_kube.kinds.objects import spec
from carbon_kube.kinds.protocol import ApiCoordinates, JsonPatch, ReleasePatch
from carbon_kube.kinds.quantities import pod_requests, with_defaults

__all__ = ["POD", "PodKind"]


class PodKind:
    """:class:`~carbon_kube.kinds.protocol.KindAdapter` of ``v1`` Pods."""

    workload_kind: Final = WorkloadKind.POD
    api: Final = ApiCoordinates("", "v1", "Pod", "pods")
    supports_pause: Final = False

    def is_held(self, obj: Mapping[str, Any]) -> bool:
        return not going_away(obj) and _gated(obj)

    def already_held(self, obj: Mapping[str, Any]) -> bool:
        return _gated(obj)

    def foreign_hold(self, obj: Mapping[str, Any]) -> str | None:
        return None  # another gate holds the pod too, but never takes ours away

    def hold_patch(self, obj: Mapping[str, Any]) -> JsonPatch:
        gate = {"name": SCHEDULING_GATE}
        if spec(obj).get("schedulingGates"):
            return [{"op": "add", "path": "/spec/schedulingGates/-", "value": gate}]
        return [{"op": "add", "path": "/spec/schedulingGates", "value": [gate]}]

    def release_patch(
        self,
        obj: Mapping[str, Any],
        *,
        released_at: datetime,
        reason: str,
        node_labels: Iterable[Mapping[str, str]],
    ) -> ReleasePatch:
        zone = plan_zone(obj)
        selector = tightening_selector(spec(obj).get("nodeSelector"), zone, node_labels)
        pod_spec: dict[str, Any] = {
            "schedulingGates": [{"$patch": "delete", "name": SCHEDULING_GATE}]
        }
        if selector:
            pod_spec["nodeSelector"] = selector
        body = {"metadata": {"annotations": release_annotations(released_at, reason)}}
        return ReleasePatch({**body, "spec": pod_spec}, "strategic", zone if selector else None)

    def size(self, obj: Mapping[str, Any]) -> tuple[float, float]:
        return with_defaults(*pod_requests(spec(obj)))


def _gated(obj: Mapping[str, Any]) -> bool:
    return any(
        isinstance(gate, Mapping) and gate.get("name") == SCHEDULING_GATE
        for gate in spec(obj).get("schedulingGates") or []
    )


POD: Final = PodKind()
