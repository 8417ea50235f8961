"""The re-plan loop: ask for a fresh plan for each held workload and write it if it moved.

Every ``replan_interval`` each workload held for its plan (not by the deadline guard, and not
due before the next round anyway) is planned again by the injected :class:`Replanner`; the
fresh plan is written when the one re-plan rule says it should replace the recorded one
(``replanning.plan_moved_materially`` over ``policy.replanning.should_replace``). The new
due instant reaches the release loop through the watch event the PATCH causes.
"""

from __future__ import annotations

import logging
from functools import partial

from carbon_kube.kube.client import KubeClient
from carbon_kube.observability.metrics import REPLANS
from carbon_kube.operator.executor import ApiExecutor
from carbon_kube.operator.holds import HoldIndex
from carbon_kube.operator.release_loop import submit_at_of
from carbon_kube.operator.releasing import DueReason
from carbon_kube.operator.replanning import Replanner, plan_moved_materially, replan_patch
from carbon_kube.operator.settings import ControllerClock, ControllerSettings
from carbon_kube.operator.workloads import resource_of

__all__ = ["ReplanLoop"]

# The controller's logger, as before the split: log filters and dashboards keep working.
_log = logging.getLogger("carbon_kube.operator.controller")


class ReplanLoop:
    """One round of re-planning over the held-workload index (see module docstring)."""

    def __init__(
        self,
        client: KubeClient,
        clock: ControllerClock,
        settings: ControllerSettings,
        *,
        index: HoldIndex,
        executor: ApiExecutor,
        replanner: Replanner,
    ) -> None:
        self._client = client
        self._clock = clock
        self._settings = settings
        self._index = index
        self._executor = executor
        self._replanner = replanner

    async def replan_all(self) -> None:
        """Re-plan every held workload whose release is planned beyond the next round."""
        replanner = self._replanner
        horizon = self._clock.now() + self._settings.release_lead + self._settings.replan_interval
        for held in self._index.entries():
            if held.timing.reason is not DueReason.PLANNED or held.due_at <= horizon:
                continue  # soon due anyway, or bound by the deadline guard
            now = self._clock.now()
            obj = held.obj
            created = submit_at_of(obj.get("metadata") or {}, self._clock)
            fresh = await self._executor.call(partial(replanner.replan, obj, now, created))
            old = dict((obj.get("metadata") or {}).get("annotations") or {})
            if fresh is None or not plan_moved_materially(
                old, fresh, self._settings.replan_tolerance
            ):
                continue
            key = held.key
            patch = replan_patch(fresh)
            await self._executor.call(
                partial(self._client.patch, resource_of(key.kind), key.name, patch, key.namespace)
            )
            REPLANS.labels(key.kind.value).inc()
            _log.info("re-planned %s: release-at %s", key, fresh.get("carbon-kube.io/release-at"))
