"""Kubernetes objects (plain JSON) -> domain ``Workload``: identity, size and flexibility.

Shared by the webhook (at admission) and the controller (when re-planning and estimating
outcomes), so both read the same annotations and the same resource requests. Which kinds exist
and how each is sized belong to ``carbon_kube.kinds`` (asked through its registry); this module
only joins a kind's size with the user's annotations. Pure: no API calls, no clock reads.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from carbon_kube.domain.annotations import FlexibilityRequest, parse_flexibility
from carbon_kube.domain.workloads import Workload, WorkloadKind
from carbon_kube.domain.zones import Zone
from carbon_kube.kinds.objects import mapping, string_annotations
from carbon_kube.kinds.quantities import parse_cpu, parse_memory_gib, pod_requests
from carbon_kube.kinds.registry import adapter_for, pausable

__all__ = [
    "object_size",
    "parse_cpu",
    "parse_memory_gib",
    "pod_requests",
    "workload_from_object",
    "workload_id",
]


def object_size(kind: WorkloadKind, obj: Mapping[str, Any]) -> tuple[float, float]:
    """(vCPU, GiB) the whole workload uses while it runs, with defaults for missing sizes."""
    return adapter_for(kind).size(obj)


def workload_id(obj: Mapping[str, Any], namespace: str | None = None) -> str:
    """``namespace/name`` (``generateName`` + ``*`` before the apiserver names the object)."""
    metadata = mapping(obj.get("metadata"))
    name = metadata.get("name") or f"{metadata.get('generateName') or 'unnamed-'}*"
    return f"{metadata.get('namespace') or namespace or 'default'}/{name}"


def workload_from_object(
    kind: WorkloadKind,
    obj: Mapping[str, Any],
    *,
    home_zone: Zone,
    submit_at: datetime,
    namespace: str | None = None,
) -> tuple[Workload, FlexibilityRequest]:
    """The workload an opted-in object describes; ``InputError`` for invalid annotations.

    ``submit_at`` is the admission instant (``max-delay`` counts from it). A deadline
    before it is kept (the workload cannot meet it and is started at once); the domain
    ``Workload`` insists on ``deadline >= submit``, so it is clamped to ``submit_at``. Only a
    kind the controller can pause is planned as interruptible (in segments): a Pod marked
    interruptible would be released for its first segment and then run on regardless.
    """
    request = parse_flexibility(string_annotations(obj), submit_at=submit_at)
    cpus, memory_gib = object_size(kind, obj)
    workload = Workload(
        workload_id=workload_id(obj, namespace),
        submit_at=submit_at,
        expected_duration=request.expected_duration,
        cpus=cpus,
        memory_gib=memory_gib,
        deadline=max(request.deadline, submit_at),
        home_zone=home_zone,
        allowed_zones=request.allowed_zones,
        interruptible=request.interruptible and pausable(kind) is not None,
        kind=kind,
    )
    return workload, request
