"""The start search (``policy.windows.best_starts``) is exact for durations of any length.

Emissions of a fixed-length run over piecewise-constant intensity are linear in the start
between the instants where its start or its end crosses a step boundary; a search that skipped
the end-aligned starts missed the optimum for durations that are not whole steps.
"""

from __future__ import annotations

import numpy as np
import pytest

from carbon_kube.domain.zones import Zone
from carbon_kube.policy.forecasts import OracleForecast
from carbon_kube.policy.grids import IntensityGrid
from carbon_kube.policy.windows import best_starts, make_windows
from tests.builders import T0, make_series

STEP_S = 3600.0
MINUTE_S = 60.0


def _search(values: list[float], earliest_s: float, latest_s: float, duration_s: float):  # type: ignore[no-untyped-def]
    forecast = OracleForecast(IntensityGrid({Zone("DE"): make_series(values, start=T0)}))
    origin = float(forecast.grid.origin_s)
    earliest = np.array([origin + earliest_s])
    latest = np.array([origin + latest_s])
    duration = np.array([duration_s])
    windows = make_windows(forecast, earliest, latest)
    start, cost = best_starts(forecast, 0, earliest, duration, windows)
    minutes = np.arange(origin + earliest_s, origin + latest_s + 1, MINUTE_S)
    brute = forecast.integral(0, np.full(minutes.shape, earliest[0]), minutes, minutes + duration_s)
    return start[0] - origin, cost[0], float(brute.min())


def test_a_run_ending_on_a_boundary_is_found_when_that_is_cheapest() -> None:
    # 90 min fits one clean hour only by ending exactly where the dirty hour starts.
    values = [500.0, 500.0, 10.0, 900.0, 900.0, 900.0]

    start_s, cost, brute = _search(values, 0.0, 3 * STEP_S, 1.5 * STEP_S)

    assert start_s == pytest.approx(1.5 * STEP_S)  # 01:30 -> 03:00
    assert cost == pytest.approx(brute)


@pytest.mark.parametrize("seed", range(40))
def test_the_search_matches_a_minute_by_minute_brute_force(seed: int) -> None:
    rng = np.random.default_rng(seed)
    values = list(rng.uniform(20.0, 800.0, 30))
    duration_s = float(rng.integers(5, 400)) * MINUTE_S
    earliest_s = float(rng.integers(0, 300)) * MINUTE_S
    latest_s = earliest_s + float(rng.integers(0, 900)) * MINUTE_S

    _, cost, brute = _search(values, earliest_s, latest_s, duration_s)

    # Candidates are whole minutes here, so the minute grid holds the true optimum too.
    assert cost == pytest.approx(brute, rel=1e-9, abs=1e-9)
