"""The controller's questions about a held workload, answered by its kind (``kinds.registry``).

How each kind is held and released (gate, ``spec.suspend``, Flink's ``spec.job.state``), whose
hold it is, and when a release also tightens the node selector are the kinds' business (see
``carbon_kube.kinds`` and docs/kinds.md); this module only dispatches on
:class:`~carbon_kube.domain.workloads.WorkloadKind` so the controller and its tests name a kind
once. Pure: no API calls.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from carbon_kube.domain.workloads import WorkloadKind
from carbon_kube.kinds.holding import tightening_selector
from carbon_kube.kinds.protocol import ReleasePatch
from carbon_kube.kinds.registry import adapter_for
from carbon_kube.kube.resources import workload_resource as resource_of

__all__ = [
    "ReleasePatch",
    "is_held",
    "kind_name",
    "release_patch",
    "resource_of",
    "tightening_selector",
]


def is_held(kind: WorkloadKind, obj: Mapping[str, Any]) -> bool:
    """True while ``obj`` waits for Carbon-Kube to release it."""
    return adapter_for(kind).is_held(obj)


def kind_name(kind: WorkloadKind) -> str:
    """The Kubernetes spelling of ``kind`` (``Pod``, ``SparkApplication``), for logs."""
    return adapter_for(kind).api.kind


def release_patch(
    kind: WorkloadKind,
    obj: Mapping[str, Any],
    *,
    released_at: datetime,
    reason: str,
    node_labels: Iterable[Mapping[str, str]] = (),
) -> ReleasePatch:
    """The one PATCH that releases ``obj`` and records when and why."""
    return adapter_for(kind).release_patch(
        obj, released_at=released_at, reason=reason, node_labels=node_labels
    )
