"""The pause loop without a cluster: a released interruptible Job follows its segment plan."""

from __future__ import annotations

import asyncio
import copy
from datetime import UTC, datetime, timedelta
from typing import Any

from carbon_kube.domain.annotations import (
    CHECKPOINT_INTERVAL,
    DEADLINE,
    FLEXIBLE_LABEL,
    INTERRUPTIBLE,
    PAUSED_AT,
    PAUSES,
    RELEASED_AT,
    RESUMED_AT,
    SEGMENTS,
    format_segments,
)
from carbon_kube.domain.plans import RunSegment
from carbon_kube.domain.workloads import WorkloadKind
from carbon_kube.observability.metrics import REGISTRY
from carbon_kube.operator.controller import Controller
from carbon_kube.operator.settings import ControllerSettings, PauseSettings, WallClock
from carbon_kube.planning.outcomes import PauseRecord
from carbon_kube.providers.regions import load_region_zone_map

T0 = datetime(2026, 3, 10, 0, 0, tzinfo=UTC)
H = timedelta(hours=1)
PLAN = (RunSegment(T0, T0 + 2 * H), RunSegment(T0 + 6 * H, T0 + 8 * H))


class RecordingClient:
    def __init__(self) -> None:
        self.patches: list[tuple[str, dict[str, Any]]] = []

    def patch(
        self, resource: Any, name: str, body: Any, namespace: str | None = None, **kw: Any
    ) -> dict[str, Any]:
        self.patches.append((name, body))
        return {}


def released_job(name: str = "etl", **annotations: str) -> dict[str, Any]:
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {
            "name": name,
            "namespace": "default",
            "creationTimestamp": "2026-03-10T00:00:00Z",
            "labels": {FLEXIBLE_LABEL: "true"},
            "annotations": {
                DEADLINE: "2026-03-10T12:00:00Z",
                INTERRUPTIBLE: "true",
                CHECKPOINT_INTERVAL: "10m",
                RELEASED_AT: "2026-03-10T00:00:00Z",
                SEGMENTS: format_segments(PLAN),
                **annotations,
            },
        },
        "spec": {"suspend": False},
    }


def paused_job(*, confirmed: bool = True, segments: str | None = None) -> dict[str, Any]:
    """A Job paused at 02:00; ``confirmed``: the Job controller reports it Suspended."""
    job = released_job(**{PAUSED_AT: "2026-03-10T02:00:00Z", PAUSES: "1"})
    if segments is not None:
        job["metadata"]["annotations"][SEGMENTS] = segments
    job["spec"] = {"suspend": True}
    if confirmed:
        job["status"] = {"conditions": [{"type": "Suspended", "status": "True"}]}
    return job


class Clock:
    """A settable wall clock for the controller."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


class PauseOutcomes:
    """An outcome source that answers every pause with ``grams`` and keeps what it was asked."""

    def __init__(self, grams: float) -> None:
        self.grams = grams
        self.asked: list[PauseRecord] = []

    def outcome(self, *args: Any) -> None:
        return None

    def pause_avoided_g(self, kind: WorkloadKind, obj: Any, pause: PauseRecord) -> float:
        self.asked.append(pause)
        return self.grams


def controller(
    client: RecordingClient, clock: Clock, outcomes: PauseOutcomes | None = None, **pausing: Any
) -> Controller:
    settings = ControllerSettings(
        regions=load_region_zone_map(),
        label_nodes=False,
        max_sleep=timedelta(milliseconds=20),
        retry_after=timedelta(milliseconds=20),
        pausing=PauseSettings(**pausing),
    )
    return Controller(client, WallClock(clock), settings, outcomes=outcomes)  # type: ignore[arg-type]


def run_for(loop_controller: Controller, seconds: float, *events: tuple[float, Any]) -> None:
    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for delay, action in events:
            loop.call_later(delay, action)
        loop.call_later(seconds, stop.set)
        await loop_controller.run_loops(stop)

    asyncio.run(main())


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_a_job_is_paused_once_at_the_end_of_its_segment_despite_stale_events() -> None:
    client, clock = RecordingClient(), Clock(T0 + H)
    ctl = controller(client, clock)
    job = released_job()
    before = sample("carbon_kube_pauses_total", kind="job")
    ctl.observe_workload(WorkloadKind.JOB, job, deleted=False)

    def two_hours_later() -> None:
        clock.now = T0 + 2 * H

    run_for(
        ctl,
        0.4,
        (0.05, two_hours_later),
        # The same (pre-pause) object again, as a watch event from before the PATCH.
        (0.2, lambda: ctl.observe_workload(WorkloadKind.JOB, job, False)),
    )

    assert [name for name, _ in client.patches] == ["etl"]
    body = client.patches[0][1]
    assert body["spec"] == {"suspend": True}
    assert body["metadata"]["annotations"] == {PAUSED_AT: "2026-03-10T02:00:00Z", PAUSES: "1"}
    assert sample("carbon_kube_pauses_total", kind="job") == before + 1


def test_a_paused_job_is_resumed_at_its_next_segment_even_by_a_new_controller() -> None:
    client, clock = RecordingClient(), Clock(T0 + 5 * H)
    paused = paused_job()
    # A controller that starts after the pause (the one that paused it was killed).
    ctl = controller(client, clock)
    lost_before = sample("carbon_kube_pause_lost_work_seconds_total", kind="job")
    ctl.observe_workload(WorkloadKind.JOB, paused, deleted=False)

    def green_hour() -> None:
        clock.now = T0 + 6 * H

    run_for(ctl, 0.3, (0.1, green_hour))

    assert len(client.patches) == 1
    body = client.patches[0][1]
    assert body["spec"] == {"suspend": False}
    assert body["metadata"]["annotations"] == {
        PAUSED_AT: None,
        RESUMED_AT: "2026-03-10T06:00:00Z",
    }
    assert ctl.pauses == (0, 1)
    assert sample("carbon_kube_pause_lost_work_seconds_total", kind="job") == lost_before + 600


def test_a_resume_reports_what_its_pause_saved_under_the_pause_lever() -> None:
    client, clock, outcomes = RecordingClient(), Clock(T0 + 6 * H), PauseOutcomes(grams=250.0)
    ctl = controller(client, clock, outcomes)
    before = sample("carbon_kube_avoided_emissions_grams_total", kind="job", lever="pause")
    ctl.observe_workload(WorkloadKind.JOB, paused_job(), deleted=False)

    run_for(ctl, 0.3)

    # Paused at 02:00 with the 2 h second segment left, of which 10 min redo lost work.
    assert outcomes.asked == [
        PauseRecord(
            paused_at=T0 + 2 * H,
            resumed_at=T0 + 6 * H,
            work_left=2 * H,
            lost_work=timedelta(minutes=10),
        )
    ]
    after = sample("carbon_kube_avoided_emissions_grams_total", kind="job", lever="pause")
    assert after == before + 250.0


def test_an_undone_pause_reports_no_saving() -> None:
    clock, outcomes = Clock(T0 + 2 * H + timedelta(minutes=16)), PauseOutcomes(grams=250.0)
    ctl = controller(RecordingClient(), clock, outcomes, confirm_within=timedelta(minutes=15))
    ctl.observe_workload(WorkloadKind.JOB, paused_job(confirmed=False), deleted=False)

    run_for(ctl, 0.2)

    assert outcomes.asked == []


def test_the_deadline_guard_resumes_a_job_whose_plan_would_miss() -> None:
    late = (RunSegment(T0, T0 + 2 * H), RunSegment(T0 + 11 * H, T0 + 13 * H))
    client, clock = RecordingClient(), Clock(T0 + 10 * H)
    paused = paused_job(segments=format_segments(late))
    ctl = controller(client, clock)
    guard = sample("carbon_kube_resumes_total", kind="job", trigger="deadline-guard")
    ctl.observe_workload(WorkloadKind.JOB, paused, deleted=False)

    run_for(ctl, 0.2)

    # The 2 h planned must start by 10:00 for a 12:00 deadline: resumed then, not at 11.
    assert [body["spec"] for _, body in client.patches] == [{"suspend": False}]
    assert sample("carbon_kube_resumes_total", kind="job", trigger="deadline-guard") == guard + 1


def test_no_more_pauses_than_allowed() -> None:
    client, clock = RecordingClient(), Clock(T0 + 2 * H)
    spent = released_job(**{PAUSES: "1"})
    ctl = controller(client, clock, max_pauses=1)
    ctl.observe_workload(WorkloadKind.JOB, spent, deleted=False)

    run_for(ctl, 0.2)

    assert client.patches == []


def test_a_pause_its_controller_never_confirms_is_undone_and_pausing_ends() -> None:
    client, clock = RecordingClient(), Clock(T0 + 2 * H + timedelta(minutes=16))
    ctl = controller(client, clock, confirm_within=timedelta(minutes=15))
    unconfirmed = sample("carbon_kube_resumes_total", kind="job", trigger="pause-unconfirmed")
    stale = paused_job(confirmed=False)
    ctl.observe_workload(WorkloadKind.JOB, stale, deleted=False)

    # A status event written before the resume PATCH: still paused, unconfirmed.
    run_for(ctl, 0.3, (0.15, lambda: ctl.observe_workload(WorkloadKind.JOB, stale, False)))

    ((_, body),) = client.patches
    assert body["spec"] == {"suspend": False}
    assert body["metadata"]["annotations"]["carbon-kube.io/pausing-abandoned"] == (
        "2026-03-10T02:16:00Z pause not confirmed in time: resumed, runs to the end"
    )
    assert sample("carbon_kube_resumes_total", kind="job", trigger="pause-unconfirmed") == (
        unconfirmed + 1
    )


def test_a_workload_whose_pausing_was_abandoned_is_never_paused_again() -> None:
    client, clock = RecordingClient(), Clock(T0 + 2 * H)
    ctl = controller(client, clock)
    abandoned = released_job(**{"carbon-kube.io/pausing-abandoned": "2026-03-10T01:00:00Z x"})
    ctl.observe_workload(WorkloadKind.JOB, abandoned, deleted=False)

    run_for(ctl, 0.2)

    assert client.patches == []


def test_work_that_is_not_interruptible_or_finished_is_never_paused() -> None:
    client, clock = RecordingClient(), Clock(T0 + 2 * H)
    ctl = controller(client, clock)
    plain = released_job("plain", **{INTERRUPTIBLE: "false"})
    done = copy.deepcopy(released_job("done"))
    done["status"] = {"conditions": [{"type": "Complete", "status": "True"}]}
    for obj in (plain, done):
        ctl.observe_workload(WorkloadKind.JOB, obj, deleted=False)

    run_for(ctl, 0.2)

    assert client.patches == []


class FreshPlans:
    """A re-planner that answers the remaining work with fixed segments."""

    def __init__(self, segments: tuple[RunSegment, ...]) -> None:
        self.segments = segments
        self.asked: list[tuple[datetime, timedelta]] = []

    def replan(self, obj: Any, now: datetime, submit_at: datetime) -> None:
        return None

    def remaining_segments(
        self, obj: Any, now: datetime, remaining: timedelta, deadline: datetime
    ) -> tuple[RunSegment, ...]:
        self.asked.append((now, remaining))
        return self.segments


def replanning_controller(client: RecordingClient, clock: Clock, plans: FreshPlans) -> Controller:
    settings = ControllerSettings(
        regions=load_region_zone_map(),
        label_nodes=False,
        max_sleep=timedelta(milliseconds=20),
        pausing=PauseSettings(),
    )
    return Controller(client, WallClock(clock), settings, replanner=plans)  # type: ignore[arg-type]


def test_a_pause_replans_the_remaining_work_on_the_fresh_forecast() -> None:
    later = (RunSegment(T0 + 7 * H, T0 + 9 * H + 10 * timedelta(minutes=1)),)
    client, clock, plans = RecordingClient(), Clock(T0 + 2 * H), FreshPlans(later)
    ctl = replanning_controller(client, clock, plans)
    ctl.observe_workload(WorkloadKind.JOB, released_job(), deleted=False)

    run_for(ctl, 0.2)

    # Asked for the 2 h still planned plus the 10 min a pause loses, from the pause.
    assert plans.asked == [(T0 + 2 * H, 2 * H + 10 * timedelta(minutes=1))]
    ((_, body),) = client.patches
    assert body["spec"] == {"suspend": True}
    # The segment it ran stays on record; the fresh plan follows.
    assert body["metadata"]["annotations"][SEGMENTS] == format_segments((PLAN[0], *later))


def test_a_fresh_plan_that_runs_the_work_now_keeps_it_running() -> None:
    now_on = (RunSegment(T0 + 2 * H, T0 + 4 * H),)
    client, clock = RecordingClient(), Clock(T0 + 2 * H)
    ctl = replanning_controller(client, clock, FreshPlans(now_on))
    ctl.observe_workload(WorkloadKind.JOB, released_job(), deleted=False)

    run_for(ctl, 0.2)

    ((_, body),) = client.patches
    # The run goes on in one segment from its release to where the fresh plan stops: the
    # rule must still see a segment being run (a run "begun between segments" is never
    # paused again), not a new one begun at 02:00.
    merged = (RunSegment(T0, T0 + 4 * H),)
    assert body == {"metadata": {"annotations": {SEGMENTS: format_segments(merged)}}}
    assert ctl.pauses == (0, 0)


def test_a_paused_flink_job_reported_finished_by_its_operator_is_still_resumed() -> None:
    client, clock = RecordingClient(), Clock(T0 + 6 * H)
    flink = {
        "apiVersion": "flink.apache.org/v1beta1",
        "kind": "FlinkDeployment",
        "metadata": released_job("stream", **{PAUSED_AT: "2026-03-10T02:00:00Z", PAUSES: "1"})[
            "metadata"
        ],
        "spec": {"job": {"state": "suspended", "upgradeMode": "savepoint"}},
        # The operator cancelled the job with a savepoint: its job status reads FINISHED.
        "status": {
            "lifecycleState": "SUSPENDED",
            "jobStatus": {"state": "FINISHED", "upgradeSavepointPath": "s3://sp/savepoint-1"},
        },
    }
    ctl = controller(client, clock)
    ctl.observe_workload(WorkloadKind.FLINK, flink, deleted=False)

    run_for(ctl, 0.2)

    ((_, body),) = client.patches
    assert body["spec"] == {"job": {"state": "running"}}


def test_a_replan_to_one_segment_removes_the_old_segments() -> None:
    from carbon_kube.operator.replanning import replan_patch

    patch = replan_patch({"carbon-kube.io/release-at": "2026-03-10T05:00:00Z"})
    assert patch["metadata"]["annotations"][SEGMENTS] is None  # type: ignore[index]


def test_a_running_segment_is_paused_early_when_a_fresh_forecast_turns_dirty() -> None:
    # 01:00, an hour into the first segment (re-planned every 30 min): the fresh forecast
    # runs the 3 h left (and the 10 min a pause loses) from 05:00.
    later = (RunSegment(T0 + 5 * H, T0 + 8 * H + 10 * timedelta(minutes=1)),)
    client, clock, plans = RecordingClient(), Clock(T0 + H), FreshPlans(later)
    ctl = replanning_controller(client, clock, plans)
    ctl.observe_workload(WorkloadKind.JOB, released_job(), deleted=False)

    run_for(ctl, 0.3)

    assert plans.asked == [(T0 + H, 3 * H + 10 * timedelta(minutes=1))]
    ((_, body),) = client.patches
    assert body["spec"] == {"suspend": True}
    cut = RunSegment(T0, T0 + H)
    assert body["metadata"]["annotations"][SEGMENTS] == format_segments((cut, *later))
    assert ctl.pauses == (1, 0)


def test_a_running_segment_whose_fresh_plan_runs_now_is_left_running() -> None:
    same = (RunSegment(T0 + H, T0 + 2 * H), RunSegment(T0 + 6 * H, T0 + 8 * H))
    client, clock, plans = RecordingClient(), Clock(T0 + H), FreshPlans(same)
    ctl = replanning_controller(client, clock, plans)
    ctl.observe_workload(WorkloadKind.JOB, released_job(), deleted=False)

    run_for(ctl, 0.3)

    # Asked once (the next re-plan is 30 min later); the plan it gives is the one there.
    assert len(plans.asked) == 1
    assert client.patches == []
