"""The controller, independent of kopf: its state and loops composed from one module per job.

``Controller.observe_*`` are called by the kopf event handlers (``handlers``) with each watched
object; :meth:`Controller.run_loops` runs the release loop (``release_loop``), the node-label
and NodePool-weight refresh (``labelling``), the re-plan loop (``replan_loop``) and the
held-workloads gauge. All state that matters lives on the objects; the index here is a cache
rebuilt from kopf's initial listing after a restart.

API calls are blocking (:class:`KubeClient`), so they run in a bounded thread pool
(``executor``) and never block the event loop that kopf shares. Errors of one tick never stop
a loop. This module decides nothing itself: it wires the parts and paces the periodic ones.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Mapping
from datetime import timedelta
from typing import Any

from carbon_kube.domain.errors import CarbonKubeError
from carbon_kube.domain.workloads import WorkloadKind
from carbon_kube.kube.client import KubeApiError, KubeClient
from carbon_kube.operator.executor import ApiExecutor
from carbon_kube.operator.holds import HoldIndex
from carbon_kube.operator.labelling import ZoneLabelling
from carbon_kube.operator.outcomes import OutcomeSource
from carbon_kube.operator.pause_loop import PauseLoop
from carbon_kube.operator.release_loop import ReleaseLoop
from carbon_kube.operator.replan_loop import ReplanLoop
from carbon_kube.operator.replanning import Replanner, SegmentReplanner
from carbon_kube.operator.settings import ControllerClock, ControllerSettings
from carbon_kube.operator.signal_publishing import SignalPublisher
from carbon_kube.providers.base import IntensityProvider

__all__ = ["Controller"]

_log = logging.getLogger(__name__)


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
        self._clock = clock
        self._settings = settings
        self._index = HoldIndex()
        self._executor = ApiExecutor(settings.release_concurrency)
        self._labelling = ZoneLabelling(client, settings, self._executor, provider)
        self._releasing = ReleaseLoop(
            client,
            clock,
            settings,
            index=self._index,
            executor=self._executor,
            node_labels=self._labelling.node_labels,
            outcomes=outcomes,
        )
        self._pausing = (
            None
            if settings.pausing is None
            else PauseLoop(
                client,
                clock,
                settings,
                settings.pausing,
                executor=self._executor,
                replanner=replanner if isinstance(replanner, SegmentReplanner) else None,
                outcomes=outcomes,
            )
        )
        publishing = settings.publishing
        self._publisher = (
            None
            if publishing is None or provider is None
            else SignalPublisher(client, clock, publishing, self._executor, provider)
        )
        self._replanning = (
            None
            if replanner is None
            else ReplanLoop(
                client,
                clock,
                settings,
                index=self._index,
                executor=self._executor,
                replanner=replanner,
            )
        )

    # -- events ------------------------------------------------------------------------------

    def observe_workload(self, kind: WorkloadKind, obj: Mapping[str, Any], deleted: bool) -> None:
        """Index ``obj`` if it is held or running a plan, forget it otherwise (every event)."""
        self._releasing.observe(kind, obj, deleted)
        if self._pausing is not None:
            self._pausing.observe(kind, obj, deleted)

    def observe_node(self, node: Mapping[str, Any], deleted: bool) -> None:
        """Keep the node-label cache current; label a new or changed node at once."""
        self._labelling.observe_node(node, deleted)

    # -- loops -------------------------------------------------------------------------------

    async def run_loops(self, stop: asyncio.Event) -> None:
        """Run every loop until ``stop`` is set."""
        settings = self._settings
        loops = [
            self._releasing.run(stop),
            # Real seconds: the gauge is for people watching, whatever the clock's speed.
            self._every(
                settings.max_sleep * self._clock.speedup * 5, self._releasing.count_held, stop
            ),
        ]
        if self._pausing is not None:
            loops.append(self._pausing.run(stop))
        if settings.label_nodes or settings.nodepool_weights:
            loops.append(self._every(settings.node_label_interval, self._labelling.refresh, stop))
        if self._replanning is not None:
            loops.append(self._every(settings.replan_interval, self._replanning.replan_all, stop))
        if self._publisher is not None and settings.publishing is not None:
            loops.append(
                self._every(settings.publishing.interval, self._publisher.publish_all, stop)
            )
        try:
            await asyncio.gather(*loops)
        finally:
            self._executor.shutdown()

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

    @property
    def releases(self) -> int:
        """Released workloads since start (for logs and tests)."""
        return self._releasing.releases

    @property
    def pauses(self) -> tuple[int, int]:
        """(pauses, resumes) since start (for logs and tests)."""
        return (0, 0) if self._pausing is None else (self._pausing.pauses, self._pausing.resumes)

    @property
    def held_count(self) -> int:
        return len(self._index)
