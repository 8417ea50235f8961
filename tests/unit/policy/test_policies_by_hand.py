"""Two zones, four jobs, grams worked out by hand for every policy (1 kW per job).

DE: 300 100 200 400  50 500 300 300 g/kWh, FR: 80 90 60 70 90 80 100 100 g/kWh (hourly from T0).
"""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest

from carbon_kube.domain.clock import FixedClock
from carbon_kube.domain.plans import Lever
from carbon_kube.energy.power import PowerModel
from carbon_kube.policy.capacity import CapacityLimits
from carbon_kube.policy.forecasts import OracleForecast
from carbon_kube.policy.registry import plan_workload
from carbon_kube.policy.schedules import Reason
from carbon_kube.sim.engine import SimulationSettings, simulate
from tests.builders import HOUR, T0, a_job, make_jobs, make_truth

DE = [300.0, 100.0, 200.0, 400.0, 50.0, 500.0, 300.0, 300.0]
FR = [80.0, 90.0, 60.0, 70.0, 90.0, 80.0, 100.0, 100.0]
ONE_KW = PowerModel(watts_per_vcpu=1000.0, watts_per_gib=0.0, pue=1.0)
POLICIES = ("carbon-agnostic", "threshold", "temporal", "spatial", "spatiotemporal")
RESTART = timedelta(minutes=5)

want_g = {
    # A: 1 h, may wait 3 h, may move to FR.
    "A": {
        "carbon-agnostic": 300.0,
        "threshold": 100.0,  # first hour at or below 200 is 01:00
        "temporal": 100.0,
        "spatial": 80.0,  # FR at submit
        "spatiotemporal": 60.0,  # FR at 02:00
    },
    # B: 2 h from 00:30, due 06:30, DE only.
    "B": {
        "carbon-agnostic": 0.5 * 300 + 100 + 0.5 * 200,
        "threshold": 100.0 + 200.0,
        "temporal": 100.0 + 200.0,
        "spatial": 0.5 * 300 + 100 + 0.5 * 200,
        "spatiotemporal": 100.0 + 200.0,
    },
    # C: interruptible 2 h due 06:00: split into 01:00 and 04:00 plus a 5-min restart at 400.
    "C": {
        "carbon-agnostic": 400.0,
        "threshold": 300.0,
        "temporal": 100.0 + 50.0 + 400.0 / 12,
        "spatial": 400.0,
        "spatiotemporal": 100.0 + 50.0 + 400.0 / 12,
    },
    # D: 3 h from 02:00 due 04:00: infeasible, runs at submit under every policy.
    "D": dict.fromkeys(POLICIES, 200.0 + 400.0 + 50.0),
}


def _scenario():
    truth = make_truth({"DE": DE, "FR": FR})
    jobs = make_jobs(
        truth,
        a_job("A").due(T0 + 4 * HOUR).allowed("FR"),
        a_job("B").submitted(T0 + HOUR / 2).lasting(2 * HOUR).due(T0 + 6.5 * HOUR),
        a_job("C").lasting(2 * HOUR).due(T0 + 6 * HOUR).interruptible(),
        a_job("D").submitted(T0 + 2 * HOUR).lasting(3 * HOUR).due(T0 + 4 * HOUR),
    )
    return truth, jobs


@pytest.mark.parametrize("policy", POLICIES)
def test_each_policy_emits_the_hand_computed_grams_per_job(policy: str) -> None:
    truth, jobs = _scenario()
    settings = SimulationSettings((policy,), ONE_KW, resume_overhead=RESTART)
    outcome = simulate(jobs, truth, settings).outcomes[policy]
    got = dict(zip(jobs.job_ids, outcome.co2_g.tolist(), strict=True))
    assert got == pytest.approx({job: want_g[job][policy] for job in want_g}, rel=1e-12)


def test_split_job_pays_its_restart_in_energy_and_nothing_else_does() -> None:
    truth, jobs = _scenario()
    outcome = simulate(jobs, truth, SimulationSettings(("temporal",), ONE_KW)).outcomes["temporal"]
    want_kwh = [1.0, 2.0, 2.0 + 5 / 60, 3.0]
    assert outcome.energy_kwh.tolist() == pytest.approx(want_kwh, rel=1e-12)
    assert outcome.schedule.segments_of(2) == [
        ((T0 + HOUR).timestamp(), (T0 + 2 * HOUR).timestamp()),
        ((T0 + 4 * HOUR - RESTART).timestamp(), (T0 + 5 * HOUR).timestamp()),
    ]


def test_infeasible_job_is_planned_at_submit_and_reported_as_a_miss() -> None:
    truth, jobs = _scenario()
    result = simulate(jobs, truth, SimulationSettings(POLICIES, ONE_KW))
    for outcome in result.outcomes.values():
        assert outcome.delay_s[3] == 0
        assert outcome.deadline_missed.tolist() == [False, False, False, True]
        assert outcome.schedule.reason[3] in (Reason.INFEASIBLE, Reason.BASELINE)


def test_savings_are_attributed_to_the_lever_that_produced_them() -> None:
    truth, jobs = _scenario()
    result = simulate(jobs, truth, SimulationSettings(("spatiotemporal",), ONE_KW))
    levers = result.outcomes["spatiotemporal"].lever.tolist()
    # A moved to FR and to 02:00; B and C moved in time only; D did not move.
    assert levers == [3, 1, 1, 0]


def test_capacity_gives_the_cheapest_hour_to_the_job_with_least_slack() -> None:
    truth = make_truth({"DE": DE, "FR": FR})
    jobs = make_jobs(
        truth,
        a_job("roomy").needing(cpus=2).due(T0 + 4 * HOUR),
        a_job("tight").needing(cpus=2).due(T0 + 3 * HOUR),
    )
    settings = SimulationSettings(
        ("temporal",), ONE_KW, capacity=CapacityLimits({truth.grid.zones[0]: 2.0})
    )
    outcome = simulate(jobs, truth, settings).outcomes["temporal"]
    # Both want 01:00 (100 g/kWh at 2 kW); the tight one gets it, the roomy one 02:00 (200).
    assert outcome.co2_g.tolist() == pytest.approx([400.0, 200.0])
    assert outcome.schedule.reason[0] == Reason.CAPACITY_MOVED


def test_baseline_queues_behind_a_full_zone_instead_of_overbooking() -> None:
    truth = make_truth({"DE": DE, "FR": FR})
    jobs = make_jobs(
        truth,
        a_job("first").needing(cpus=2).due(T0 + 4 * HOUR),
        a_job("second").needing(cpus=2).due(T0 + 4 * HOUR),
    )
    settings = SimulationSettings(
        ("carbon-agnostic",), ONE_KW, capacity=CapacityLimits({truth.grid.zones[0]: 3.0})
    )
    outcome = simulate(jobs, truth, settings).outcomes["carbon-agnostic"]
    assert outcome.delay_s.tolist() == [0.0, 3600.0]


def test_single_workload_plan_names_zone_lever_reason_and_forecast() -> None:
    truth = make_truth({"DE": DE, "FR": FR})
    workload = a_job("A").due(T0 + 4 * HOUR).allowed("FR").build()
    plan = plan_workload(workload, "spatiotemporal", OracleForecast(truth), FixedClock(T0))
    assert (plan.zone, plan.start_at, plan.end_at) == ("FR", T0 + 2 * HOUR, T0 + 3 * HOUR)
    assert plan.lever is Lever.TIME_AND_REGION
    assert plan.forecast_g_per_kwh == pytest.approx(60.0)
    assert "lowest forecast emissions" in plan.reason


def test_decision_made_after_submit_never_starts_in_the_past() -> None:
    truth = make_truth({"DE": DE, "FR": FR})
    workload = a_job("late").lasting(HOUR).due(T0 + 8 * HOUR).build()
    now = T0 + 4.5 * HOUR
    plan = plan_workload(workload, "temporal", OracleForecast(truth), FixedClock(now))
    assert plan.start_at >= now
    assert np.isclose(plan.forecast_g_per_kwh or 0, 0.5 * 50 + 0.5 * 500)
