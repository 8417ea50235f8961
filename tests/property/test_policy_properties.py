from __future__ import annotations

import itertools
from datetime import timedelta

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from carbon_kube.domain.zones import Zone
from carbon_kube.energy.power import PowerModel
from carbon_kube.policy.capacity import CapacityLimits, Ledger
from carbon_kube.policy.grids import IntensityGrid
from carbon_kube.policy.jobs import JobTable
from carbon_kube.sim.engine import SimulationResult, SimulationSettings, simulate
from tests.builders import make_series

POLICIES = ("carbon-agnostic", "threshold", "temporal", "spatial", "spatiotemporal")
ZONES = ("DE", "FR", "GB")
N_STEPS = 72
POWER = PowerModel(watts_per_vcpu=3.0, watts_per_gib=0.4, pue=1.2)
intensities = st.lists(
    st.floats(min_value=0, max_value=900, allow_nan=False), min_size=N_STEPS, max_size=N_STEPS
)


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[IntensityGrid, JobTable]:
    n_zones = draw(st.integers(1, len(ZONES)))
    truth = IntensityGrid(
        {Zone(z): make_series(draw(intensities), zone=z) for z in ZONES[:n_zones]}
    )
    n = draw(st.integers(1, 12))
    origin = truth.grid.origin_s
    submit = np.array([draw(st.integers(0, 36 * 3600)) for _ in range(n)], dtype=float) + origin
    duration = np.array([draw(st.integers(60, 8 * 3600)) for _ in range(n)], dtype=float)
    # Some deadlines are infeasible on purpose (shorter than the duration).
    window = np.array([draw(st.integers(0, 20 * 3600)) for _ in range(n)], dtype=float)
    home = np.array([draw(st.integers(0, n_zones - 1)) for _ in range(n)], dtype=np.int64)
    allowed = np.array(
        [[draw(st.booleans()) for _ in range(n_zones)] for _ in range(n)], dtype=bool
    ).reshape(n, n_zones)
    allowed[np.arange(n), home] = True
    jobs = JobTable(
        job_ids=[f"j{i}" for i in range(n)],
        zones=truth.grid.zones,
        submit_s=submit,
        duration_s=duration,
        deadline_s=submit + window,
        cpus=np.array([draw(st.integers(1, 4)) for _ in range(n)], dtype=float),
        memory_gib=np.array([draw(st.integers(0, 8)) for _ in range(n)], dtype=float),
        home_zone=home,
        allowed=allowed,
        interruptible=np.array([draw(st.booleans()) for _ in range(n)], dtype=bool),
    )
    return truth, jobs


def _run(truth: IntensityGrid, jobs: JobTable, **kwargs: object) -> SimulationResult:
    return simulate(jobs, truth, SimulationSettings(POLICIES, POWER, **kwargs))  # type: ignore[arg-type]


@settings(max_examples=60, deadline=None)
@given(scenarios(), st.sampled_from(["oracle", "persistence"]))
def test_every_plan_starts_after_submit_and_meets_every_feasible_deadline(
    scenario: tuple[IntensityGrid, JobTable], forecast: str
) -> None:
    truth, jobs = scenario
    result = _run(truth, jobs, forecast=forecast)
    for outcome in result.outcomes.values():
        schedule = outcome.schedule
        assert np.all(schedule.start_s >= jobs.submit_s)
        feasible = ~jobs.infeasible
        assert np.all(schedule.end_s[feasible] <= jobs.deadline_s[feasible] + 1e-6)
        assert not outcome.deadline_missed[feasible].any()
        assert np.all(jobs.allowed[np.arange(len(jobs)), schedule.zone_index])
        for row in schedule.split_rows.tolist():
            segments = schedule.segments_of(row)
            assert segments[0][0] >= jobs.submit_s[row]
            assert all(a[1] < b[0] for a, b in itertools.pairwise(segments))


@settings(max_examples=60, deadline=None)
@given(scenarios(), st.floats(min_value=0.0, max_value=1.0))
def test_with_a_latency_risk_every_feasible_plan_keeps_its_margin_or_starts_at_submit(
    scenario: tuple[IntensityGrid, JobTable], latency_risk: float
) -> None:
    truth, jobs = scenario
    result = _run(truth, jobs, forecast="persistence", latency_risk=latency_risk)
    feasible = ~jobs.infeasible
    guarded_end_s = jobs.deadline_s - latency_risk * jobs.duration_s
    for outcome in result.outcomes.values():
        schedule = outcome.schedule
        # Interruptible splits may run longer by resume overheads; the margin is on the end.
        keeps = schedule.end_s <= guarded_end_s + 1e-6
        at_submit = schedule.start_s <= jobs.submit_s + 1e-6
        assert np.all((keeps | at_submit)[feasible])
        assert not outcome.deadline_missed[feasible].any()


@settings(max_examples=60, deadline=None)
@given(scenarios(), st.sampled_from(["oracle", "persistence"]))
def test_energy_is_identical_under_every_policy_without_restart_overhead(
    scenario: tuple[IntensityGrid, JobTable], forecast: str
) -> None:
    truth, jobs = scenario
    result = _run(truth, jobs, forecast=forecast, resume_overhead=timedelta(0))
    for outcome in result.outcomes.values():
        np.testing.assert_allclose(outcome.energy_kwh, result.baseline.energy_kwh, rtol=1e-12)


@settings(max_examples=60, deadline=None)
@given(scenarios())
def test_only_split_jobs_use_more_energy_and_only_by_their_restarts(
    scenario: tuple[IntensityGrid, JobTable],
) -> None:
    truth, jobs = scenario
    result = _run(truth, jobs, resume_overhead=timedelta(minutes=10))
    for outcome in result.outcomes.values():
        split = np.zeros(len(jobs), dtype=bool)
        split[outcome.schedule.split_rows] = True
        np.testing.assert_allclose(
            outcome.energy_kwh[~split], result.baseline.energy_kwh[~split], rtol=1e-12
        )
        assert np.all(outcome.energy_kwh[split] > result.baseline.energy_kwh[split])


@settings(max_examples=80, deadline=None)
@given(scenarios(), st.sampled_from([timedelta(0), timedelta(minutes=15)]))
def test_oracle_temporal_never_emits_more_than_carbon_agnostic_for_any_job(
    scenario: tuple[IntensityGrid, JobTable], restart: timedelta
) -> None:
    truth, jobs = scenario
    result = _run(truth, jobs, resume_overhead=restart)
    for name in ("temporal", "spatiotemporal"):
        co2 = result.outcomes[name].co2_g
        assert np.all(co2 <= result.baseline.co2_g * (1 + 1e-9) + 1e-9)


@settings(max_examples=60, deadline=None)
@given(scenarios(), st.sampled_from(["oracle", "persistence"]), st.integers(4, 12))
def test_capacity_is_never_exceeded_in_any_zone_or_step(
    scenario: tuple[IntensityGrid, JobTable], forecast: str, vcpus: int
) -> None:
    truth, jobs = scenario
    limits = CapacityLimits({zone: float(vcpus) for zone in truth.grid.zones})
    result = _run(truth, jobs, forecast=forecast, capacity=limits)
    for outcome in result.outcomes.values():
        ledger = Ledger(truth.grid, limits.per_zone(truth.grid.zones))
        schedule = outcome.schedule
        for row in range(len(jobs)):
            zone = int(schedule.zone_index[row])
            ledger.take(zone, schedule.segments_of(row), float(jobs.cpus[row]))
        assert ledger.used_vcpus.max() <= vcpus + 1e-9
        assert np.all(schedule.start_s >= jobs.submit_s)
        assert np.all(jobs.allowed[np.arange(len(jobs)), schedule.zone_index])
