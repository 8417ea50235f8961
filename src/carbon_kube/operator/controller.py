"""The controller's state and loops, independent of kopf: what happens on each event and tick.

``Controller.observe_*`` are called by the kopf event handlers (``handlers``) with each watched
object; the loops (``run_loops``) release due workloads, refresh node labels and NodePool
weights, and re-plan held work. All state that matters lives on the objects; the index here is a
cache rebuilt from kopf's initial listing after a restart.

API calls are blocking (:class:`KubeClient`), so they run in a bounded thread pool and never
block the event loop that kopf shares. Errors of one object never stop the loops: a failed
release is retried after ``retry_after`` (real time); a provider error leaves intensity unknown.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import logging
from collections.abc import Awaitable, Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from functools import partial
from typing import Any, TypeVar

from carbon_kube.domain.annotations import parse_rfc3339
from carbon_kube.domain.errors import CarbonKubeError, InputError, ProviderError
from carbon_kube.domain.zones import Zone
from carbon_kube.kube.client import NODES, KubeApiError, KubeClient
from carbon_kube.kube.resources import NODEPOOLS
from carbon_kube.observability.metrics import (
    DEADLINE_MISSES,
    GATE_RELEASE_LAG_SECONDS,
    HELD_WORKLOADS,
    HOLD_DURATION_SECONDS,
    NODEPOOL_WEIGHT,
    RELEASES,
    REPLANS,
    ZONE_INTENSITY_G_PER_KWH,
    record_job_outcome,
)
from carbon_kube.operator.holds import HeldWorkload, HoldIndex, WorkloadKey
from carbon_kube.operator.nodepools import is_managed, pool_profile, weights_by_rate
from carbon_kube.operator.nodes import grid_zone_of, node_label_patch
from carbon_kube.operator.outcomes import OutcomeSource
from carbon_kube.operator.releasing import DueReason, release_timing
from carbon_kube.operator.replanning import Replanner, plan_moved_materially, replan_patch
from carbon_kube.operator.settings import ControllerClock, ControllerSettings
from carbon_kube.operator.workloads import (
    HeldKind,
    is_held,
    release_patch,
    resource_of,
    workload_kind,
)
from carbon_kube.providers.base import IntensityProvider

__all__ = ["Controller"]

_log = logging.getLogger(__name__)
_T = TypeVar("_T")


class Controller:
    """Held-workload index, node cache and the loops that act on them."""

    def __init__(
        self,
        client: KubeClient,
        clock: ControllerClock,
        settings: ControllerSettings,
        *,
        provider: IntensityProvider | None = None,
        replanner: Replanner | None = None,
        outcomes: OutcomeSource | None = None,
    ) -> None:
        self._client = client
        self._clock = clock
        self._settings = settings
        self._provider = provider
        self._replanner = replanner
        self._outcomes = outcomes
        self._index = HoldIndex()
        self._in_flight: set[WorkloadKey] = set()
        self._released: set[WorkloadKey] = set()
        self._node_labels: dict[str, Mapping[str, str]] = {}
        self._intensity: dict[Zone, float | None] = {}
        self._wake = asyncio.Event()
        self._executor = ThreadPoolExecutor(
            max_workers=settings.release_concurrency, thread_name_prefix="carbon-kube-api"
        )
        self._slots = asyncio.Semaphore(settings.release_concurrency)
        self._tasks: set[asyncio.Future[None]] = set()
        self.releases = 0  # released workloads since start (for logs and tests)

    # -- events ------------------------------------------------------------------------------

    def observe_workload(self, kind: HeldKind, obj: Mapping[str, Any], deleted: bool) -> None:
        """Index ``obj`` if it is held, forget it otherwise (called for every watch event)."""
        meta = obj.get("metadata") or {}
        key = WorkloadKey(kind, str(meta.get("namespace", "")), str(meta.get("name", "")))
        if deleted or not is_held(kind, obj):
            self._index.remove(key)
            self._released.discard(key)
            return
        if key in self._in_flight or key in self._released:
            return  # our release is on its way; this event predates it
        timing = release_timing(meta.get("annotations"), created_at=self._created_at(meta))
        for problem in timing.problems:
            _log.warning("%s/%s: %s", meta.get("namespace"), meta.get("name"), problem)
        if self._index.upsert(HeldWorkload(key, obj, timing)):
            self._wake.set()

    def observe_node(self, node: Mapping[str, Any], deleted: bool) -> None:
        """Keep the node-label cache current; label a new or changed node at once."""
        meta = node.get("metadata") or {}
        name = str(meta.get("name", ""))
        if deleted:
            self._node_labels.pop(name, None)
            return
        labels = dict(meta.get("labels") or {})
        self._node_labels[name] = labels
        if self._settings.label_nodes:
            zone = grid_zone_of(labels, self._settings.regions)
            patch = node_label_patch(labels, zone, self._intensity.get(zone) if zone else None)
            if patch is not None:
                self._spawn(self._patch_node(name, patch))

    def _created_at(self, meta: Mapping[str, Any]) -> datetime:
        created = meta.get("creationTimestamp")
        try:
            return self._clock.to_virtual(parse_rfc3339(str(created), "creationTimestamp"))
        except InputError:
            return self._clock.now()

    # -- loops -------------------------------------------------------------------------------

    async def run_loops(self, stop: asyncio.Event) -> None:
        """Run every loop until ``stop`` is set."""
        loops = [
            self._release_loop(stop),
            # Real seconds: the gauge is for people watching, whatever the clock's speed.
            self._every(self._settings.max_sleep * self._clock.speedup * 5, self._count_held, stop),
        ]
        if self._settings.label_nodes or self._settings.nodepool_weights:
            loops.append(self._every(self._settings.node_label_interval, self._refresh_zones, stop))
        if self._replanner is not None:
            loops.append(self._every(self._settings.replan_interval, self._replan_all, stop))
        try:
            await asyncio.gather(*loops)
        finally:
            self._executor.shutdown(wait=False, cancel_futures=True)

    async def _release_loop(self, stop: asyncio.Event) -> None:
        lead = self._settings.release_lead
        while not stop.is_set():
            self._wake.clear()
            start = self._clock.now() + lead
            release_until, _ = self._release_window(start)
            for held in self._index.pop_due(release_until):
                self._in_flight.add(held.key)
                self._spawn(self._release(held))
            _, wake_at = self._release_window(self._clock.now() + lead)
            await self._sleep_until(wake_at, stop)

    def _release_window(self, start: datetime) -> tuple[datetime, datetime | None]:
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

    async def _sleep_until(self, wake_at: datetime | None, stop: asyncio.Event) -> None:
        """Sleep until ``wake_at`` (virtual, lead included), a wake-up, or ``max_sleep``."""
        max_sleep_s = self._settings.max_sleep.total_seconds()
        sleep_s = max_sleep_s
        if wake_at is not None:
            ahead = wake_at - self._settings.release_lead - self._clock.now()
            sleep_s = min(max_sleep_s, max(0.0, ahead.total_seconds() / self._clock.speedup))
        if sleep_s <= 0:
            await asyncio.sleep(0)
            return
        waiters = [asyncio.ensure_future(self._wake.wait()), asyncio.ensure_future(stop.wait())]
        try:
            await asyncio.wait(waiters, timeout=sleep_s, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waiters:
                waiter.cancel()

    async def _release(self, held: HeldWorkload) -> None:
        key = held.key
        reason = held.timing.reason
        released_at = self._clock.now()
        patch = release_patch(
            key.kind,
            held.obj,
            released_at=released_at,
            reason=str(reason),
            node_labels=list(self._node_labels.values()),
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
            await self._call(call)
        except KubeApiError as error:
            if error.is_not_found:
                self._in_flight.discard(key)
                return  # deleted meanwhile: nothing to release
            _log.warning("could not release %s, retrying: %s", key, error)
            await asyncio.sleep(self._settings.retry_after.total_seconds())
            self._in_flight.discard(key)
            self.observe_workload(key.kind, held.obj, deleted=False)
            return
        self._released.add(key)
        self._in_flight.discard(key)
        self.releases += 1
        self._count_release(held)
        if self._outcomes is not None:
            self._spawn(self._record_outcome(held, released_at))
        zone_note = f", zone {patch.zone}" if patch.zone else ""
        _log.info("released %s (%s%s)", key, reason, zone_note)

    async def _record_outcome(self, held: HeldWorkload, released_at: datetime) -> None:
        """Report the released workload's estimated emissions against the baseline's.

        Runs after the release (off its critical path); no estimate, no report.
        """
        outcomes = self._outcomes
        if outcomes is None:
            return
        created = self._created_at(held.obj.get("metadata") or {})
        call = partial(outcomes.outcome, held.key.kind, held.obj, released_at, created)
        outcome = await asyncio.get_running_loop().run_in_executor(self._executor, call)
        if outcome is None:
            return
        record_job_outcome(
            kind=workload_kind(held.key.kind).value,
            lever=str(outcome.lever),
            energy_kwh=outcome.energy_kwh,
            emissions_g=outcome.emissions_g,
            counterfactual_g=outcome.counterfactual_g,
        )

    def _count_release(self, held: HeldWorkload) -> None:
        kind = workload_kind(held.key.kind).value
        now = self._clock.now()
        RELEASES.labels(kind, str(held.timing.reason)).inc()
        created = self._created_at(held.obj.get("metadata") or {})
        HOLD_DURATION_SECONDS.labels(kind).observe(max(0.0, (now - created).total_seconds()))
        if held.timing.due_at is None:
            return
        late_real_s = (now - held.timing.due_at).total_seconds() / self._clock.speedup
        GATE_RELEASE_LAG_SECONDS.labels(kind).observe(max(0.0, late_real_s))
        # Later than the latest safe start by more than a real second: the deadline is at risk.
        if held.timing.reason is DueReason.LATEST_SAFE_START and late_real_s > 1.0:
            DEADLINE_MISSES.labels(kind).inc()

    async def _count_held(self) -> None:
        counts = dict.fromkeys(self._settings.kinds, 0)
        for held in self._index.entries():
            counts[held.key.kind] = counts.get(held.key.kind, 0) + 1
        for kind, count in counts.items():
            HELD_WORKLOADS.labels(workload_kind(kind).value).set(count)

    async def _every(
        self,
        interval: timedelta,
        tick: Callable[[], Awaitable[None]],
        stop: asyncio.Event,
    ) -> None:
        real_s = max(0.05, interval.total_seconds() / self._clock.speedup)
        while not stop.is_set():
            try:
                await tick()
            except (KubeApiError, CarbonKubeError) as error:
                _log.warning("periodic %s failed: %s", getattr(tick, "__name__", tick), error)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=real_s)

    # -- zones: node labels and NodePool weights -----------------------------------------------

    async def _refresh_zones(self) -> None:
        zones = {
            zone
            for labels in self._node_labels.values()
            if (zone := grid_zone_of(labels, self._settings.regions)) is not None
        }
        pools: list[dict[str, Any]] = []
        if self._settings.nodepool_weights:
            pools = await self._list_nodepools()
            for pool in pools:
                profile = pool_profile(pool, self._settings.regions)
                if profile.zone is not None:
                    zones.add(profile.zone)
        for zone in zones:
            self._intensity[zone] = await self._latest(zone)
        if self._settings.label_nodes:
            for name, labels in list(self._node_labels.items()):
                zone = grid_zone_of(labels, self._settings.regions)
                patch = node_label_patch(labels, zone, self._intensity.get(zone) if zone else None)
                if patch is not None:
                    await self._patch_node(name, patch)
        if pools:
            await self._weigh_nodepools(pools)

    async def _latest(self, zone: Zone) -> float | None:
        provider = self._provider
        if provider is None:
            return None
        try:
            reading = await self._call(lambda: provider.latest(zone))
        except ProviderError as error:
            _log.warning("no intensity for %s: %s", zone, error)
            return None
        ZONE_INTENSITY_G_PER_KWH.labels(zone, reading.provider).set(reading.intensity_g_per_kwh)
        return reading.intensity_g_per_kwh

    async def _patch_node(self, name: str, patch: dict[str, object]) -> None:
        try:
            updated = await self._call(lambda: self._client.patch(NODES, name, patch))
        except KubeApiError as error:
            if not error.is_not_found:
                _log.warning("could not label node %s: %s", name, error)
            return
        self._node_labels[name] = dict((updated.get("metadata") or {}).get("labels") or {})

    async def _list_nodepools(self) -> list[dict[str, Any]]:
        try:
            return await self._call(lambda: self._client.list(NODEPOOLS))
        except KubeApiError as error:
            if error.is_not_found:
                return []  # Karpenter is not installed: nothing to weigh
            raise

    async def _weigh_nodepools(self, pools: list[dict[str, Any]]) -> None:
        managed = [pool for pool in pools if is_managed(pool)]
        profiles = [pool_profile(pool, self._settings.regions) for pool in managed]
        weights = weights_by_rate(profiles, self._intensity.get)
        for pool in managed:
            name = str(pool["metadata"]["name"])
            weight = weights.get(name)
            if weight is None or (pool.get("spec") or {}).get("weight") == weight:
                continue
            patch = {"spec": {"weight": weight}}
            await self._call(partial(self._client.patch, NODEPOOLS, name, patch))
            NODEPOOL_WEIGHT.labels(name).set(weight)
            _log.info("NodePool %s weight -> %d", name, weight)

    # -- re-planning ---------------------------------------------------------------------------

    async def _replan_all(self) -> None:
        replanner = self._replanner
        if replanner is None:
            return
        horizon = self._clock.now() + self._settings.release_lead + self._settings.replan_interval
        for held in self._index.entries():
            if held.timing.reason is not DueReason.PLANNED or held.due_at <= horizon:
                continue  # soon due anyway, or bound by the deadline guard
            now = self._clock.now()
            obj = held.obj
            created = self._created_at(obj.get("metadata") or {})
            fresh = await self._call(partial(replanner.replan, obj, now, created))
            old = dict((obj.get("metadata") or {}).get("annotations") or {})
            if fresh is None or not plan_moved_materially(
                old, fresh, self._settings.replan_tolerance
            ):
                continue
            key = held.key
            patch = replan_patch(fresh)
            await self._call(
                partial(self._client.patch, resource_of(key.kind), key.name, patch, key.namespace)
            )
            REPLANS.labels(workload_kind(key.kind).value).inc()
            _log.info("re-planned %s: release-at %s", key, fresh.get("carbon-kube.io/release-at"))

    # -- plumbing ------------------------------------------------------------------------------

    async def _call(self, fn: Callable[[], _T]) -> _T:
        async with self._slots:
            return await asyncio.get_running_loop().run_in_executor(self._executor, fn)

    def _spawn(self, coroutine: Awaitable[None]) -> None:
        task = asyncio.ensure_future(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    @property
    def held_count(self) -> int:
        return len(self._index)
