"""When held workloads are due: plan first, the latest safe start always, never held forever."""

from __future__ import annotations

from datetime import timedelta

from carbon_kube.domain.annotations import LATEST_START, RELEASE_AT
from carbon_kube.operator.releasing import DueReason, due_for_release, release_timing
from tests.builders import HOUR, T0
from tests.held_workloads import HeldBuilder, held_pod

MINUTE = timedelta(minutes=1)


def held_pod_annotations(builder: HeldBuilder) -> dict[str, str]:
    return dict(builder.build()["metadata"]["annotations"])


def test_planned_workload_is_due_at_its_release_time_not_before() -> None:
    annotations = held_pod_annotations(
        held_pod("p").planned(release_at=T0 + 2 * HOUR).latest_start(T0 + 5 * HOUR)
    )

    assert not due_for_release(annotations, T0 + 2 * HOUR - MINUTE, submit_at=T0)
    assert due_for_release(annotations, T0 + 2 * HOUR, submit_at=T0)
    assert release_timing(annotations, submit_at=T0).reason is DueReason.PLANNED


def test_latest_safe_start_wins_when_the_plan_is_later_than_it() -> None:
    annotations = held_pod_annotations(
        held_pod("p").planned(release_at=T0 + 9 * HOUR).latest_start(T0 + 5 * HOUR)
    )

    timing = release_timing(annotations, submit_at=T0)

    assert timing.due_at == T0 + 5 * HOUR
    assert timing.reason is DueReason.LATEST_SAFE_START


def test_without_a_plan_the_deadline_minus_expected_duration_is_the_release_time() -> None:
    annotations = held_pod_annotations(held_pod("p").deadline(T0 + 6 * HOUR, expected=2 * HOUR))

    assert not due_for_release(annotations, T0 + 4 * HOUR - MINUTE, submit_at=T0)
    assert due_for_release(annotations, T0 + 4 * HOUR, submit_at=T0)


def test_max_delay_counts_from_creation_on_the_controller_clock() -> None:
    annotations = held_pod_annotations(held_pod("p").max_delay(3 * HOUR, expected=HOUR))

    timing = release_timing(annotations, submit_at=T0 + HOUR)

    # deadline = created + max-delay + expected; latest start = deadline - expected
    assert timing.due_at == T0 + 4 * HOUR


def test_workload_without_any_timing_is_released_at_once() -> None:
    timing = release_timing({}, submit_at=T0)

    assert timing.due_at is None
    assert timing.reason is DueReason.NO_TIMING
    assert timing.is_due(T0 - 100 * HOUR)


def test_unreadable_release_at_falls_back_to_the_latest_safe_start_and_says_why() -> None:
    annotations = {RELEASE_AT: "tomorrow-ish", LATEST_START: "2022-01-01T05:00:00Z"}

    timing = release_timing(annotations, submit_at=T0)

    assert timing.due_at == T0 + 5 * HOUR
    assert any(RELEASE_AT in problem for problem in timing.problems)


def test_every_annotation_unreadable_means_release_now_not_hold_forever() -> None:
    timing = release_timing({RELEASE_AT: "soon", LATEST_START: "later"}, submit_at=T0)

    assert timing.is_due(T0)
    assert len(timing.problems) == 2


def test_lead_releases_that_much_before_the_due_instant() -> None:
    annotations = held_pod_annotations(held_pod("p").planned(release_at=T0 + HOUR))

    assert not due_for_release(annotations, T0 + 49 * MINUTE, submit_at=T0, lead=10 * MINUTE)
    assert due_for_release(annotations, T0 + 50 * MINUTE, submit_at=T0, lead=10 * MINUTE)
