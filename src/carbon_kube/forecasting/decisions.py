"""Score forecasts by the decisions they lead to, not by their error alone.

Shifting work depends on the *order* of the hours, not on their level: a forecast with a lower
MAPE can rank hours worse and save less. ``oracle_fraction`` replays, for each forecast, a fixed
set of small shiftable jobs submitted at its origin (every duration in ``durations_steps``, each
allowed to wait up to ``slack_steps``): each job starts where the forecast believes its run is
cleanest, and pays the *true* intensity. The score is the savings against starting at once, as
a fraction of what perfect knowledge would save on the same jobs (1.0: as good as the oracle;
0: no better than not shifting; negative: worse). Pure and vectorised (no Python loop over
candidate starts per job).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from carbon_kube.domain.forecasts import QuantileForecast
from carbon_kube.domain.intensity import IntensitySeries

__all__ = ["DEFAULT_DURATIONS_STEPS", "DEFAULT_SLACK_STEPS", "oracle_fraction"]

DEFAULT_DURATIONS_STEPS = (1, 2, 4)
DEFAULT_SLACK_STEPS = 12


def oracle_fraction(
    truth: IntensitySeries,
    forecasts: Sequence[QuantileForecast],
    *,
    durations_steps: Sequence[int] = DEFAULT_DURATIONS_STEPS,
    slack_steps: int = DEFAULT_SLACK_STEPS,
) -> float:
    """Savings of forecast-chosen starts as a fraction of the oracle's (NaN if none possible).

    Every forecast must be on ``truth``'s step and start on its grid; jobs whose window runs
    past the forecast or the truth are left out.
    """
    saved = 0.0
    possible = 0.0
    for forecast in forecasts:
        if forecast.step != truth.step:
            raise ValueError("forecast and truth are on different steps")
        offset, remainder = divmod(forecast.origin - truth.start, truth.step)
        if remainder or offset < 0:
            raise ValueError("forecast origin is off the truth's grid")
        actual = truth.values_g_per_kwh[offset:]
        believed = forecast.p50_g_per_kwh
        for duration in durations_steps:
            starts = min(slack_steps, len(believed) - duration, len(actual) - duration) + 1
            if starts < 1:
                continue
            true_cost = _window_sums(actual, duration)[:starts]
            believed_cost = _window_sums(believed, duration)[:starts]
            chosen = int(np.argmin(believed_cost))
            saved += float(true_cost[0] - true_cost[chosen])
            possible += float(true_cost[0] - true_cost.min())
    return saved / possible if possible > 0 else float("nan")


def _window_sums(values: np.ndarray, width: int) -> np.ndarray:
    cumulative = np.concatenate(([0.0], np.cumsum(values, dtype=np.float64)))
    return cumulative[width:] - cumulative[:-width]
