"""Estimate each released workload's emissions and the baseline's, for the savings metrics.

The controller is the one component that sees every release, so it reports the per-job
estimates (``carbon_kube_job_emissions_grams``, ``..._counterfactual_...``, avoided/excess by
lever) that the "Carbon savings" dashboard and the savings recording rules read. The estimate
itself is ``PlanningService.outcome`` (the re-planner's service, so the source is shared under
one lock); this module turns a Kubernetes object into its workload and
its planned zone. Anything unreadable gives no estimate rather than a wrong one.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any, Protocol

from carbon_kube.domain.annotations import PLAN_ZONE
from carbon_kube.domain.errors import InputError
from carbon_kube.domain.workloads import WorkloadKind
from carbon_kube.domain.zones import Zone
from carbon_kube.planning.outcomes import JobOutcome
from carbon_kube.planning.service import PlanningService
from carbon_kube.planning.workloads import workload_from_object

__all__ = ["OutcomeSource", "PlanningOutcomes"]


class OutcomeSource(Protocol):
    """The estimate for ``obj`` released (started) at ``start``, or None."""

    def outcome(
        self, kind: WorkloadKind, obj: Mapping[str, Any], start: datetime, submit_at: datetime
    ) -> JobOutcome | None: ...


class PlanningOutcomes:
    """:class:`OutcomeSource` over a :class:`PlanningService` (its home zone and source)."""

    def __init__(self, service: PlanningService) -> None:
        self._service = service
        self._home_zone = service.settings.home

    def outcome(
        self, kind: WorkloadKind, obj: Mapping[str, Any], start: datetime, submit_at: datetime
    ) -> JobOutcome | None:
        try:
            workload, _ = workload_from_object(
                kind, obj, home_zone=self._home_zone, submit_at=submit_at
            )
        except (InputError, ValueError):
            return None
        annotations = (obj.get("metadata") or {}).get("annotations") or {}
        zone = Zone(str(annotations.get(PLAN_ZONE) or self._home_zone))
        return self._service.outcome(workload, start=start, zone=zone)
