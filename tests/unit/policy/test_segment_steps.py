from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from carbon_kube.domain.plans import RunSegment
from carbon_kube.policy.segment_steps import (
    PAUSE_UNCONFIRMED,
    PauseLimits,
    SegmentProgress,
    Step,
    continue_with,
    due_step,
    latest_safe_resume,
    replanned_step,
)

T0 = datetime(2026, 3, 10, 0, 0, tzinfo=UTC)
H = timedelta(hours=1)
# Two hours now, a dirty gap of four, two hours later; deadline 12 h out.
PLAN = (RunSegment(T0, T0 + 2 * H), RunSegment(T0 + 6 * H, T0 + 8 * H))
LIMITS = PauseLimits(max_pauses=2, min_run=timedelta(minutes=30))


def progress(**changes: object) -> SegmentProgress:
    base: dict[str, object] = {"segments": PLAN, "deadline": T0 + 12 * H}
    return SegmentProgress(**{**base, **changes})  # type: ignore[arg-type]


def test_a_running_workload_pauses_at_the_end_of_its_segment() -> None:
    during = due_step(progress(), now=T0 + H, latency_risk=0.0, limits=LIMITS)
    assert (during.step, during.next_check) == (None, T0 + 2 * H)

    at_end = due_step(progress(), now=T0 + 2 * H, latency_risk=0.0, limits=LIMITS)
    assert at_end.step is Step.PAUSE


def test_a_paused_workload_resumes_at_its_next_segment() -> None:
    paused = progress(paused_at=T0 + 2 * H, pauses=1)
    waiting = due_step(paused, now=T0 + 3 * H, latency_risk=0.0, limits=LIMITS)
    assert (waiting.step, waiting.next_check) == (None, T0 + 6 * H)

    due = due_step(paused, now=T0 + 6 * H, latency_risk=0.0, limits=LIMITS)
    assert due.step is Step.RESUME
    assert "next segment" in due.reason


def test_the_deadline_guard_resumes_before_the_plan_when_the_plan_would_miss() -> None:
    # The remaining 2 h, stretched by 50 %, must start by T0 + 9 h; a plan that resumes at
    # 9.5 h would miss a 12 h deadline with that margin.
    late_plan = (RunSegment(T0, T0 + 2 * H), RunSegment(T0 + 9.5 * H, T0 + 11.5 * H))
    paused = progress(segments=late_plan, paused_at=T0 + 2 * H, pauses=1, lost_per_pause=H)
    guard = latest_safe_resume(paused, after=T0 + 2 * H, latency_risk=0.5)
    assert guard == T0 + 12 * H - 3 * H

    waiting = due_step(paused, now=T0 + 5 * H, latency_risk=0.5, limits=LIMITS)
    assert waiting.next_check == guard
    due = due_step(paused, now=guard, latency_risk=0.5, limits=LIMITS)
    assert due.step is Step.RESUME
    assert "deadline guard" in due.reason


def test_the_pause_budget_is_never_exceeded() -> None:
    spent = progress(pauses=LIMITS.max_pauses)
    step = due_step(spent, now=T0 + 2 * H, latency_risk=0.0, limits=LIMITS)
    assert step.step is None
    assert step.next_check is None  # runs to the end


def test_a_segment_shorter_than_the_minimum_run_is_not_paused_after() -> None:
    short = (RunSegment(T0, T0 + timedelta(minutes=10)), RunSegment(T0 + 6 * H, T0 + 8 * H))
    step = due_step(progress(segments=short), now=T0 + H, latency_risk=0.0, limits=LIMITS)
    assert step.step is None


def test_the_last_segment_runs_to_the_end() -> None:
    step = due_step(progress(), now=T0 + 7 * H, latency_risk=0.0, limits=LIMITS)
    assert (step.step, step.next_check) == (None, None)


def test_a_paused_workload_with_nothing_planned_resumes_at_once() -> None:
    paused = progress(paused_at=T0 + 9 * H, pauses=1)
    assert due_step(paused, now=T0 + 9 * H, latency_risk=0.0, limits=LIMITS).step is Step.RESUME


@pytest.mark.parametrize("bad", [{"max_pauses": -1}, {"min_run": timedelta(seconds=-1)}])
def test_limits_refuse_negative_values(bad: dict[str, object]) -> None:
    with pytest.raises(ValueError, match="must be >= 0"):
        PauseLimits(**bad)  # type: ignore[arg-type]


def test_limits_refuse_a_confirmation_timeout_that_is_not_positive() -> None:
    with pytest.raises(ValueError, match="confirm_within must be > 0"):
        PauseLimits(confirm_within=timedelta(0))


def test_a_pause_its_controller_never_confirms_is_undone_at_the_timeout() -> None:
    limits = PauseLimits(confirm_within=timedelta(minutes=15))
    unconfirmed = progress(paused_at=T0 + 2 * H, pauses=1, pause_confirmed=False)
    waiting = due_step(unconfirmed, now=T0 + 2 * H + timedelta(minutes=5), latency_risk=0.0,
                       limits=limits)  # fmt: skip
    assert (waiting.step, waiting.next_check) == (None, T0 + 2 * H + timedelta(minutes=15))

    undone = due_step(unconfirmed, now=T0 + 2 * H + timedelta(minutes=15), latency_risk=0.0,
                      limits=limits)  # fmt: skip
    assert (undone.step, undone.reason) == (Step.RESUME, PAUSE_UNCONFIRMED)


def test_a_confirmed_pause_waits_for_its_segment_whatever_the_timeout() -> None:
    limits = PauseLimits(confirm_within=timedelta(minutes=15))
    confirmed = progress(paused_at=T0 + 2 * H, pauses=1, pause_confirmed=True)
    waiting = due_step(confirmed, now=T0 + 3 * H, latency_risk=0.0, limits=limits)
    assert (waiting.step, waiting.next_check) == (None, T0 + 6 * H)


def test_an_unconfirmed_pause_resumed_at_its_segment_ends_pausing_too() -> None:
    short_gap = (RunSegment(T0, T0 + 2 * H), RunSegment(T0 + 2 * H + timedelta(minutes=10),
                                                        T0 + 4 * H))  # fmt: skip
    unconfirmed = progress(segments=short_gap, paused_at=T0 + 2 * H, pauses=1,
                           pause_confirmed=False)  # fmt: skip
    at_segment = T0 + 2 * H + timedelta(minutes=10)
    waiting = due_step(unconfirmed, now=T0 + 2 * H, latency_risk=0.0, limits=LIMITS)
    assert waiting.next_check == at_segment
    due = due_step(unconfirmed, now=at_segment, latency_risk=0.0, limits=LIMITS)
    assert (due.step, due.reason) == (Step.RESUME, PAUSE_UNCONFIRMED)


def test_work_resumed_early_by_the_guard_runs_to_its_end() -> None:
    resumed = progress(resumed_at=T0 + 4 * H, pauses=1)
    step = due_step(resumed, now=T0 + 4 * H, latency_risk=0.0, limits=LIMITS)
    assert (step.step, step.next_check) == (None, None)
    assert "deadline guard" in step.reason


def test_a_resume_lead_resumes_that_much_before_the_segment() -> None:
    paused = progress(paused_at=T0 + 2 * H, pauses=1)
    early = T0 + 6 * H - timedelta(minutes=2)
    lead = timedelta(minutes=2)
    assert due_step(paused, now=early, latency_risk=0.0, limits=LIMITS, resume_lead=lead).step
    assert due_step(paused, now=early, latency_risk=0.0, limits=LIMITS).step is None


def test_work_released_after_its_segment_ended_is_not_paused_with_nothing_done() -> None:
    late = progress(released_at=T0 + 3 * H)  # the first segment (0-2 h) is over
    step = due_step(late, now=T0 + 3 * H, latency_risk=0.0, limits=LIMITS)
    assert step.step is None
    assert "between segments" in step.reason


def test_a_late_release_counts_the_missed_work_in_the_deadline_guard() -> None:
    # Released 1 h into its 2 h segment and paused at its end: 1 h of that segment is owed.
    paused = progress(released_at=T0 + H, paused_at=T0 + 2 * H, pauses=1)
    guard = latest_safe_resume(paused, after=T0 + 2 * H, latency_risk=0.0)
    assert guard == T0 + 12 * H - (2 * H + H)


def test_a_guard_resume_in_a_gap_still_runs_to_its_end_after_the_next_segment() -> None:
    three = (*PLAN, RunSegment(T0 + 10 * H, T0 + 11 * H))
    early = progress(segments=three, resumed_at=T0 + 4 * H, pauses=1)
    step = due_step(early, now=T0 + 8 * H, latency_risk=0.0, limits=LIMITS)
    assert (step.step, step.next_check) == (None, None)


def test_a_resume_led_before_its_segment_is_paused_at_that_segments_end() -> None:
    lead = timedelta(minutes=2)
    three = (*PLAN, RunSegment(T0 + 10 * H, T0 + 11 * H))
    led = progress(segments=three, resumed_at=T0 + 6 * H - lead, pauses=1)
    during = due_step(led, now=T0 + 7 * H, latency_risk=0.0, limits=LIMITS, resume_lead=lead)
    assert during.next_check == T0 + 8 * H
    at_end = due_step(led, now=T0 + 8 * H, latency_risk=0.0, limits=LIMITS, resume_lead=lead)
    assert at_end.step is Step.PAUSE


def test_a_run_on_replan_keeps_one_run_so_its_next_pause_still_comes() -> None:
    # At the end of the first segment a fresh plan runs on to 03:00, then 06:00-07:00.
    running = progress(released_at=T0)
    fresh = (RunSegment(T0 + 2 * H, T0 + 3 * H), RunSegment(T0 + 6 * H, T0 + 7 * H))
    merged = continue_with(running, fresh, now=T0 + 2 * H)
    assert merged == (RunSegment(T0, T0 + 3 * H), RunSegment(T0 + 6 * H, T0 + 7 * H))
    after = progress(released_at=T0, segments=merged)
    assert due_step(after, now=T0 + 3 * H, latency_risk=0.0, limits=LIMITS).step is Step.PAUSE


def test_a_replan_mid_segment_pauses_now_when_the_rest_runs_later() -> None:
    running = progress(released_at=T0)
    later = (RunSegment(T0 + 5 * H, T0 + 6 * H + 30 * timedelta(minutes=1)),)
    step, segments = replanned_step(running, later, now=T0 + H, latency_risk=0.0, limits=LIMITS)
    assert step is Step.PAUSE
    assert segments == (RunSegment(T0, T0 + H), *later)


def test_a_replan_mid_segment_respects_the_minimum_run_and_the_budget() -> None:
    later = (RunSegment(T0 + 5 * H, T0 + 7 * H),)
    young = progress(released_at=T0)
    at = T0 + timedelta(minutes=10)  # under LIMITS.min_run since the release
    assert replanned_step(young, later, now=at, latency_risk=0.0, limits=LIMITS) == (
        None,
        PLAN,
    )
    spent = progress(released_at=T0, pauses=LIMITS.max_pauses)
    assert replanned_step(spent, later, now=T0 + H, latency_risk=0.0, limits=LIMITS)[0] is None


def test_a_replan_mid_segment_never_pauses_past_the_deadline_guard() -> None:
    # 11 h of work left from 01:00 before a 12:00 deadline: no slack to pause at all.
    running = progress(released_at=T0, segments=(RunSegment(T0, T0 + 12 * H),))
    late = (RunSegment(T0 + 2 * H, T0 + 13 * H),)
    step, _ = replanned_step(running, late, now=T0 + H, latency_risk=0.0, limits=LIMITS)
    assert step is None
