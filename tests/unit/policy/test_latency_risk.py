"""``latency_risk``: a deadline margin of that share of the expected duration, in every policy."""

from __future__ import annotations

import numpy as np
import pytest

from carbon_kube.domain.arrays import FloatArray
from carbon_kube.domain.intensity import to_epoch_s
from carbon_kube.energy.power import PowerModel
from carbon_kube.policy.forecasts import OracleForecast
from carbon_kube.policy.grids import IntensityGrid
from carbon_kube.policy.jobs import JobTable
from carbon_kube.policy.margins import planning_deadlines_s, with_deadline_margin
from carbon_kube.policy.registry import plan_jobs
from carbon_kube.sim.engine import PolicyOutcome, SimulationSettings, measure, simulate
from carbon_kube.sim.overruns import actual_durations_s
from tests.builders import HOUR, T0, a_job, make_jobs, make_truth

POWER = PowerModel(watts_per_vcpu=10.0, watts_per_gib=0.0, pue=1.0)


def test_the_margin_moves_the_planning_deadline_earlier_by_a_share_of_the_duration() -> None:
    truth = make_truth({"DE": [300.0] * 48})
    jobs = make_jobs(truth, a_job("a").lasting(4 * HOUR).due(T0 + 20 * HOUR))

    deadline_s = planning_deadlines_s(jobs, 0.25)

    assert deadline_s[0] == to_epoch_s(T0 + 19 * HOUR)


def test_the_margin_shrinks_to_the_slack_and_never_makes_a_job_infeasible() -> None:
    truth = make_truth({"DE": [300.0] * 48})
    jobs = make_jobs(truth, a_job("tight").lasting(4 * HOUR).due(T0 + 5 * HOUR))

    guarded = with_deadline_margin(jobs, 1.0)

    assert guarded.deadline_s[0] == to_epoch_s(T0 + 4 * HOUR)
    assert not guarded.infeasible[0]


def test_a_job_that_cannot_meet_its_deadline_keeps_its_true_deadline() -> None:
    truth = make_truth({"DE": [300.0] * 48})
    jobs = make_jobs(truth, a_job("late").lasting(4 * HOUR).due(T0 + 3 * HOUR))

    assert planning_deadlines_s(jobs, 0.5)[0] == jobs.deadline_s[0]


def test_zero_risk_plans_on_the_very_same_table() -> None:
    truth = make_truth({"DE": [300.0] * 48})
    jobs = make_jobs(truth, a_job("a").lasting(HOUR).due(T0 + 9 * HOUR))

    assert with_deadline_margin(jobs, 0.0) is jobs


@pytest.mark.parametrize("bad", [-0.1, 1.5, float("nan")])
def test_a_risk_outside_zero_to_one_is_refused(bad: float) -> None:
    truth = make_truth({"DE": [300.0] * 48})
    jobs = make_jobs(truth, a_job("a").lasting(HOUR).due(T0 + 9 * HOUR))

    with pytest.raises(ValueError, match="latency risk"):
        with_deadline_margin(jobs, bad)


@pytest.mark.parametrize(
    ("policy", "want_start_h"),
    [("threshold", 14.0), ("temporal", 14.0)],
)
def test_policies_release_a_held_job_by_the_guarded_latest_start(
    policy: str, want_start_h: float
) -> None:
    # Intensity falls all day: without a margin both policies wait to the latest safe start (16 h).
    truth = make_truth({"DE": [float(500 - 10 * h) for h in range(48)]})
    jobs = make_jobs(truth, a_job("a").lasting(4 * HOUR).due(T0 + 20 * HOUR))
    forecast = OracleForecast(truth)

    without = plan_jobs(policy, jobs, forecast, jobs.submit_s)
    guarded = plan_jobs(policy, jobs, forecast, jobs.submit_s, latency_risk=0.5)

    assert without.start_s[0] == to_epoch_s(T0 + 16 * HOUR)
    assert guarded.start_s[0] == to_epoch_s(T0) + want_start_h * 3600
    assert guarded.end_s[0] == guarded.start_s[0] + 4 * 3600


def test_a_run_overrunning_by_less_than_the_margin_still_meets_its_deadline() -> None:
    truth = make_truth({"DE": [float(500 - 10 * h) for h in range(48)]})
    jobs = make_jobs(truth, a_job("a").lasting(4 * HOUR).due(T0 + 20 * HOUR))
    settings = SimulationSettings(policies=("threshold",), power=POWER, forecast="oracle")
    plain = simulate(jobs, truth, settings)
    overrun = 1.2 * jobs.duration_s  # 20 % longer than expected

    plain_outcome = _measured_with(jobs, truth, settings, overrun, 0.0)
    guarded_outcome = _measured_with(jobs, truth, settings, overrun, 0.25)

    assert not plain.outcomes["threshold"].deadline_missed[0]
    assert plain_outcome.deadline_missed[0]
    assert not guarded_outcome.deadline_missed[0]


def _measured_with(
    jobs: JobTable,
    truth: IntensityGrid,
    settings: SimulationSettings,
    actual_s: FloatArray,
    risk: float,
) -> PolicyOutcome:
    schedule = plan_jobs("threshold", jobs, OracleForecast(truth), jobs.submit_s, latency_risk=risk)
    power_w = jobs.cpus * settings.power.watts_per_vcpu
    return measure("threshold", jobs, schedule, truth, power_w, 0.0, actual_s)


def test_duration_error_draws_are_seeded_and_zero_sigma_is_no_error() -> None:
    truth = make_truth({"DE": [300.0] * 200})
    jobs = make_jobs(truth, *(a_job(f"j{i}").lasting(HOUR).due(T0 + 9 * HOUR) for i in range(50)))

    assert np.array_equal(actual_durations_s(jobs, 0.0), jobs.duration_s)
    assert np.array_equal(actual_durations_s(jobs, 0.3, 7), actual_durations_s(jobs, 0.3, 7))
    assert not np.array_equal(actual_durations_s(jobs, 0.3, 7), actual_durations_s(jobs, 0.3, 8))


def test_in_the_simulator_a_larger_margin_means_fewer_misses_when_jobs_overrun() -> None:
    values = [float(400 + 200 * np.sin(2 * np.pi * h / 24)) for h in range(24 * 20)]
    truth = make_truth({"DE": values})
    builders = [
        a_job(f"j{i}")
        .submitted(T0 + (24 + i) * HOUR)
        .lasting(2 * HOUR)
        .due(T0 + (24 + i + 14) * HOUR)
        for i in range(300)
    ]
    jobs = make_jobs(truth, *builders)
    misses = []
    for risk in (0.0, 0.25, 0.5):
        settings = SimulationSettings(
            policies=("temporal",),
            power=POWER,
            forecast="oracle",
            latency_risk=risk,
            duration_error_sigma=0.3,
        )
        misses.append(
            int(simulate(jobs, truth, settings).outcomes["temporal"].deadline_missed.sum())
        )

    assert misses[0] > misses[1] > misses[2]


def test_overrun_emissions_are_counted_in_the_jobs_zone() -> None:
    truth = make_truth({"DE": [100.0] * 10 + [1000.0] * 38})
    jobs = make_jobs(truth, a_job("a").lasting(10 * HOUR).due(T0 + 10 * HOUR))
    settings = SimulationSettings(policies=("carbon-agnostic",), power=POWER, forecast="oracle")
    schedule = plan_jobs("carbon-agnostic", jobs, OracleForecast(truth), jobs.submit_s)

    outcome = measure("x", jobs, schedule, truth, np.array([10.0]), 0.0, np.array([11.0 * 3600]))

    # 10 h at 100 g/kWh, then one more hour at 1000 g/kWh, at 10 W.
    assert outcome.co2_g[0] == pytest.approx(0.01 * (10 * 100 + 1000))
    assert outcome.energy_kwh[0] == pytest.approx(0.01 * 11)
    assert outcome.deadline_missed[0]
    assert settings.latency_risk == 0.0
