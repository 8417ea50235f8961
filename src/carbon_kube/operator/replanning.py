"""The re-planning hook: ask for a fresh plan for a held workload and keep it if it moved.

The plan itself comes from ``carbon_kube.planning`` (provider + forecast + policy), injected as
a :class:`Replanner`; this module reads the plans recorded in annotations into the
domain's :class:`~carbon_kube.policy.replanning.ReleasePlan` and asks the one re-plan rule
(``policy.replanning.should_replace``, which the simulator asks too) whether the new plan is
worth writing. The latest safe start is never moved: it follows from the deadline, not from
the forecast.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any, Protocol, runtime_checkable

from carbon_kube.domain.annotations import (
    LATEST_START,
    PLAN_ZONE,
    RELEASE_AT,
    SEGMENTS,
    parse_rfc3339,
    plan_annotations,
)
from carbon_kube.domain.errors import InputError
from carbon_kube.domain.plans import RunSegment
from carbon_kube.domain.zones import Zone
from carbon_kube.kinds.registry import kind_named
from carbon_kube.planning.service import NO_SIGNAL, PlanningService
from carbon_kube.planning.workloads import workload_from_object
from carbon_kube.policy.replanning import ReleasePlan, should_replace

__all__ = [
    "PlanningReplanner",
    "Replanner",
    "SegmentReplanner",
    "plan_moved_materially",
    "recorded_plan",
    "replan_patch",
]


class Replanner(Protocol):
    """Fresh plan annotations for a held workload at ``now``, or None when none can be made.

    ``submit_at`` is the object's creation on the controller's clock (``max-delay`` counts
    from it).
    """

    def replan(
        self, obj: Mapping[str, Any], now: datetime, submit_at: datetime
    ) -> Mapping[str, str] | None: ...


@runtime_checkable
class SegmentReplanner(Protocol):
    """Fresh segments for the ``remaining`` work of a running workload, from ``now``.

    None when no plan can be made (no signal, unreadable annotations): the recorded plan then
    stands.
    """

    def remaining_segments(
        self, obj: Mapping[str, Any], now: datetime, remaining: timedelta, deadline: datetime
    ) -> tuple[RunSegment, ...] | None: ...


class PlanningReplanner:
    """:class:`Replanner` over ``carbon_kube.planning``: the webhook's policy, asked again.

    A plan made without a signal is never written over an existing plan: it would only move
    the release to the latest safe start, which the controller enforces anyway.
    """

    def __init__(self, service: PlanningService) -> None:
        self._service = service

    def replan(
        self, obj: Mapping[str, Any], now: datetime, submit_at: datetime
    ) -> Mapping[str, str] | None:
        kind = kind_named(str(obj.get("kind", "")))
        if kind is None:
            return None
        home = Zone(self._service.settings.home_zone)
        try:
            workload, _ = workload_from_object(kind, obj, home_zone=home, submit_at=submit_at)
        except InputError:
            return None  # unreadable annotations: the release falls back to what is there
        plan = self._service.plan(workload)
        if plan.reason == NO_SIGNAL:
            return None
        return plan_annotations(plan, decided_at=now, latest_start=workload.latest_start)

    def remaining_segments(
        self, obj: Mapping[str, Any], now: datetime, remaining: timedelta, deadline: datetime
    ) -> tuple[RunSegment, ...] | None:
        """The policy's split of the work left, on the forecast as it is now.

        The same policy and pause model as at admission (``policy.pauses``), asked for the
        remaining work only, with ``now`` as its submit instant and the original deadline.
        """
        kind = kind_named(str(obj.get("kind", "")))
        if kind is None or remaining <= timedelta(0) or deadline <= now + remaining:
            return None
        home = Zone(self._service.settings.home_zone)
        try:
            workload, _ = workload_from_object(kind, obj, home_zone=home, submit_at=now)
        except InputError:
            return None
        rest = dataclasses.replace(
            workload, submit_at=now, expected_duration=remaining, deadline=deadline
        )
        plan = self._service.plan(rest)
        if plan.reason == NO_SIGNAL:
            return None
        return plan.segments


def recorded_plan(annotations: Mapping[str, str]) -> ReleasePlan | None:
    """The plan recorded in ``annotations``, or None when ``release-at`` is absent or unreadable."""
    text = annotations.get(RELEASE_AT)
    if text is None:
        return None
    try:
        release_at = parse_rfc3339(text, RELEASE_AT)
    except InputError:
        return None
    zone = annotations.get(PLAN_ZONE)
    return ReleasePlan(release_at, Zone(zone) if zone else None)


def plan_moved_materially(
    old: Mapping[str, str], new: Mapping[str, str], tolerance: timedelta
) -> bool:
    """True when the plan annotations ``new`` should replace ``old`` (the re-plan rule).

    An old plan that cannot be read is replaced by any readable one; a new one that cannot be
    read (never the case for ``plan_annotations``) is not written.
    """
    fresh = recorded_plan(new)
    if fresh is None:
        return False
    return should_replace(recorded_plan(old), fresh, tolerance)


def replan_patch(new: Mapping[str, str]) -> dict[str, object]:
    """The merge patch writing the plan ``new``, keeping the latest safe start already there.

    A new plan of one segment removes the old plan's ``segments`` (None deletes it in a merge
    patch): the pause loop would otherwise follow the old stretches after the release.
    """
    annotations: dict[str, str | None] = {
        key: value for key, value in new.items() if key != LATEST_START
    }
    annotations.setdefault(SEGMENTS, None)
    return {"metadata": {"annotations": annotations}}
