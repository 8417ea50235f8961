"""Policies by name, and the one entry point adapters call: ``plan_jobs`` / ``plan_workload``.

Each policy is a pure function ``(jobs, forecast, decided_s, args) -> Schedule`` with its own
frozen, validated ``Args``; capacity limits, when given, are applied after it by the greedy
ledger (``policy.capacity``) with the fallback candidates that policy allows.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from carbon_kube.domain.arrays import FloatArray
from carbon_kube.domain.clock import Clock
from carbon_kube.domain.errors import InputError
from carbon_kube.domain.intensity import to_epoch_s
from carbon_kube.domain.plans import Plan
from carbon_kube.domain.workloads import Workload
from carbon_kube.policy import agnostic, spatial, spatiotemporal, temporal, threshold
from carbon_kube.policy.capacity import CapacityLimits, Fallback, apply_capacity
from carbon_kube.policy.forecasts import Forecast
from carbon_kube.policy.jobs import JobTable
from carbon_kube.policy.margins import DEFAULT_LATENCY_RISK, with_deadline_margin
from carbon_kube.policy.schedules import Schedule, to_plans


@dataclass(frozen=True, slots=True)
class PolicySpec:
    """A policy's name, planning function, default arguments and capacity fallback."""

    name: str
    plan: Callable[[JobTable, Forecast, FloatArray, Any], Schedule]
    default_args: Any
    fallback: Fallback
    moves_zone: bool


POLICIES: dict[str, PolicySpec] = {
    spec.name: spec
    for spec in (
        PolicySpec(
            agnostic.NAME,
            agnostic.plan_carbon_agnostic,
            agnostic.CarbonAgnosticArgs(),
            Fallback.AT_SUBMIT,
            moves_zone=False,
        ),
        PolicySpec(
            threshold.NAME,
            threshold.plan_threshold,
            threshold.ThresholdArgs(),
            Fallback.FROM_RELEASE,
            moves_zone=False,
        ),
        PolicySpec(
            temporal.NAME,
            temporal.plan_temporal,
            temporal.TemporalArgs(),
            Fallback.IN_WINDOW,
            moves_zone=False,
        ),
        PolicySpec(
            spatial.NAME,
            spatial.plan_spatial,
            spatial.SpatialArgs(),
            Fallback.AT_SUBMIT,
            moves_zone=True,
        ),
        PolicySpec(
            spatiotemporal.NAME,
            spatiotemporal.plan_spatiotemporal,
            spatiotemporal.SpatiotemporalArgs(),
            Fallback.IN_WINDOW,
            moves_zone=True,
        ),
    )
}


def parse_policy_names(text: str) -> list[str]:
    """``a,b,c`` -> names, each checked against ``POLICIES`` (an ``InputError`` otherwise)."""
    names = [name.strip() for name in text.split(",") if name.strip()]
    if not names:
        raise InputError("no policy given", field="--policy")
    for name in names:
        if name not in POLICIES:
            raise InputError(
                f"unknown policy {name!r}; choose from {', '.join(POLICIES)}", field="--policy"
            )
    return list(dict.fromkeys(names))


def plan_jobs(
    name: str,
    jobs: JobTable,
    forecast: Forecast,
    decided_s: FloatArray,
    args: Any = None,
    capacity: CapacityLimits | None = None,
    latency_risk: float = DEFAULT_LATENCY_RISK,
) -> Schedule:
    """Plan every job with policy ``name``, then fit the plans into ``capacity`` if given.

    ``latency_risk`` > 0 plans every job to a deadline earlier by that share of its expected
    duration (``policy.margins``); the schedule's rows are still ``jobs``' rows.
    """
    spec = POLICIES[name]
    jobs = with_deadline_margin(jobs, latency_risk)
    schedule = spec.plan(jobs, forecast, decided_s, args if args is not None else spec.default_args)
    if capacity is None:
        return schedule
    mask = jobs.allowed if spec.moves_zone else None
    return apply_capacity(jobs, schedule, forecast, decided_s, capacity, spec.fallback, mask)


def plan_workload(
    workload: Workload,
    name: str,
    forecast: Forecast,
    clock: Clock,
    args: Any = None,
    latency_risk: float = DEFAULT_LATENCY_RISK,
) -> Plan:
    """Plan one workload as decided now (``clock``); the start is never before now or submit."""
    jobs = JobTable.from_workloads([workload], forecast.grid.zones)
    decided = np.array([float(to_epoch_s(clock.now()))])
    schedule = plan_jobs(name, jobs, forecast, decided, args, latency_risk=latency_risk)
    return to_plans(jobs, schedule, forecast.name)[0]
