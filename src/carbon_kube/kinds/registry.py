"""The one table of workload kinds: every adapter of Carbon-Kube asks here.

The webhook matches an admission request with :func:`kind_of`, the controller watches and
releases through :func:`adapter_for`, planning sizes objects, and ``kube.resources`` builds
the REST paths from each kind's coordinates. Adding a kind is one module and one line in
``KINDS`` (docs/kinds.md). Pure, no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

from carbon_kube.domain.workloads import WorkloadKind
from carbon_kube.kinds.flink import FLINK
from carbon_kube.kinds.job import JOB
from carbon_kube.kinds.pod import POD
from carbon_kube.kinds.protocol import KindAdapter, PausableKind
from carbon_kube.kinds.spark import SPARK

__all__ = ["KINDS", "adapter_for", "kind_named", "kind_of", "pausable"]

_ADAPTERS: tuple[KindAdapter, ...] = (POD, JOB, SPARK, FLINK)

# In the order the controller lists them (--kinds pod,job,spark,flink).
KINDS: Final[Mapping[WorkloadKind, KindAdapter]] = MappingProxyType(
    {adapter.workload_kind: adapter for adapter in _ADAPTERS}
)

_BY_GVK: Final = {(a.api.group, a.api.version, a.api.kind): a.workload_kind for a in KINDS.values()}
_BY_NAME: Final = {a.api.kind: a.workload_kind for a in KINDS.values()}


def adapter_for(kind: WorkloadKind) -> KindAdapter:
    """The adapter of ``kind`` (every ``WorkloadKind`` has one)."""
    return KINDS[kind]


def kind_of(group: str, version: str, kind: str) -> WorkloadKind | None:
    """The workload kind of an API kind, or None for kinds Carbon-Kube leaves alone."""
    return _BY_GVK.get((group, version, kind))


def kind_named(kind: str) -> WorkloadKind | None:
    """The workload kind whose Kubernetes ``kind`` is ``kind`` (``"Pod"``), any version."""
    return _BY_NAME.get(kind)


def pausable(kind: WorkloadKind) -> PausableKind | None:
    """The adapter of ``kind`` if it can pause running work, else None."""
    return _PAUSABLE.get(kind)


# The kinds that implement PausableKind; a test checks this agrees with supports_pause.
_PAUSABLE: Final[Mapping[WorkloadKind, PausableKind]] = MappingProxyType(
    {adapter.workload_kind: adapter for adapter in (JOB, SPARK, FLINK)}
)
