"""Sizes from resource fields: CPU and memory quantities, pod requests, defaults.

Only the *ratio* between candidate plans matters to a policy choosing a start or zone for one
workload, so an object without requests is sized as one vCPU and 1 GiB rather than refused.
Malformed quantities (which the apiserver or the operator will reject anyway) fall back to the
same defaults: the annotations are the user's contract with Carbon-Kube, the sizes are
estimates. Pure; knows no kind beyond the pod spec every kind's pods share.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from carbon_kube.kinds.objects import dicts, mapping

__all__ = [
    "DEFAULT_CPUS",
    "DEFAULT_MEMORY_GIB",
    "parse_cpu",
    "parse_memory_gib",
    "pod_requests",
    "positive_int",
    "with_defaults",
]

DEFAULT_CPUS = 1.0
DEFAULT_MEMORY_GIB = 1.0

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
    for container in dicts(spec.get("initContainers")):
        c, m = _sum_requests([container])
        init_cpus, init_memory = max(init_cpus, c), max(init_memory, m)
    return max(cpus, init_cpus), max(memory, init_memory)


def with_defaults(cpus: float, memory_gib: float) -> tuple[float, float]:
    """The size with the defaults standing in for anything not positive (see module doc)."""
    return (
        cpus if cpus > 0 else DEFAULT_CPUS,
        memory_gib if memory_gib > 0 else DEFAULT_MEMORY_GIB,
    )


def positive_int(value: object, *, default: int) -> int:
    """``value`` when it is a positive integer (replicas, parallelism), else ``default``."""
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    return default


def _sum_requests(containers: object) -> tuple[float, float]:
    cpus, memory = 0.0, 0.0
    for container in dicts(containers):
        resources = mapping(container.get("resources"))
        # Requests are what the scheduler reserves; limits stand in when requests are absent
        # (the apiserver defaults requests to limits in that case).
        values = mapping(resources.get("requests")) or mapping(resources.get("limits"))
        cpus += parse_cpu(values.get("cpu", 0)) or 0.0
        memory += parse_memory_gib(values.get("memory", 0)) or 0.0
    return cpus, memory
