"""The re-planning hook: ask for a fresh plan for a held workload and keep it if it moved.

The plan itself comes from ``carbon_kube.planning`` (provider + forecast + policy), injected as
a :class:`Replanner`; this module only decides whether a new plan is worth writing. A new plan
is written when its zone differs or its release moved by at least ``tolerance``: re-planning
every small wobble of a forecast would churn annotations without changing any outcome. The
latest safe start is never moved: it follows from the deadline, not from the forecast.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any, Protocol

from carbon_kube.domain.annotations import (
    LATEST_START,
    PLAN_ZONE,
    RELEASE_AT,
    parse_rfc3339,
    plan_annotations,
)
from carbon_kube.domain.errors import InputError
from carbon_kube.domain.zones import Zone
from carbon_kube.operator.workloads import HeldKind, workload_kind
from carbon_kube.planning.service import NO_SIGNAL, PlanningService
from carbon_kube.planning.workloads import workload_from_object

__all__ = ["PlanningReplanner", "Replanner", "plan_moved_materially", "replan_patch"]


class Replanner(Protocol):
    """Fresh plan annotations for a held workload at ``now``, or None when none can be made.

    ``created_at`` is the object's creation on the controller's clock (``max-delay`` counts
    from it).
    """

    def replan(
        self, obj: Mapping[str, Any], now: datetime, created_at: datetime
    ) -> Mapping[str, str] | None: ...


_KINDS = {str(held): workload_kind(held) for held in HeldKind}


class PlanningReplanner:
    """:class:`Replanner` over ``carbon_kube.planning``: the webhook's policy, asked again.

    A plan made without a signal is never written over an existing plan: it would only move
    the release to the latest safe start, which the controller enforces anyway.
    """

    def __init__(self, service: PlanningService) -> None:
        self._service = service

    def replan(
        self, obj: Mapping[str, Any], now: datetime, created_at: datetime
    ) -> Mapping[str, str] | None:
        kind = _KINDS.get(str(obj.get("kind", "")))
        if kind is None:
            return None
        home = Zone(self._service.settings.home_zone)
        try:
            workload, _ = workload_from_object(kind, obj, home_zone=home, submitted_at=created_at)
        except InputError:
            return None  # unreadable annotations: the release falls back to what is there
        plan = self._service.plan(workload)
        if plan.reason == NO_SIGNAL:
            return None
        return plan_annotations(plan, decided_at=now, latest_start=workload.latest_start)


def plan_moved_materially(
    old: Mapping[str, str], new: Mapping[str, str], tolerance: timedelta
) -> bool:
    """True when ``new`` changes the zone or moves ``release-at`` by ``tolerance`` or more."""
    if new.get(PLAN_ZONE) and new.get(PLAN_ZONE) != old.get(PLAN_ZONE):
        return True
    if RELEASE_AT not in new:
        return False
    if RELEASE_AT not in old:
        return True
    try:
        moved = abs(
            parse_rfc3339(new[RELEASE_AT], RELEASE_AT) - parse_rfc3339(old[RELEASE_AT], RELEASE_AT)
        )
    except InputError:
        return True  # the old value was unreadable: any readable plan is an improvement
    return moved >= tolerance


def replan_patch(new: Mapping[str, str]) -> dict[str, object]:
    """The merge patch writing the plan ``new``, keeping the latest safe start already there."""
    annotations = {key: value for key, value in new.items() if key != LATEST_START}
    return {"metadata": {"annotations": annotations}}
