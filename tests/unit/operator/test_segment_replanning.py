"""PlanningReplanner.remaining_segments: the webhook's policy, asked for the work left."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from carbon_kube.domain.annotations import DEADLINE, FLEXIBLE_LABEL, INTERRUPTIBLE
from carbon_kube.domain.clock import FixedClock
from carbon_kube.operator.replanning import PlanningReplanner
from carbon_kube.planning import PlanningService, PlanningSettings
from carbon_kube.providers.embedded import EmbeddedProvider

NOW = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)
H = timedelta(hours=1)


def replanner(now: datetime = NOW) -> PlanningReplanner:
    clock = FixedClock(now)
    settings = PlanningSettings(home_zone="DE", policy="temporal", forecast="oracle")
    return PlanningReplanner(PlanningService(EmbeddedProvider(clock), clock, settings))


JOB = {
    "apiVersion": "batch/v1",
    "kind": "Job",
    "metadata": {
        "name": "etl",
        "namespace": "default",
        "labels": {FLEXIBLE_LABEL: "true"},
        "annotations": {DEADLINE: "2026-03-11T09:00:00Z", INTERRUPTIBLE: "true"},
    },
    "spec": {"template": {"spec": {"containers": [{"name": "c"}]}}},
}


def test_the_work_left_is_planned_again_between_now_and_the_deadline() -> None:
    deadline = NOW + 24 * H
    segments = replanner().remaining_segments(JOB, NOW, 3 * H, deadline)

    assert segments is not None
    assert segments[0].start_at >= NOW
    assert segments[-1].end_at <= deadline
    assert sum((s.duration for s in segments), timedelta(0)) >= 3 * H


def test_no_plan_when_the_work_left_no_longer_fits() -> None:
    assert replanner().remaining_segments(JOB, NOW, 3 * H, NOW + 2 * H) is None
    assert replanner().remaining_segments({"kind": "Unknown"}, NOW, H, NOW + 5 * H) is None
