"""The re-plan rule: when a fresh plan for a held workload replaces the one it carries.

One rule for the controller (which reads plans from annotations) and the simulator (which
reads them from schedule rows), so a simulation that re-plans does so as the controller does.
A fresh plan replaces the old one when it moves the workload to another zone or moves its
release by at least ``tolerance``: re-planning every small wobble of a forecast would churn
annotations without changing any outcome. Pure: no clock, no I/O, no knowledge of where a plan
is stored.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from carbon_kube.domain.zones import Zone

__all__ = ["DEFAULT_REPLAN_TOLERANCE", "ReleasePlan", "should_replace"]

# The controller's default (ControllerSettings.replan_tolerance, `simulate --replan-tolerance`).
DEFAULT_REPLAN_TOLERANCE: Final = timedelta(minutes=15)


@dataclass(frozen=True, slots=True)
class ReleasePlan:
    """What the rule compares of a plan: when the workload is released, and where.

    ``zone`` is None when the plan names none (an annotation left out); a plan without a zone
    never counts as a move of zone.
    """

    release_at: datetime
    zone: Zone | None = None


def should_replace(old: ReleasePlan | None, new: ReleasePlan, tolerance: timedelta) -> bool:
    """True when ``new`` should replace ``old`` (None: no readable plan, so any is better).

    A tolerance of zero replaces on every re-plan (a move of zero counts), which is what the
    simulator did before it shared this rule.
    """
    if old is None:
        return True
    if new.zone is not None and new.zone != old.zone:
        return True
    return abs(new.release_at - old.release_at) >= tolerance
