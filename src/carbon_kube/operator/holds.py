"""The controller's in-memory index of held workloads, ordered by when each is due.

Only a cache: everything in it is rebuilt from the objects' annotations when the controller
(re)starts and kopf lists the cluster, so losing it loses nothing. A heap with lazy deletion
keeps ``pop_due`` and ``next_due`` cheap at 10,000 held pods: updating an entry pushes a new
heap item and the stale one is skipped when it surfaces.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from carbon_kube.domain.workloads import WorkloadKind
from carbon_kube.operator.releasing import ReleaseTiming
from carbon_kube.operator.workloads import kind_name

__all__ = ["HeldWorkload", "HoldIndex", "WorkloadKey"]

# Workloads without any timing are due at once; this sorts before every real instant.
_IMMEDIATELY = datetime.min.replace(tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class WorkloadKey:
    kind: WorkloadKind
    namespace: str
    name: str

    def __str__(self) -> str:
        return f"{kind_name(self.kind)}/{self.namespace}/{self.name}"


@dataclass(frozen=True, slots=True)
class HeldWorkload:
    """A held workload as last seen: its raw object and when it is due."""

    key: WorkloadKey
    obj: Mapping[str, Any]
    timing: ReleaseTiming

    @property
    def due_at(self) -> datetime:
        return self.timing.due_at or _IMMEDIATELY


class HoldIndex:
    """Held workloads by key, with a due-time heap (see the module docstring)."""

    def __init__(self) -> None:
        self._entries: dict[WorkloadKey, tuple[int, HeldWorkload]] = {}
        self._heap: list[tuple[datetime, int, WorkloadKey]] = []
        self._sequence = itertools.count()

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, key: object) -> bool:
        return key in self._entries

    def get(self, key: WorkloadKey) -> HeldWorkload | None:
        found = self._entries.get(key)
        return found[1] if found else None

    def upsert(self, held: HeldWorkload) -> bool:
        """Add or replace; True when ``held`` is now the earliest due (wake the release loop)."""
        previous = self._entries.get(held.key)
        if previous is not None and previous[1].due_at == held.due_at:
            # Same due instant: keep the existing heap item, just point it at the new object.
            self._entries[held.key] = (previous[0], held)
            return False
        sequence = next(self._sequence)
        self._entries[held.key] = (sequence, held)
        heapq.heappush(self._heap, (held.due_at, sequence, held.key))
        head = self.next_due()
        return head is not None and held.due_at <= head

    def remove(self, key: WorkloadKey) -> None:
        self._entries.pop(key, None)

    def pop_due(self, until: datetime) -> list[HeldWorkload]:
        """Remove and return every entry due at or before ``until``, earliest first."""
        due: list[HeldWorkload] = []
        while self._heap and self._heap[0][0] <= until:
            _, sequence, key = heapq.heappop(self._heap)
            current = self._entries.get(key)
            if current is None or current[0] != sequence:
                continue  # stale heap item: the entry was removed or rescheduled
            del self._entries[key]
            due.append(current[1])
        return due

    def dues_until(self, until: datetime) -> list[datetime]:
        """The due instants at or before ``until``, earliest first (a scan and a sort)."""
        return sorted(held.due_at for _, held in self._entries.values() if held.due_at <= until)

    def next_due(self) -> datetime | None:
        """The earliest due instant, or None when nothing is held."""
        while self._heap:
            due_at, sequence, key = self._heap[0]
            current = self._entries.get(key)
            if current is not None and current[0] == sequence:
                return due_at
            heapq.heappop(self._heap)
        return None

    def entries(self) -> list[HeldWorkload]:
        """A snapshot of every held workload (for re-planning)."""
        return [held for _, held in self._entries.values()]
