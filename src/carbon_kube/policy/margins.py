"""Deadline margins: the ``latency_risk`` knob (Helm ``threshold.latencyRisk``).

Every policy plans against a job's latest safe start, ``deadline - expected duration``. That is
only safe if the job really runs for its expected duration and is released on time; a run that
takes longer than expected, or a release that comes late, misses the deadline. ``latency_risk``
is the overrun a plan must absorb, as a share of the expected duration::

    planned latest start = deadline - (1 + latency_risk) x expected duration

so a job released by its plan still meets its deadline if it runs up to ``latency_risk x 100 %``
longer than expected (or starts that much of its duration late). The margin scales with the
job, because duration errors do: a fixed share of the *slack* would reserve hours for a
10-minute job with a day of slack and nothing for a long job with little slack.

At the edges: the margin never makes a feasible job infeasible, it shrinks to the slack there is
(a job with less slack than its margin is planned to start at submit, the best it can do); a job
that cannot meet its deadline even at submit keeps its true deadline and is reported as
infeasible. ``latency_risk = 0`` is the plan to the exact latest safe start (the table is
returned unchanged). Pure: no I/O, no clock.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime

import numpy as np

from carbon_kube.domain.arrays import FloatArray
from carbon_kube.domain.workloads import Workload
from carbon_kube.policy.jobs import JobTable

DEFAULT_LATENCY_RISK = 0.0


def check_latency_risk(latency_risk: float) -> float:
    """``latency_risk`` if it is in [0, 1]; a ``ValueError`` naming the range otherwise."""
    if not 0.0 <= latency_risk <= 1.0:
        raise ValueError(f"latency risk must be in [0, 1], got {latency_risk}")
    return latency_risk


def planning_deadlines_s(jobs: JobTable, latency_risk: float) -> FloatArray:
    """Per job, the deadline plans must finish by: earlier by the margin, never infeasible."""
    check_latency_risk(latency_risk)
    guarded = jobs.deadline_s - latency_risk * jobs.duration_s
    # The margin shrinks to the slack: at worst the job starts at submit (if it could before).
    floor = np.minimum(jobs.deadline_s, jobs.submit_s + jobs.duration_s)
    result: FloatArray = np.maximum(guarded, floor)
    return result


def with_deadline_margin(jobs: JobTable, latency_risk: float) -> JobTable:
    """``jobs`` with deadlines moved earlier by the margin (see module docstring)."""
    if check_latency_risk(latency_risk) == 0.0:
        return jobs
    return dataclasses.replace(jobs, deadline_s=planning_deadlines_s(jobs, latency_risk))


def guarded_latest_start(workload: Workload, latency_risk: float) -> datetime:
    """One workload's latest start with the margin (the same rule as ``planning_deadlines_s``)."""
    check_latency_risk(latency_risk)
    guarded = workload.deadline - latency_risk * workload.expected_duration
    floor = min(workload.deadline, workload.submit_at + workload.expected_duration)
    return max(guarded, floor) - workload.expected_duration
