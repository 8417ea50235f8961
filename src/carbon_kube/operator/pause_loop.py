"""The pause loop: carry out released interruptible workloads' segment plans.

:meth:`PauseLoop.observe` indexes every released, unfinished, interruptible workload of a
pausable kind whose plan has several segments (``operator.pausing``); :meth:`PauseLoop.run`
sleeps until the next step is due, asks the one rule (``policy.segment_steps.due_step``) what
to do and does it with the kind's own mechanism in one PATCH (``kinds``: a Job's
``suspend``, a FlinkDeployment's ``job.state`` with a savepoint). The state is the object's
annotations, so a controller killed between a pause and its resume resumes on time after a
restart; until the PATCH's watch event arrives the loop remembers what it just did, so it
never pauses twice.

With a :class:`~carbon_kube.operator.replanning.SegmentReplanner` (the controller's re-planner,
``--replan-home-zone``), the work left is planned again on the forecast as it is at each
pause: when the fresh plan runs it now, the workload is not paused and its new segments are
written instead; otherwise it pauses with them. The deadline guard never depends on a plan.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from functools import partial
from typing import Any

from carbon_kube.domain.annotations import SEGMENTS, format_segments
from carbon_kube.domain.plans import RunSegment
from carbon_kube.domain.workloads import WorkloadKind
from carbon_kube.kinds.registry import pausable
from carbon_kube.kube.client import KubeApiError, KubeClient
from carbon_kube.observability.metrics import (
    PAUSE_LOST_WORK_SECONDS,
    PAUSED_SECONDS,
    PAUSES,
    RESUMES,
    record_pause_outcome,
)
from carbon_kube.operator.executor import ApiExecutor
from carbon_kube.operator.holds import WorkloadKey
from carbon_kube.operator.outcomes import OutcomeSource
from carbon_kube.operator.pacing import sleep_until
from carbon_kube.operator.pausing import running_progress
from carbon_kube.operator.release_loop import submit_at_of
from carbon_kube.operator.replanning import SegmentReplanner
from carbon_kube.operator.settings import ControllerClock, ControllerSettings, PauseSettings
from carbon_kube.operator.workloads import resource_of
from carbon_kube.planning.outcomes import PauseRecord
from carbon_kube.policy.segment_steps import (
    IN_SEGMENT,
    PAUSE_UNCONFIRMED,
    RUN_ON_TOLERANCE,
    DueStep,
    SegmentProgress,
    Step,
    continue_with,
    due_step,
    replanned_step,
    work_left,
)

__all__ = ["PauseLoop"]

_log = logging.getLogger("carbon_kube.operator.controller")

_RESUME_TRIGGERS = {
    "start of its next segment": "next-segment",
    "latest safe resume (deadline guard)": "deadline-guard",
    "no segment left: resume to finish": "plan-exhausted",
    PAUSE_UNCONFIRMED: "pause-unconfirmed",
}


@dataclass(frozen=True, slots=True)
class _Running:
    key: WorkloadKey
    obj: Mapping[str, Any]
    progress: SegmentProgress


class PauseLoop:
    """Index of running interruptible work and the loop that pauses and resumes it."""

    def __init__(
        self,
        client: KubeClient,
        clock: ControllerClock,
        settings: ControllerSettings,
        pausing: PauseSettings,
        *,
        executor: ApiExecutor,
        replanner: SegmentReplanner | None = None,
        outcomes: OutcomeSource | None = None,
    ) -> None:
        self._client = client
        self._clock = clock
        self._settings = settings
        self._pausing = pausing
        self._limits = pausing.limits()
        self._executor = executor
        self._replanner = replanner
        self._outcomes = outcomes
        self._running: dict[WorkloadKey, _Running] = {}
        # What the last step made of a workload, until an event shows it (see _signature);
        # _ABANDONED after the resume that ends its pausing, until the event that records it.
        self._expected: dict[WorkloadKey, tuple[bool, int, str]] = {}
        # The newest object of each indexed workload, whatever the index holds.
        self._latest: dict[WorkloadKey, Mapping[str, Any]] = {}
        # Workloads with a step or re-plan in flight (never two at once), and when each running
        # one was last re-planned mid-segment.
        self._in_flight: set[WorkloadKey] = set()
        self._replanned_at: dict[WorkloadKey, datetime] = {}
        self._wake = asyncio.Event()
        self.pauses = 0
        self.resumes = 0

    def observe(self, kind: WorkloadKind, obj: Mapping[str, Any], deleted: bool) -> None:
        """Index ``obj`` while it has a plan to carry out, forget it otherwise."""
        adapter = pausable(kind)
        meta = obj.get("metadata") or {}
        key = WorkloadKey(kind, str(meta.get("namespace", "")), str(meta.get("name", "")))
        progress = (
            None
            if deleted or adapter is None
            else running_progress(adapter, obj, submit_at=submit_at_of(meta, self._clock))
        )
        if progress is None:
            self._forget(key)
            self._latest.pop(key, None)
            return
        self._latest[key] = obj
        expected = self._expected.get(key)
        if expected is not None:
            if expected != _signature(progress):
                return  # an event from before our step: the index already holds its result
            del self._expected[key]
        self._running[key] = _Running(key, obj, progress)
        self._wake.set()

    async def run(self, stop: asyncio.Event) -> None:
        """Pause and resume due work until ``stop`` is set."""
        while not stop.is_set():
            self._wake.clear()
            now = self._clock.now()
            wake_at: datetime | None = None
            for running in list(self._running.values()):
                if running.key in self._in_flight:
                    continue
                step = due_step(
                    running.progress,
                    now=now,
                    latency_risk=self._pausing.latency_risk,
                    limits=self._limits,
                    resume_lead=self._settings.release_lead,
                )
                if step.step is not None:
                    self._record_locally(running, step, now)
                    self._spawn(running.key, self._apply(running, step, now))
                    continue
                replan_at = self._replan_due(running, step)
                if replan_at is not None and replan_at <= now:
                    self._replanned_at[running.key] = now
                    self._spawn(running.key, self._replan_running(running, now))
                    continue
                if replan_at is not None:
                    wake_at = replan_at if wake_at is None else min(wake_at, replan_at)
                if step.next_check is not None:
                    check = step.next_check
                    if running.progress.paused_at is not None:
                        check -= self._settings.release_lead  # resumes are led like releases
                    wake_at = check if wake_at is None else min(wake_at, check)
            await sleep_until(
                wake_at,
                clock=self._clock,
                max_sleep=self._settings.max_sleep,
                wake=self._wake,
                stop=stop,
            )

    def _forget(self, key: WorkloadKey) -> None:
        """Stop carrying out ``key``'s plan (its newest object is still kept for a roll-back)."""
        self._running.pop(key, None)
        self._expected.pop(key, None)
        self._replanned_at.pop(key, None)

    def _spawn(self, key: WorkloadKey, work: Coroutine[Any, Any, None]) -> None:
        """Run ``work`` for ``key`` in the executor; the loop leaves ``key`` alone meanwhile."""
        self._in_flight.add(key)

        async def guarded() -> None:
            try:
                await work
            finally:
                self._in_flight.discard(key)
                self._wake.set()

        self._executor.spawn(guarded())

    def _replan_due(self, running: _Running, step: DueStep) -> datetime | None:
        """When a running segment is next re-planned (None: not at all; see replanned_step)."""
        began = running.progress.run_began
        if self._replanner is None or step.reason != IN_SEGMENT or began is None:
            return None
        last = self._replanned_at.get(running.key, began)
        return last + self._settings.replan_interval

    async def _replan_running(self, running: _Running, now: datetime) -> None:
        """Re-plan a running segment on the forecast as it is now: pause now, or a new plan."""
        try:
            fresh = await self._fresh_segments(running, now)
            if fresh is None:
                return
            step, segments = replanned_step(
                running.progress,
                fresh,
                now=now,
                latency_risk=self._pausing.latency_risk,
                limits=self._limits,
                resume_lead=self._settings.release_lead,
            )
            if step is Step.PAUSE:
                due = DueStep(Step.PAUSE, None, "re-planned: the work left runs later")
                self._record_locally(running, due, now)
                await self._apply_once(running, due, now, fresh=segments)
            elif format_segments(segments) != format_segments(running.progress.segments):
                await self._run_on(running, segments, now)
        except Exception:
            _log.exception("could not re-plan running %s; will look again", running.key)
            self._roll_back(running.key)

    def _record_locally(self, running: _Running, step: DueStep, now: datetime) -> None:
        # Until the watch event of our PATCH arrives, act as if it had: never step twice.
        if step.ends_pausing:
            # Pausing is over for this workload: stale events (still paused, unconfirmed) are
            # ignored until the one that records it; a failed PATCH puts it back.
            self._running.pop(running.key, None)
            self._expected[running.key] = _ABANDONED
            return
        progress = running.progress
        if step.step is Step.PAUSE:
            progress = replace(progress, paused_at=now, pauses=progress.pauses + 1)
        else:
            progress = replace(progress, paused_at=None, resumed_at=now)
        self._running[running.key] = replace(running, progress=progress)
        self._expected[running.key] = _signature(progress)

    async def _fresh_segments(
        self, running: _Running, now: datetime
    ) -> tuple[RunSegment, ...] | None:
        """The policy's plan, from ``now``, of the work left plus what a pause would lose."""
        if self._replanner is None:
            return None
        progress = running.progress
        remaining = work_left(progress, after=now) + progress.lost_per_pause
        call = partial(
            self._replanner.remaining_segments, running.obj, now, remaining, progress.deadline
        )
        return await self._executor.run(call)

    async def _apply(self, running: _Running, step: DueStep, now: datetime) -> None:
        """Carry out ``step``; any failure puts the index back to what the objects say."""
        try:
            await self._apply_once(running, step, now)
        except Exception:
            _log.exception("could not %s %s; will look again", step.step, running.key)
            self._roll_back(running.key)

    def _roll_back(self, key: WorkloadKey) -> None:
        self._expected.pop(key, None)
        latest = self._latest.get(key)
        if latest is not None:
            self.observe(key.kind, latest, deleted=False)

    async def _apply_once(
        self,
        running: _Running,
        step: DueStep,
        now: datetime,
        *,
        fresh: tuple[RunSegment, ...] | None = None,
    ) -> None:
        """One PATCH for ``step``; a pause re-plans first unless ``fresh`` is that plan."""
        key = running.key
        adapter = pausable(key.kind)
        if adapter is None:
            return
        latest = self._latest.get(key, running.obj)
        if key not in self._latest or (step.step is Step.PAUSE and adapter.finished(latest)):
            self._forget(key)  # finished or deleted since the step was decided
            return
        if step.step is Step.PAUSE:
            if fresh is None:
                replanned = await self._fresh_segments(running, now)
                if replanned is not None:
                    fresh = continue_with(running.progress, replanned, now=now)
                    if replanned[0].start_at <= now + RUN_ON_TOLERANCE:
                        await self._run_on(running, fresh, now)
                        return
            body = adapter.pause_patch(running.obj, paused_at=now)
            if fresh is not None:
                body["metadata"]["annotations"][SEGMENTS] = format_segments(fresh)
                self._replace_segments(key, fresh)
        else:
            abandon = step.reason if step.ends_pausing else None
            body = adapter.resume_patch(running.obj, resumed_at=now, abandon_pausing=abandon)
        call = partial(
            self._client.patch, resource_of(key.kind), key.name, body, key.namespace,
            patch_type="merge",
        )  # fmt: skip
        try:
            await self._executor.call(call)
        except KubeApiError as error:
            if error.is_not_found:
                self._running.pop(key, None)
                return
            _log.warning("could not %s %s, retrying: %s", step.step, key, error)
            await asyncio.sleep(self._settings.retry_after.total_seconds())
            self._roll_back(key)  # the newest object says what is true; decide again
            return
        self._count(running, step, now)
        if step.step is Step.RESUME and not step.ends_pausing:
            self._executor.spawn(self._record_outcome(running, now))
        if step.ends_pausing:
            _log.warning(
                "%s: its controller did not confirm the pause within %s; resumed, and it "
                "will not be paused again",
                key, self._limits.confirm_within,
            )  # fmt: skip
            return
        _log.info(
            "%s %s (%s)", "paused" if step.step is Step.PAUSE else "resumed", key, step.reason
        )

    async def _run_on(
        self, running: _Running, fresh: tuple[RunSegment, ...], now: datetime
    ) -> None:
        """The fresh plan runs the work now: keep it running, record the new segments."""
        key = running.key
        body = {"metadata": {"annotations": {SEGMENTS: format_segments(fresh)}}}
        call = partial(
            self._client.patch, resource_of(key.kind), key.name, body, key.namespace,
            patch_type="merge",
        )  # fmt: skip
        progress = replace(running.progress, paused_at=None, segments=fresh)
        self._running[key] = replace(running, progress=progress)
        self._expected[key] = _signature(progress)
        try:
            await self._executor.call(call)
        except KubeApiError as error:
            _log.warning("could not record the new plan of %s: %s", key, error)
            self._roll_back(key)
            return
        _log.info("kept %s running: the fresh forecast runs its work now", key)

    async def _record_outcome(self, running: _Running, resumed_at: datetime) -> None:
        """Report what the pause just ended saved (the ``pause`` lever), off the resume's path."""
        progress, outcomes = running.progress, self._outcomes
        if outcomes is None or progress.paused_at is None:
            return
        pause = PauseRecord(
            paused_at=progress.paused_at,
            resumed_at=resumed_at,
            work_left=work_left(progress, after=progress.paused_at),
            lost_work=progress.lost_per_pause,
        )
        call = partial(outcomes.pause_avoided_g, running.key.kind, running.obj, pause)
        avoided_g = await self._executor.run(call)
        if avoided_g is not None:
            record_pause_outcome(kind=running.key.kind.value, avoided_g=avoided_g)

    def _replace_segments(self, key: WorkloadKey, fresh: tuple[RunSegment, ...]) -> None:
        running = self._running.get(key)
        if running is not None:
            progress = replace(running.progress, segments=fresh)
            self._running[key] = replace(running, progress=progress)
            self._expected[key] = _signature(progress)

    def _count(self, running: _Running, step: DueStep, now: datetime) -> None:
        kind = running.key.kind.value
        if step.step is Step.PAUSE:
            self.pauses += 1
            PAUSES.labels(kind).inc()
            return
        self.resumes += 1
        RESUMES.labels(kind, _RESUME_TRIGGERS.get(step.reason, "other")).inc()
        paused_at = running.progress.paused_at
        if paused_at is not None:
            PAUSED_SECONDS.labels(kind).inc(max(0.0, (now - paused_at).total_seconds()))
        PAUSE_LOST_WORK_SECONDS.labels(kind).inc(running.progress.lost_per_pause.total_seconds())


_ABANDONED = (False, -1, "pausing abandoned")
"""The expected signature after the last resume: no event but the one ending pausing matches."""


def _signature(progress: SegmentProgress) -> tuple[bool, int, str]:
    """What a step changes: paused or not, the pause count, the plan."""
    return (progress.paused_at is not None, progress.pauses, format_segments(progress.segments))
