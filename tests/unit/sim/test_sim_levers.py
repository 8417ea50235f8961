"""The simulator's saving split by lever: start (time/region) and pause, summing to the whole."""

from __future__ import annotations

import io

import numpy as np
import pytest
from rich.console import Console

from carbon_kube.domain.plans import REPORTED_LEVERS
from carbon_kube.energy.power import PowerModel
from carbon_kube.policy.grids import IntensityGrid
from carbon_kube.sim.engine import SimulationSettings, simulate
from carbon_kube.sim.report import summarise, summary_table
from tests.builders import HOUR, T0, a_job, make_jobs, make_series


def _dirty_middle() -> IntensityGrid:
    """Two clean hours, eight dirty ones, two clean again, then dirty: worth pausing through."""
    values = [100.0] * 2 + [600.0] * 8 + [100.0] * 2 + [600.0] * 12
    return IntensityGrid({"DE": make_series(values)})


def test_pausing_through_dirty_hours_is_the_pause_levers_saving() -> None:
    truth = _dirty_middle()
    # 4 h due in 12: no contiguous 4 h avoids the dirty hours; two clean pairs do.
    job = a_job("j").submitted(T0).lasting(4 * HOUR).due(T0 + 12 * HOUR).interruptible()
    jobs = make_jobs(truth, job)
    settings = SimulationSettings(("temporal",), PowerModel(1000.0, 0.0, 1.0), "oracle")

    result = simulate(jobs, truth, settings)
    outcome = result.outcomes["temporal"]
    (summary,) = [s for s in summarise(result) if s["policy"] == "temporal"]

    assert outcome.schedule.split_rows.size == 1  # paused across the dirty hours
    by_lever = summary["savings_by_lever_kg"]
    assert list(by_lever) == [str(lever) for lever in REPORTED_LEVERS]
    saved_kg = summary["baseline_co2_kg"] - summary["co2_kg"]
    assert sum(by_lever.values()) == pytest.approx(saved_kg)
    # Started at once (no time shift), so the whole saving is the pause's.
    assert by_lever["pause"] == pytest.approx(saved_kg)
    assert by_lever["pause"] > 0


def test_an_interruptible_job_run_in_one_piece_saves_nothing_by_pausing() -> None:
    truth = _dirty_middle()
    # One hour due in twelve: the two clean hours at submission hold it whole.
    job = a_job("j").submitted(T0).lasting(HOUR).due(T0 + 12 * HOUR).interruptible()
    jobs = make_jobs(truth, job)
    settings = SimulationSettings(("temporal",), PowerModel(1000.0, 0.0, 1.0), "oracle")

    outcome = simulate(jobs, truth, settings).outcomes["temporal"]

    assert outcome.schedule.split_rows.size == 0
    np.testing.assert_array_equal(outcome.pause_saved_g, [0.0])


def test_the_table_names_the_pause_lever_only_when_some_policy_paused() -> None:
    def summary(policy: str, pause_kg: float) -> dict[str, object]:
        levers = {"time": 1.0, "region": 0.0, "time+region": 0.0, "pause": pause_kg}
        return {
            "policy": policy,
            "energy_kwh": 10.0,
            "co2_kg": 5.0,
            "savings_pct": 10.0,
            "deadline_misses": 0,
            "mean_delay_s": 0.0,
            "savings_by_lever_kg": levers,
        }

    def rendered(*summaries: dict[str, object]) -> str:
        console = Console(width=80, record=True, file=io.StringIO())
        console.print(summary_table(summaries, "t"))
        return console.export_text()

    assert "pausing" not in rendered(summary("temporal", 0.0))
    text = rendered(summary("carbon-agnostic", 0.0), summary("temporal", 2.5))
    assert "and by pausing (kg, beside the columns): temporal 2.5" in text
    assert "…" not in text
