"""The release loop: index held workloads from watch events and release each when it is due.

:meth:`ReleaseLoop.observe` keeps the :class:`HoldIndex` current from every watch event;
:meth:`ReleaseLoop.run` sleeps until the next due instant (minus ``release_lead``), releases
what is due with one PATCH each (the kind's ``release_patch``), records the release metrics and,
off the critical path, the released job's estimated emissions. A failed release is retried
after ``retry_after`` (real time); one object's error never stops the loop. When to release is
decided by the pure ``releasing`` and ``holds`` modules; bursts are spread by
:meth:`ReleaseLoop.release_window`.
"""

from __future__ import annotations

import asyncio
import bisect
import logging
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from carbon_kube.domain.annotations import parse_rfc3339
from carbon_kube.domain.errors import InputError
from carbon_kube.domain.workloads import WorkloadKind
from carbon_kube.kube.client import KubeApiError, KubeClient
from carbon_kube.observability.metrics import (
    DEADLINE_MISSES,
    GATE_RELEASE_LAG_SECONDS,
    HELD_WORKLOADS,
    HOLD_DURATION_SECONDS,
    RELEASES,
    record_job_outcome,
)
from carbon_kube.operator.executor import ApiExecutor
from carbon_kube.operator.holds import HeldWorkload, HoldIndex, WorkloadKey
from carbon_kube.operator.outcomes import OutcomeSource
from carbon_kube.operator.pacing import sleep_until
from carbon_kube.operator.releasing import DueReason, release_timing
from carbon_kube.operator.settings import ControllerClock, ControllerSettings
from carbon_kube.operator.workloads import is_held, release_patch, resource_of

__all__ = ["ReleaseLoop", "submit_at_of"]

# The controller's logger, as before the split: log filters and dashboards keep working.
_log = logging.getLogger("carbon_kube.operator.controller")


def submit_at_of(meta: Mapping[str, Any], clock: ControllerClock) -> datetime:
    """The submit instant: creationTimestamp on the controller's clock (now when unreadable)."""
    created = meta.get("creationTimestamp")
    try:
        return clock.to_virtual(parse_rfc3339(str(created), "creationTimestamp"))
    except InputError:
        return clock.now()


class ReleaseLoop:
    """Held-workload bookkeeping and the loop that releases due work (see module docstring)."""

    def __init__(
        self,
        client: KubeClient,
        clock: ControllerClock,
        settings: ControllerSettings,
        *,
        index: HoldIndex,
        executor: ApiExecutor,
        node_labels: Callable[[], list[Mapping[str, str]]],
        outcomes: OutcomeSource | None,
    ) -> None:
        self._client = client
        self._clock = clock
        self._settings = settings
        self._index = index
        self._executor = executor
        self._node_labels = node_labels
        self._outcomes = outcomes
        self._in_flight: set[WorkloadKey] = set()
        self._released: set[WorkloadKey] = set()
        self._wake = asyncio.Event()
        self.releases = 0  # released workloads since start (for logs and tests)

    def observe(self, kind: WorkloadKind, obj: Mapping[str, Any], deleted: bool) -> None:
        """Index ``obj`` if it is held, forget it otherwise (called for every watch event)."""
        meta = obj.get("metadata") or {}
        key = WorkloadKey(kind, str(meta.get("namespace", "")), str(meta.get("name", "")))
        if deleted or not is_held(kind, obj):
            self._index.remove(key)
            self._released.discard(key)
            return
        if key in self._in_flight or key in self._released:
            return  # our release is on its way; this event predates it
        timing = release_timing(meta.get("annotations"), submit_at=submit_at_of(meta, self._clock))
        for problem in timing.problems:
            _log.warning("%s/%s: %s", meta.get("namespace"), meta.get("name"), problem)
        if self._index.upsert(HeldWorkload(key, obj, timing)):
            self._wake.set()

    async def run(self, stop: asyncio.Event) -> None:
        """Release due workloads until ``stop`` is set."""
        lead = self._settings.release_lead
        while not stop.is_set():
            self._wake.clear()
            start = self._clock.now() + lead
            release_until, _ = self.release_window(start)
            for held in self._index.pop_due(release_until):
                self._in_flight.add(held.key)
                self._executor.spawn(self._release(held))
            _, wake_at = self.release_window(self._clock.now() + lead)
            await sleep_until(
                None if wake_at is None else wake_at - self._settings.release_lead,
                clock=self._clock,
                max_sleep=self._settings.max_sleep,
                wake=self._wake,
                stop=stop,
            )

    def release_window(self, start: datetime) -> tuple[datetime, datetime | None]:
        """(release what is due by this instant now, when the next release should start).

        Without ``release_ahead_max`` that is (``start``, the next due instant). With it, the
        due instants within ``release_ahead_max`` of ``start`` are scheduled as late as
        possible at the assumed rate (one release every ``1 / release_ahead_rate_per_s`` real
        seconds): the last is released at its due instant and each earlier one no later than
        its own due instant nor one gap before its successor. A burst of ``n`` due together
        thus starts ``n / rate`` seconds early and ends on time; work spread out no faster
        than the rate is not moved at all. Nothing is released more than ``release_ahead_max``
        early.
        """
        next_due = self._index.next_due()
        horizon = self._settings.release_ahead_max
        if next_due is None or horizon <= timedelta(0) or next_due > start + horizon:
            return start, next_due
        dues = self._index.dues_until(start + horizon)
        gap = timedelta(seconds=self._clock.speedup / self._settings.release_ahead_rate_per_s)
        starts = [dues[-1]] * len(dues)
        latest = dues[-1]
        for k in range(len(dues) - 1, -1, -1):
            latest = min(dues[k], latest)
            starts[k] = latest
            latest -= gap
        started = bisect.bisect_right(starts, start)
        release_until = max(start, dues[started - 1]) if started else start
        wake_at = starts[started] if started < len(starts) else None
        return release_until, wake_at

    async def count_held(self) -> None:
        """Set the held-workloads gauge of every watched kind (zero included)."""
        counts = dict.fromkeys(self._settings.kinds, 0)
        for held in self._index.entries():
            counts[held.key.kind] = counts.get(held.key.kind, 0) + 1
        for kind, count in counts.items():
            HELD_WORKLOADS.labels(kind.value).set(count)

    async def _release(self, held: HeldWorkload) -> None:
        key = held.key
        reason = held.timing.reason
        released_at = self._clock.now()
        patch = release_patch(
            key.kind,
            held.obj,
            released_at=released_at,
            reason=str(reason),
            node_labels=self._node_labels(),
        )
        call = partial(
            self._client.patch,
            resource_of(key.kind),
            key.name,
            patch.body,
            key.namespace,
            patch_type=patch.patch_type,
        )
        try:
            await self._executor.call(call)
        except KubeApiError as error:
            if error.is_not_found:
                self._in_flight.discard(key)
                return  # deleted meanwhile: nothing to release
            _log.warning("could not release %s, retrying: %s", key, error)
            await asyncio.sleep(self._settings.retry_after.total_seconds())
            self._in_flight.discard(key)
            self.observe(key.kind, held.obj, deleted=False)
            return
        self._released.add(key)
        self._in_flight.discard(key)
        self.releases += 1
        self._count_release(held)
        if self._outcomes is not None:
            self._executor.spawn(self._record_outcome(held, released_at))
        zone_note = f", zone {patch.zone}" if patch.zone else ""
        _log.info("released %s (%s%s)", key, reason, zone_note)

    async def _record_outcome(self, held: HeldWorkload, released_at: datetime) -> None:
        """Report the released workload's estimated emissions against the baseline's.

        Runs after the release (off its critical path); no estimate, no report.
        """
        outcomes = self._outcomes
        if outcomes is None:
            return
        created = submit_at_of(held.obj.get("metadata") or {}, self._clock)
        call = partial(outcomes.outcome, held.key.kind, held.obj, released_at, created)
        outcome = await self._executor.run(call)
        if outcome is None:
            return
        record_job_outcome(
            kind=held.key.kind.value,
            lever=str(outcome.lever),
            energy_kwh=outcome.energy_kwh,
            emissions_g=outcome.emissions_g,
            counterfactual_g=outcome.counterfactual_g,
        )

    def _count_release(self, held: HeldWorkload) -> None:
        kind = held.key.kind.value
        now = self._clock.now()
        RELEASES.labels(kind, str(held.timing.reason)).inc()
        created = submit_at_of(held.obj.get("metadata") or {}, self._clock)
        HOLD_DURATION_SECONDS.labels(kind).observe(max(0.0, (now - created).total_seconds()))
        if held.timing.due_at is None:
            return
        late_real_s = (now - held.timing.due_at).total_seconds() / self._clock.speedup
        GATE_RELEASE_LAG_SECONDS.labels(kind).observe(max(0.0, late_real_s))
        # Later than the latest safe start by more than a real second: the deadline is at risk.
        if held.timing.reason is DueReason.LATEST_SAFE_START and late_real_s > 1.0:
            DEADLINE_MISSES.labels(kind).inc()
