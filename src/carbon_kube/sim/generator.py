"""Synthetic workloads whose arrivals, durations and CPUs follow a fitted real trace.

The numbers come from ``carbon_kube/data/workload_model.json``, fitted to GAIA's PAI and Azure
traces by ``scripts/fit_workload_model.py`` (docs/workload_model.md states them and the fit
quality). Given the same arguments and ``seed`` the output is identical, bit for bit.

How a job is drawn:

* **arrival**: ``n_jobs`` arrivals over ``span`` (default: as long as the trace needs for that
  many jobs at its mean rate, e.g. 1,000 PAI jobs take 87.7 h). Each arrival picks an hour with
  probability proportional to the hour-of-week profile (profile bin 0 is the hour at ``start``,
  as a converted trace places its t = 0 at ``--start``), then a uniform second within it; this is
  a Poisson process conditioned on its count.
* **duration** and **cpus**: independent draws from the fitted distributions.
* **deadline**: GAIA's waiting limits by default (6 h for jobs < 2 h, 24 h otherwise), or any
  other ``SlackRule``.
* **zone**: uniform over ``zones``; with ``allow_migration`` every job may run in all of them.
* **memory**: ``memory_gib_per_vcpu`` x cpus. This is *not* fitted: GAIA's traces carry no
  memory. The default of 4 GiB per vCPU is the general-purpose instance ratio (AWS m5/m6).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

import numpy as np

from carbon_kube.domain.clock import require_utc
from carbon_kube.domain.intensity import to_epoch_s
from carbon_kube.domain.workloads import Workload, WorkloadKind
from carbon_kube.domain.zones import Zone
from carbon_kube.sim.job_trace import JobTrace, to_workloads
from carbon_kube.sim.traces.slack import DEFAULT_SLACK, SlackRule
from carbon_kube.sim.workload_model import HOURS_PER_WEEK, WorkloadModel, load_workload_models

DEFAULT_MEMORY_GIB_PER_VCPU = 4.0
_HOUR_S = 3600


def generate_job_table(
    n_jobs: int,
    start: datetime,
    zones: Sequence[Zone],
    seed: int,
    *,
    model: str | WorkloadModel = "pai",
    span: timedelta | None = None,
    slack: SlackRule = DEFAULT_SLACK,
    allow_migration: bool = False,
    interruptible_fraction: float = 0.0,
    memory_gib_per_vcpu: float = DEFAULT_MEMORY_GIB_PER_VCPU,
) -> JobTrace:
    """``n_jobs`` jobs in columns, sorted by submit time (the form for large simulations)."""
    fitted = model if isinstance(model, WorkloadModel) else _model(model)
    start = require_utc(start, "generate_workloads start")
    if n_jobs < 0:
        raise ValueError("n_jobs must be >= 0")
    if not zones:
        raise ValueError("at least one zone is needed")
    if not 0.0 <= interruptible_fraction <= 1.0:
        raise ValueError("interruptible_fraction must be within [0, 1]")
    span_s = (
        round(span.total_seconds())
        if span is not None
        else round(n_jobs / fitted.rate_jobs_per_h * _HOUR_S)
    )
    if span is not None and span_s <= 0:
        raise ValueError("span must be positive")
    rng = np.random.default_rng(seed)

    hours = max(1, -(-span_s // _HOUR_S))
    weights = np.asarray(fitted.hour_of_week_profile)[np.arange(hours) % HOURS_PER_WEEK]
    # The last hour may be cut short by the span: weight it by the part that is inside.
    weights[-1] *= (span_s - (hours - 1) * _HOUR_S) / _HOUR_S if span_s else 1.0
    hour = rng.choice(hours, size=n_jobs, p=weights / weights.sum())
    offset_s = hour * _HOUR_S + np.floor(rng.random(n_jobs) * _HOUR_S).astype(np.int64)
    offset_s = np.minimum(offset_s, max(span_s - 1, 0))

    log_quantiles = np.log(np.asarray(fitted.duration_quantiles_s))
    log_duration = np.interp(rng.random(n_jobs), fitted.duration_probabilities, log_quantiles)
    duration_raw_s = np.exp(log_duration)
    if fitted.duration_step_s:
        # The trace only knows durations to its reporting step: keep that grid.
        step_s = fitted.duration_step_s
        duration_raw_s = np.maximum(np.rint(duration_raw_s / step_s), 1) * step_s
    duration_s = np.maximum(np.rint(duration_raw_s), 1).astype(np.int64)
    cpus = rng.choice(np.asarray(fitted.cpu_values), size=n_jobs, p=fitted.cpu_probabilities)
    zone_index = rng.integers(0, len(zones), size=n_jobs)
    interruptible = rng.random(n_jobs) < interruptible_fraction

    order = np.argsort(offset_s, kind="stable")
    submit_s = to_epoch_s(start) + offset_s[order]
    duration_s = duration_s[order]
    cpus = cpus[order].astype(np.float64)
    zone_names = np.asarray([str(z) for z in zones], dtype=object)[zone_index[order]]
    allowed = ";".join(str(z) for z in zones)
    return JobTrace(
        job_id=[f"{fitted.name}-{i:07d}" for i in range(n_jobs)],
        submit_s=submit_s.astype(np.int64),
        duration_s=duration_s,
        cpus=cpus,
        memory_gib=cpus * memory_gib_per_vcpu,
        deadline_s=slack.deadlines_s(submit_s, duration_s),
        zone=list(zone_names),
        allowed_zones=[allowed] * n_jobs if allow_migration else None,
        interruptible=interruptible[order],
        kind=[str(WorkloadKind.JOB)] * n_jobs,
    )


def generate_workloads(
    n_jobs: int,
    start: datetime,
    zones: Sequence[Zone],
    seed: int,
    *,
    model: str | WorkloadModel = "pai",
    span: timedelta | None = None,
    slack: SlackRule = DEFAULT_SLACK,
    allow_migration: bool = False,
    interruptible_fraction: float = 0.0,
    memory_gib_per_vcpu: float = DEFAULT_MEMORY_GIB_PER_VCPU,
) -> list[Workload]:
    """The same jobs as ``generate_job_table``, as domain ``Workload`` objects."""
    table = generate_job_table(
        n_jobs,
        start,
        zones,
        seed,
        model=model,
        span=span,
        slack=slack,
        allow_migration=allow_migration,
        interruptible_fraction=interruptible_fraction,
        memory_gib_per_vcpu=memory_gib_per_vcpu,
    )
    return to_workloads(table, default_zone=zones[0])


def _model(name: str) -> WorkloadModel:
    models = load_workload_models()
    if name not in models:
        raise ValueError(f"unknown workload model {name!r}; shipped: {', '.join(sorted(models))}")
    return models[name]
