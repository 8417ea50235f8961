"""Emissions over time per grid zone, from the per-job rows of a simulation.

Each job's ``co2_g`` is spread evenly over ``[start, end)`` and summed into fixed bins, exactly
(the integral of a piecewise-constant rate at the bin edges, not sampling). For a job split by
pauses, ``start..end`` includes the pauses, so its emissions are smeared over them: the
per-zone totals stay exact, only the shape within the run is approximate.
"""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pandas as pd

# At least a second of run time per job, so a zero-length row cannot divide by zero.
_MIN_RUN_S = 1.0


def choose_step(jobs: pd.DataFrame) -> timedelta:
    """Hourly bins for up to three days of jobs, daily bins beyond (a readable line)."""
    if jobs.empty:
        return timedelta(hours=1)
    span = jobs["end"].max() - jobs["start"].min()
    return timedelta(hours=1) if span <= pd.Timedelta(days=3) else timedelta(days=1)


def zone_emissions_kg(jobs: pd.DataFrame, policy: str, step: timedelta) -> pd.DataFrame:
    """Emissions in kg CO2eq per bin (rows, bin start) and zone (columns) by ``policy``'s jobs.

    Bins are aligned to midnight UTC and cover every job of *any* policy in ``jobs``, so the
    frames of two policies line up. Zones without jobs under ``policy`` are absent.
    """
    if step <= timedelta(0):
        raise ValueError(f"step must be positive, got {step}")
    if jobs.empty:
        return pd.DataFrame(dtype=float)
    step_s = step.total_seconds()
    origin = jobs["start"].min().floor("D")
    start_s = (jobs["start"] - origin).dt.total_seconds().to_numpy()
    end_s = (jobs["end"] - origin).dt.total_seconds().to_numpy()
    n_bins = int(np.ceil(max(float(end_s.max()), _MIN_RUN_S) / step_s)) + 1
    edges_s = np.arange(n_bins + 1) * step_s
    index = pd.DatetimeIndex([origin + pd.Timedelta(seconds=float(s)) for s in edges_s[:-1]])
    chosen = (jobs["policy"] == policy).to_numpy()
    columns = {}
    for zone in sorted(set(jobs.loc[chosen, "zone"])):
        rows = chosen & (jobs["zone"] == zone).to_numpy()
        co2_kg = jobs["co2_g"].to_numpy()[rows] / 1000.0
        columns[zone] = np.diff(
            _cumulative_kg(
                start_s[rows], np.maximum(end_s[rows], start_s[rows] + _MIN_RUN_S), co2_kg, edges_s
            )
        )
    return pd.DataFrame(columns, index=index)


def _cumulative_kg(
    start_s: np.ndarray, end_s: np.ndarray, kg: np.ndarray, at_s: np.ndarray
) -> np.ndarray:
    """Total kg emitted by all jobs before each instant of ``at_s`` (rates constant per job)."""
    rate = kg / (end_s - start_s)
    times = np.concatenate([start_s, end_s])
    deltas = np.concatenate([rate, -rate])
    order = np.argsort(times, kind="stable")
    times, deltas = times[order], deltas[order]
    rate_after = np.cumsum(deltas)
    # The integral is linear between events: its value at each event, then interpolate.
    at_events = np.concatenate([[0.0], np.cumsum(rate_after[:-1] * np.diff(times))])
    result: np.ndarray = np.interp(at_s, times, at_events, left=0.0, right=at_events[-1])
    return result
