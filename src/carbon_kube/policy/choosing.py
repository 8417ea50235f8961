"""Small steps every policy shares: earliest starts and believed integrals per home zone."""

from __future__ import annotations

import numpy as np

from carbon_kube.domain.arrays import FloatArray, IntArray
from carbon_kube.policy.forecasts import Forecast
from carbon_kube.policy.jobs import JobTable


def earliest_starts(jobs: JobTable, decided_s: FloatArray) -> FloatArray:
    """No job starts before it is submitted, nor before the decision about it is made."""
    result: FloatArray = np.maximum(jobs.submit_s, decided_s)
    return result


def decided_per_job(jobs: JobTable, decided_s: FloatArray) -> FloatArray:
    """``decided_s`` as one value per job (a scalar decision time is shared by all)."""
    result: FloatArray = np.broadcast_to(np.asarray(decided_s, dtype=np.float64), (len(jobs),))
    return result


def believed_by_zone(
    forecast: Forecast,
    zone_index: IntArray,
    decided_s: FloatArray,
    start_s: FloatArray,
    end_s: FloatArray,
) -> FloatArray:
    """Believed integral per job in its own zone (one vectorised call per zone)."""
    result = np.zeros(start_s.shape, dtype=np.float64)
    for zone in np.unique(zone_index).tolist():
        rows = zone_index == zone
        result[rows] = forecast.integral(zone, decided_s[rows], start_s[rows], end_s[rows])
    return result
