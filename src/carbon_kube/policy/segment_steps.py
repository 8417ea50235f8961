"""Carrying out an interruptible workload's segment plan while it runs: pause, resume, when.

The simulator splits interruptible work into its cheapest stretches (``policy.pauses``); the
webhook records that plan as ``carbon-kube.io/segments``; the controller executes it with this
rule, asked again at every step so that a restarted controller picks up exactly where the
annotations say it was:

* running, at the end of a segment with another to come: **pause**, unless the pause budget is
  spent (``max_pauses``) or the segment ran less than ``min_run`` (a pause that short costs a
  restart for little), in which case it runs on to the end;
* paused: **resume** at the next segment's start, and never later than the latest safe
  resume: the deadline less the work still planned (the remaining segments, which already
  hold the policy's restart cost before each resumed one) stretched by the latency-risk
  margin. The forecast can be wrong; the deadline guard does not depend on it. Work the guard
  resumed early (between segments) runs to its end: pausing it again would only bring it back
  to the guard. ``lost_per_pause`` (the checkpoint interval) is the work a pause loses: it is
  counted when nothing is planned any more, and re-plans ask for it on top of the work left;
* paused, but the kind's own controller has not confirmed it (a FlinkDeployment's operator
  reports the savepoint and ``SUSPENDED``; the Job controller its ``Suspended`` condition)
  within ``confirm_within``, or by the time it is to resume: **resume** (at once) and pause it
  no more. A pause nobody carries out is a job in limbo, neither running nor safely stopped;
  running on is always safe.

With fresh forecasts (the controller's re-planner) a running segment is also asked
:func:`replanned_step` every re-plan interval: pause now if the work left is now best run later
(the same limits), or carry on with the new plan (:func:`continue_with` keeps the run one run).

Counting it again on top of planned segments resumed 7 of 51 pauses in the interruptible
replay early (bench/interruptible_replay.py): the plans' restart cost already covers it when
the checkpoint interval is no longer than the policy's restart cost (5 min by default).

Pure: instants in, a step out. The kinds say how a pause is done; the controller does it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum

from carbon_kube.domain.plans import RunSegment

__all__ = [
    "IN_SEGMENT",
    "PAUSE_UNCONFIRMED",
    "RUN_ON_TOLERANCE",
    "DueStep",
    "PauseLimits",
    "SegmentProgress",
    "Step",
    "continue_with",
    "due_step",
    "latest_safe_resume",
    "replanned_step",
    "work_left",
]


class Step(StrEnum):
    PAUSE = "pause"
    RESUME = "resume"


@dataclass(frozen=True, slots=True)
class PauseLimits:
    """How often one workload may be paused and the shortest run worth pausing after.

    ``confirm_within``: how long the kind's own controller may take to confirm a pause before
    it is undone.
    """

    max_pauses: int = 4
    min_run: timedelta = timedelta(minutes=30)
    confirm_within: timedelta = timedelta(minutes=15)

    def __post_init__(self) -> None:
        if self.max_pauses < 0:
            raise ValueError(f"max_pauses must be >= 0, got {self.max_pauses}")
        if self.min_run < timedelta(0):
            raise ValueError(f"min_run must be >= 0, got {self.min_run}")
        if self.confirm_within <= timedelta(0):
            raise ValueError(f"confirm_within must be > 0, got {self.confirm_within}")


@dataclass(frozen=True, slots=True)
class SegmentProgress:
    """A running workload's plan and where it is in it (all from its annotations)."""

    segments: tuple[RunSegment, ...]
    deadline: datetime
    released_at: datetime | None = None
    paused_at: datetime | None = None  # None while it runs
    resumed_at: datetime | None = None  # the last resume, if any
    pauses: int = 0
    lost_per_pause: timedelta = timedelta(0)
    # While paused: has the kind's own controller confirmed the pause (state saved, stopped)?
    pause_confirmed: bool = True

    @property
    def run_began(self) -> datetime | None:
        """When the current (or, while paused, the last) run began: release or last resume."""
        known = [at for at in (self.released_at, self.resumed_at) if at is not None]
        return max(known) if known else None


@dataclass(frozen=True, slots=True)
class DueStep:
    """What to do now (``step``; None: nothing) and when to look again (None: never)."""

    step: Step | None
    next_check: datetime | None
    reason: str

    @property
    def ends_pausing(self) -> bool:
        """The resume of a pause nobody confirmed: the workload is never paused again."""
        return self.reason == PAUSE_UNCONFIRMED


IN_SEGMENT = "in a segment"
"""The reason while a segment with another to come runs: the one a mid-run re-plan may end."""

PAUSE_UNCONFIRMED = "pause not confirmed in time: resumed, runs to the end"
"""The reason of the one resume that also ends pausing for the workload."""

# A run that began this much before its segment (less the resume lead) began in a gap: the
# deadline guard resumed it, or it was released late; it runs to its end.
_GAP_TOLERANCE = timedelta(minutes=1)


def latest_safe_resume(
    progress: SegmentProgress, *, after: datetime, latency_risk: float
) -> datetime:
    """The last resume, for the work left after a pause at ``after``, that meets the deadline.

    The work left is the segments planned after ``after`` plus what the last run did not do of
    its own segment (it began late, or was paused early); with nothing planned any more, one
    checkpoint interval of lost work.
    """
    return progress.deadline - work_left(progress, after=after) * (1.0 + latency_risk)


def work_left(progress: SegmentProgress, *, after: datetime) -> timedelta:
    """The work a pause at ``after`` leaves (see :func:`latest_safe_resume`), unstretched."""
    left = [segment.duration for segment in progress.segments if segment.start_at >= after]
    remaining = sum(left, timedelta(0)) if left else progress.lost_per_pause
    return remaining + _shortfall(progress, after)


def due_step(
    progress: SegmentProgress,
    *,
    now: datetime,
    latency_risk: float,
    limits: PauseLimits,
    resume_lead: timedelta = timedelta(0),
) -> DueStep:
    """The step due at ``now`` (see the module docstring).

    ``resume_lead`` resumes that much before the planned instant (the controller's release
    lead: a resume takes real seconds to reach the pods, many virtual ones on a fast clock).
    """
    if progress.paused_at is not None:
        unconfirmed_until = progress.paused_at + limits.confirm_within
        if not progress.pause_confirmed and now >= unconfirmed_until:
            return DueStep(Step.RESUME, None, PAUSE_UNCONFIRMED)
        step = _while_paused(progress, progress.paused_at, now + resume_lead, latency_risk)
        if progress.pause_confirmed:
            return step
        if step.step is Step.RESUME:  # resumed before anyone confirmed it stopped: a failed pause
            return DueStep(Step.RESUME, None, PAUSE_UNCONFIRMED)
        give_up = unconfirmed_until + resume_lead  # the loop takes the lead off paused checks
        check = give_up if step.next_check is None else min(step.next_check, give_up)
        return replace(step, next_check=check)
    current = _segment_of_run(progress, now)
    if current is None:
        if progress.run_began is None and now < progress.segments[0].start_at:
            return DueStep(None, progress.segments[0].start_at, "before its first segment")
        return DueStep(None, None, "past its plan: runs to the end")
    began = progress.run_began
    if began is not None and began < current.start_at - resume_lead - _GAP_TOLERANCE:
        return DueStep(None, None, "began between segments (deadline guard): runs to the end")
    if current is progress.segments[-1]:
        return DueStep(None, None, "in its last segment: runs to the end")
    if now < current.end_at:
        return DueStep(None, current.end_at, IN_SEGMENT)
    if progress.pauses >= limits.max_pauses:
        return DueStep(None, None, f"paused {progress.pauses} times already: runs to the end")
    if current.duration < limits.min_run:
        return DueStep(None, None, f"segment shorter than {limits.min_run}: runs on")
    if latest_safe_resume(progress, after=now, latency_risk=latency_risk) <= now + resume_lead:
        return DueStep(None, None, "no slack left to pause: runs to the end")
    return DueStep(Step.PAUSE, None, "end of a segment")


def _segment_of_run(progress: SegmentProgress, now: datetime) -> RunSegment | None:
    """The segment the current run is for: the first to end after the run began."""
    began = progress.run_began
    if began is None:
        started = [segment for segment in progress.segments if segment.start_at <= now]
        return started[-1] if started else None
    return next((segment for segment in progress.segments if segment.end_at > began), None)


def _shortfall(progress: SegmentProgress, paused_at: datetime) -> timedelta:
    """Planned work of the last run's segment that it did not do before ``paused_at``."""
    began = progress.run_began
    if began is None:
        return timedelta(0)
    segment = next((s for s in progress.segments if s.end_at > began), None)
    if segment is None:
        return timedelta(0)
    return max(timedelta(0), segment.duration - (paused_at - began))


def _while_paused(
    progress: SegmentProgress, paused_at: datetime, now: datetime, latency_risk: float
) -> DueStep:
    upcoming = [segment for segment in progress.segments if segment.start_at >= paused_at]
    guard = latest_safe_resume(progress, after=paused_at, latency_risk=latency_risk)
    if not upcoming:
        return DueStep(Step.RESUME, None, "no segment left: resume to finish")
    planned = upcoming[0].start_at
    if now >= guard and guard < planned:
        return DueStep(Step.RESUME, None, "latest safe resume (deadline guard)")
    if now >= planned:
        return DueStep(Step.RESUME, None, "start of its next segment")
    return DueStep(None, min(planned, guard), "paused until its next segment")


# A fresh plan whose first segment starts this soon runs the work now (PATCHes take seconds).
RUN_ON_TOLERANCE = timedelta(minutes=1)


def continue_with(
    progress: SegmentProgress, fresh: tuple[RunSegment, ...], *, now: datetime
) -> tuple[RunSegment, ...]:
    """The plan of a running workload after a re-plan at ``now`` gave ``fresh`` for its rest.

    The current run keeps its segment's start (so the rule still sees one run, not a run that
    began between segments): when ``fresh`` runs the work now, that segment is stretched to
    where ``fresh`` first stops, then ``fresh``'s later segments follow; otherwise it is cut at
    ``now`` (a pause) and all of ``fresh`` follows. Segments already run stay, for the record.
    """
    current = _segment_of_run(progress, now)
    began = current.start_at if current is not None else (progress.run_began or now)
    done = tuple(segment for segment in progress.segments if segment.end_at <= began)
    if fresh[0].start_at <= now + RUN_ON_TOLERANCE:
        return (*done, RunSegment(began, max(fresh[0].end_at, now)), *fresh[1:])
    cut = (RunSegment(began, now),) if now > began else ()
    return (*done, *cut, *fresh)


def replanned_step(
    progress: SegmentProgress,
    fresh: tuple[RunSegment, ...],
    *,
    now: datetime,
    latency_risk: float,
    limits: PauseLimits,
    resume_lead: timedelta = timedelta(0),
) -> tuple[Step | None, tuple[RunSegment, ...]]:
    """What a re-plan in the middle of a running segment changes: pause now, or a new plan.

    ``fresh`` (the policy's plan of the work left, from ``now``) pauses the workload now when
    it starts later and the limits allow a pause here: the pause budget, at least ``min_run``
    since this run began, and slack for the deadline guard under the new plan. Otherwise the
    workload runs on, with the new plan when it runs the work now, else the old one.
    """
    segments = continue_with(progress, fresh, now=now)
    if fresh[0].start_at <= now + RUN_ON_TOLERANCE:
        return None, segments
    began = progress.run_began
    paused = replace(progress, segments=segments)
    if (
        progress.pauses >= limits.max_pauses
        or began is None
        or now - began < limits.min_run
        or latest_safe_resume(paused, after=now, latency_risk=latency_risk) <= now + resume_lead
    ):
        return None, progress.segments
    return Step.PAUSE, segments
