"""Estimated outcome of one released workload: its emissions and the carbon-agnostic baseline's.

When the controller releases held work it knows everything the estimate needs: the workload's
size and expected duration (its annotations and requests), where it was planned to run
(``plan-zone``), when it was released, and when it was submitted. The baseline is the same work
started at submission in the home zone, which is what would have happened without Carbon-Kube.

Both figures are *estimates* computed from the same intensity source the plans came from, over
the expected (not the actual) run: ``power_w x integral of intensity over the run``, the
simulator's formula (``energy.emissions``), so the cluster's metrics and the simulator's
reports are comparable. The lever says what the plan changed: the start (``time``), the grid
zone (``region``) or both.

A pause moves the rest of a running workload's work: :func:`pause_avoided_g` is what one pause
saved, running the work left from the resume, with a restart (the plan's restart cost, or the
work the pause lost if more), instead of on from the pause. The release's estimate assumes the
run it started goes on; each pause's figure replaces that continuation with the deferred one,
so the release's figure minus every pause's is the estimate of the run as it happened, and the
``pause`` lever is pausing's share.

``job_outcome`` and ``pause_avoided_g`` are pure; :meth:`PlanningService.outcome` and
:meth:`PlanningService.pause_avoided_g` fetch the series from the source the plans came from
(under the same lock) and return None when a zone lacks data for a run (nothing is reported
rather than a guess).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from carbon_kube.domain.intensity import IntensitySeries
from carbon_kube.domain.plans import Lever
from carbon_kube.domain.workloads import Workload
from carbon_kube.domain.zones import Zone
from carbon_kube.energy.emissions import emissions_g
from carbon_kube.energy.power import PowerModel

__all__ = ["JobOutcome", "PauseRecord", "job_outcome", "lever_of", "pause_avoided_g"]


@dataclass(frozen=True, slots=True)
class JobOutcome:
    """One workload's estimated energy and emissions, and the baseline's emissions."""

    energy_kwh: float
    emissions_g: float
    counterfactual_g: float
    lever: Lever

    @property
    def avoided_g(self) -> float:
        """Grams saved against the baseline (negative when the plan cost carbon)."""
        return self.counterfactual_g - self.emissions_g


def lever_of(workload: Workload, start: datetime, zone: Zone) -> Lever:
    """What running ``workload`` from ``start`` in ``zone`` changed against the baseline."""
    moved_in_time = start > workload.submit_at
    moved_in_space = zone != workload.home_zone
    if moved_in_time and moved_in_space:
        return Lever.TIME_AND_REGION
    if moved_in_space:
        return Lever.REGION
    if moved_in_time:
        return Lever.TIME
    return Lever.NONE


def job_outcome(
    workload: Workload,
    *,
    start: datetime,
    zone: Zone,
    run_series: IntensitySeries,
    home_series: IntensitySeries,
    power: PowerModel,
) -> JobOutcome:
    """The estimate for ``workload`` run from ``start`` in ``zone`` (``run_series``' grid).

    Raises ``ValueError`` when a series does not cover its run.
    """
    power_w = power.power_w(workload.cpus, workload.memory_gib)
    duration = workload.expected_duration
    baseline_start = min(start, workload.submit_at)
    return JobOutcome(
        energy_kwh=power_w * duration.total_seconds() / 3600.0 / 1000.0,
        emissions_g=emissions_g(run_series, start, start + duration, power_w),
        counterfactual_g=emissions_g(
            home_series, baseline_start, baseline_start + duration, power_w
        ),
        lever=lever_of(workload, start, zone),
    )


@dataclass(frozen=True, slots=True)
class PauseRecord:
    """One pause as it happened: from when to when, and the work it left and lost.

    ``work_left`` is the planned work after the resume, which holds the plan's restart cost;
    ``lost_work`` is the work since the last checkpoint that the pause threw away.
    """

    paused_at: datetime
    resumed_at: datetime
    work_left: timedelta
    lost_work: timedelta


def pause_avoided_g(
    series: IntensitySeries, *, power_w: float, pause: PauseRecord, restart_in_plan: timedelta
) -> float:
    """Grams one pause saved (negative when it cost carbon).

    Without the pause the work itself (``work_left`` less the ``restart_in_plan`` the plan put
    before the resumed segment) would have run on from ``paused_at``; with it, that work plus
    the restart (at least ``lost_work``, redone) runs from ``resumed_at``. Raises
    ``ValueError`` when ``series`` does not cover both runs.
    """
    work = max(pause.work_left - restart_in_plan, timedelta(0))
    redo = max(restart_in_plan, pause.lost_work)
    continued_g = emissions_g(series, pause.paused_at, pause.paused_at + work, power_w)
    deferred_g = emissions_g(series, pause.resumed_at, pause.resumed_at + work + redo, power_w)
    return continued_g - deferred_g
