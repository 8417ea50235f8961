"""Kubernetes objects (plain JSON) -> domain ``Workload``: which kinds, how big, how flexible.

Shared by the webhook (at admission) and the controller (when re-planning), so both read the
same annotations and the same resource requests. Pure: no API calls, no clock reads.

Sizes come from the objects' own resource fields; only the *ratio* between candidate plans
matters to a policy choosing a start or zone for one workload, so an object without requests
is planned as one vCPU and 1 GiB rather than refused. Malformed quantities in those fields
(which the apiserver or the operator will reject anyway) fall back to the same defaults:
the annotations are the user's contract with Carbon-Kube, the sizes are estimates.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from carbon_kube.domain.annotations import FlexibilityRequest, parse_flexibility
from carbon_kube.domain.workloads import Workload, WorkloadKind
from carbon_kube.domain.zones import Zone

DEFAULT_CPUS = 1.0
DEFAULT_MEMORY_GIB = 1.0


@dataclass(frozen=True, slots=True)
class KindRef:
    """An API group, version and kind as in an AdmissionRequest's ``kind``."""

    group: str
    version: str
    kind: str


# The kinds Carbon-Kube holds, and how (see webhook.mutating for the patches).
SUPPORTED_KINDS: Mapping[KindRef, WorkloadKind] = {
    KindRef("", "v1", "Pod"): WorkloadKind.POD,
    KindRef("batch", "v1", "Job"): WorkloadKind.JOB,
    KindRef("sparkoperator.k8s.io", "v1beta2", "SparkApplication"): WorkloadKind.SPARK,
    KindRef("flink.apache.org", "v1beta1", "FlinkDeployment"): WorkloadKind.FLINK,
}

_CPU = re.compile(r"^(\d+(?:\.\d+)?)(m?)$")
# Kubernetes quantities (Ki, Mi, Gi, Ti, k, M, G, T) and JVM/Spark/Flink sizes (k, m, g, t
# meaning KiB..TiB, as in spark.executor.memory=4g and Flink's 2048m).
_K8S_MEMORY_GIB = {
    "": 1 / 2**30,
    "Ki": 1 / 2**20,
    "Mi": 1 / 2**10,
    "Gi": 1.0,
    "Ti": 2.0**10,
    "k": 1e3 / 2**30,
    "M": 1e6 / 2**30,
    "G": 1e9 / 2**30,
    "T": 1e12 / 2**30,
}
_JVM_MEMORY_GIB = {"k": 1 / 2**20, "m": 1 / 2**10, "g": 1.0, "t": 2.0**10}
_MEMORY = re.compile(r"^(\d+(?:\.\d+)?)([A-Za-z]*)$")


def kind_of(ref: KindRef) -> WorkloadKind | None:
    """The workload kind of an API kind, or None for kinds Carbon-Kube leaves alone."""
    return SUPPORTED_KINDS.get(ref)


def parse_cpu(value: object) -> float | None:
    """``"500m"`` -> 0.5, ``2`` -> 2.0; None when not a non-negative CPU quantity."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value) if value >= 0 else None
    match = _CPU.match(str(value).strip())
    if match is None:
        return None
    amount = float(match.group(1))
    return amount / 1000 if match.group(2) else amount


def parse_memory_gib(value: object) -> float | None:
    """Kubernetes (``512Mi``, ``2G``) or JVM (``4g``, ``2048m``) sizes in GiB; None if neither."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value) / 2**30 if value >= 0 else None
    match = _MEMORY.match(str(value).strip())
    if match is None:
        return None
    amount, unit = float(match.group(1)), match.group(2)
    if unit in _K8S_MEMORY_GIB:
        return amount * _K8S_MEMORY_GIB[unit]
    if unit in _JVM_MEMORY_GIB:
        return amount * _JVM_MEMORY_GIB[unit]
    return None


def pod_requests(pod_spec: Mapping[str, Any] | None) -> tuple[float, float]:
    """(vCPU, GiB) a pod requests: the sum over containers, or the largest init container."""
    spec = pod_spec or {}
    cpus, memory = _sum_requests(spec.get("containers"))
    init_cpus, init_memory = 0.0, 0.0
    for container in _dicts(spec.get("initContainers")):
        c, m = _sum_requests([container])
        init_cpus, init_memory = max(init_cpus, c), max(init_memory, m)
    return max(cpus, init_cpus), max(memory, init_memory)


def object_size(kind: WorkloadKind, obj: Mapping[str, Any]) -> tuple[float, float]:
    """(vCPU, GiB) the whole workload uses while it runs, with defaults for missing sizes."""
    spec = _mapping(obj.get("spec"))
    if kind is WorkloadKind.POD:
        cpus, memory = pod_requests(spec)
    elif kind is WorkloadKind.JOB:
        template = _mapping(spec.get("template"))
        cpus, memory = pod_requests(_mapping(template.get("spec")))
        parallelism = _positive_int(spec.get("parallelism"), default=1)
        cpus, memory = cpus * parallelism, memory * parallelism
    elif kind is WorkloadKind.SPARK:
        cpus, memory = _spark_size(spec)
    else:
        cpus, memory = _flink_size(spec)
    return (cpus if cpus > 0 else DEFAULT_CPUS, memory if memory > 0 else DEFAULT_MEMORY_GIB)


def workload_id(obj: Mapping[str, Any], namespace: str | None = None) -> str:
    """``namespace/name`` (``generateName`` + ``*`` before the apiserver names the object)."""
    metadata = _mapping(obj.get("metadata"))
    name = metadata.get("name") or f"{metadata.get('generateName') or 'unnamed-'}*"
    return f"{metadata.get('namespace') or namespace or 'default'}/{name}"


def workload_from_object(
    kind: WorkloadKind,
    obj: Mapping[str, Any],
    *,
    home_zone: Zone,
    submitted_at: datetime,
    namespace: str | None = None,
) -> tuple[Workload, FlexibilityRequest]:
    """The workload an opted-in object describes; ``InputError`` for invalid annotations.

    ``submitted_at`` is the admission instant (``max-delay`` counts from it). A deadline
    before it is kept (the workload cannot meet it and is started at once); the domain
    ``Workload`` insists on ``deadline >= submit``, so it is clamped to ``submitted_at``.
    """
    metadata = _mapping(obj.get("metadata"))
    annotations = {str(k): str(v) for k, v in _mapping(metadata.get("annotations")).items()}
    request = parse_flexibility(annotations, created_at=submitted_at)
    cpus, memory_gib = object_size(kind, obj)
    workload = Workload(
        workload_id=workload_id(obj, namespace),
        submit_at=submitted_at,
        expected_duration=request.expected_duration,
        cpus=cpus,
        memory_gib=memory_gib,
        deadline=max(request.deadline, submitted_at),
        home_zone=home_zone,
        allowed_zones=request.allowed_zones,
        interruptible=request.interruptible,
        kind=kind,
    )
    return workload, request


def _sum_requests(containers: object) -> tuple[float, float]:
    cpus, memory = 0.0, 0.0
    for container in _dicts(containers):
        resources = _mapping(container.get("resources"))
        # Requests are what the scheduler reserves; limits stand in when requests are absent
        # (the apiserver defaults requests to limits in that case).
        values = _mapping(resources.get("requests")) or _mapping(resources.get("limits"))
        cpus += parse_cpu(values.get("cpu", 0)) or 0.0
        memory += parse_memory_gib(values.get("memory", 0)) or 0.0
    return cpus, memory


def _spark_size(spec: Mapping[str, Any]) -> tuple[float, float]:
    driver, executor = _mapping(spec.get("driver")), _mapping(spec.get("executor"))
    instances = _positive_int(executor.get("instances"), default=1)
    cpus = (parse_cpu(driver.get("cores", 1)) or 1.0) + instances * (
        parse_cpu(executor.get("cores", 1)) or 1.0
    )
    memory = (parse_memory_gib(driver.get("memory", "1g")) or 1.0) + instances * (
        parse_memory_gib(executor.get("memory", "1g")) or 1.0
    )
    return cpus, memory


def _flink_size(spec: Mapping[str, Any]) -> tuple[float, float]:
    job_manager = _mapping(_mapping(spec.get("jobManager")).get("resource"))
    task_manager_spec = _mapping(spec.get("taskManager"))
    task_manager = _mapping(task_manager_spec.get("resource"))
    replicas = _positive_int(task_manager_spec.get("replicas"), default=1)
    cpus = (parse_cpu(job_manager.get("cpu", 1)) or 1.0) + replicas * (
        parse_cpu(task_manager.get("cpu", 1)) or 1.0
    )
    memory = (parse_memory_gib(job_manager.get("memory", "1g")) or 1.0) + replicas * (
        parse_memory_gib(task_manager.get("memory", "1g")) or 1.0
    )
    return cpus, memory


def _positive_int(value: object, *, default: int) -> int:
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    return default


def _mapping(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _dicts(value: object) -> list[Mapping[str, Any]]:
    if not isinstance(value, list):
        return []
    return [item for item in value if isinstance(item, Mapping)]
