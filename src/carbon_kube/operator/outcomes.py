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
from carbon_kube.domain.workloads import Workload, WorkloadKind
from carbon_kube.domain.zones import Zone
from carbon_kube.planning.outcomes import JobOutcome, PauseRecord
from carbon_kube.planning.service import PlanningService
from carbon_kube.planning.workloads import workload_from_object

__all__ = ["OutcomeSource", "PlanningOutcomes"]


class OutcomeSource(Protocol):
    """The estimates the controller reports: per release, and per pause of running work."""

    def outcome(
        self, kind: WorkloadKind, obj: Mapping[str, Any], start: datetime, submit_at: datetime
    ) -> JobOutcome | None:
        """The estimate for ``obj`` released (started) at ``start``, or None."""
        ...

    def pause_avoided_g(
        self, kind: WorkloadKind, obj: Mapping[str, Any], pause: PauseRecord
    ) -> float | None:
        """Grams ``pause`` of ``obj`` saved (negative: it cost carbon), or None."""
        ...


class PlanningOutcomes:
    """:class:`OutcomeSource` over a :class:`PlanningService` (its home zone and source)."""

    def __init__(self, service: PlanningService) -> None:
        self._service = service
        self._home_zone = service.settings.home

    def outcome(
        self, kind: WorkloadKind, obj: Mapping[str, Any], start: datetime, submit_at: datetime
    ) -> JobOutcome | None:
        read = self._workload(kind, obj, submit_at)
        if read is None:
            return None
        workload, zone = read
        return self._service.outcome(workload, start=start, zone=zone)

    def pause_avoided_g(
        self, kind: WorkloadKind, obj: Mapping[str, Any], pause: PauseRecord
    ) -> float | None:
        # The submission instant only sizes max-delay deadlines, which a pause does not use.
        read = self._workload(kind, obj, pause.paused_at)
        if read is None:
            return None
        workload, zone = read
        return self._service.pause_avoided_g(workload, zone=zone, pause=pause)

    def _workload(
        self, kind: WorkloadKind, obj: Mapping[str, Any], submit_at: datetime
    ) -> tuple[Workload, Zone] | None:
        """The workload ``obj`` describes and the zone it was planned in; None if unreadable."""
        try:
            workload, _ = workload_from_object(
                kind, obj, home_zone=self._home_zone, submit_at=submit_at
            )
        except (InputError, ValueError):
            return None
        annotations = (obj.get("metadata") or {}).get("annotations") or {}
        return workload, Zone(str(annotations.get(PLAN_ZONE) or self._home_zone))
