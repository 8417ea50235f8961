from datetime import timedelta

import numpy as np
import pytest

from carbon_kube.energy.power import PowerModel
from carbon_kube.policy.forecasts import OracleForecast
from carbon_kube.policy.grids import IntensityGrid, StepGrid
from carbon_kube.policy.schedules import Schedule, replace_rows
from carbon_kube.policy.temporal import TemporalArgs
from carbon_kube.sim.engine import SimulationSettings, simulate
from carbon_kube.sim.replanning import plan_with_replanning
from tests.builders import HOUR, T0, a_job, make_daily_series, make_jobs, make_series

VALLEY_HOUR = 20
WRONG_HOUR = 12
LEARNS_AT = T0 + 10 * HOUR


def _valley_truth() -> IntensityGrid:
    """Two days at 400 g/kWh with one clean hour at 20:00 on the first day."""
    values = [400.0] * 48
    values[VALLEY_HOUR] = 50.0
    return IntensityGrid({"DE": make_series(values)})


class LateLearner:
    """Believes the valley is at 12:00 until 10:00, then knows the truth (a fresher forecast)."""

    name = "late-learner"

    def __init__(self, truth: IntensityGrid) -> None:
        self._truth = truth
        wrong = [400.0] * 48
        wrong[WRONG_HOUR] = 50.0
        self._wrong = IntensityGrid({"DE": make_series(wrong)})

    @property
    def grid(self) -> StepGrid:
        return self._truth.grid

    def integral(self, zone_index, decided_s, start_s, end_s):
        decided = np.broadcast_to(np.asarray(decided_s, dtype=np.float64), np.shape(start_s))
        knows = decided >= LEARNS_AT.timestamp()
        return np.where(
            knows,
            self._truth.integral(zone_index, start_s, end_s),
            self._wrong.integral(zone_index, start_s, end_s),
        )


def _one_job(truth: IntensityGrid):
    return make_jobs(truth, a_job("j").submitted(T0).lasting(HOUR).due(T0 + 30 * HOUR))


def test_a_held_job_follows_a_fresher_forecast_to_the_real_valley():
    truth = _valley_truth()
    jobs = _one_job(truth)
    forecast = LateLearner(truth)
    once, _ = plan_with_replanning("temporal", jobs, forecast, None, timedelta(hours=24), 0.0)
    again, decisions = plan_with_replanning(
        "temporal", jobs, forecast, None, timedelta(hours=1), 0.0
    )
    # Planned once, it starts in the wrong valley; re-planned hourly, the job is still held
    # when the forecast learns at 10:00, and moves to the real valley.
    assert once.start_s[0] == (T0 + WRONG_HOUR * HOUR).timestamp()
    assert again.start_s[0] == (T0 + VALLEY_HOUR * HOUR).timestamp()
    assert decisions >= 10


def test_a_job_that_has_started_is_never_planned_again():
    truth = _valley_truth()
    jobs = _one_job(truth)
    forecast = LateLearner(truth)
    # Every 13 h: at 13:00 the job has started at 12:00 (planned at submit), so it stays there
    # although the forecast at 13:00 would move it.
    schedule, decisions = plan_with_replanning(
        "temporal", jobs, forecast, None, timedelta(hours=13), 0.0
    )
    assert schedule.start_s[0] == (T0 + WRONG_HOUR * HOUR).timestamp()
    assert decisions == 0


def test_with_perfect_knowledge_re_planning_changes_nothing():
    truth = IntensityGrid({"DE": make_daily_series(6, noise_g_per_kwh=30.0)})
    jobs = make_jobs(
        truth,
        *(
            a_job(f"j{i}")
            .submitted(T0 + i * 5 * HOUR)
            .lasting(3 * HOUR)
            .due(T0 + (i * 5 + 40) * HOUR)
            for i in range(12)
        ),
    )
    settings = SimulationSettings(("temporal",), PowerModel(3.0, 0.4, 1.1))
    once = simulate(jobs, truth, settings).outcomes["temporal"]
    hourly = SimulationSettings(("temporal",), PowerModel(3.0, 0.4, 1.1), replan_every=HOUR)
    again = simulate(jobs, truth, hourly).outcomes["temporal"]
    np.testing.assert_allclose(again.co2_g, once.co2_g)
    assert not again.deadline_missed.any()


def test_re_planned_jobs_never_start_before_submit_and_meet_their_deadlines():
    truth = IntensityGrid({"DE": make_daily_series(8, noise_g_per_kwh=40.0)})
    builders = [
        a_job(f"j{i}")
        .submitted(T0 + 24 * HOUR + i * 7 * HOUR)
        .lasting((1 + i % 4) * HOUR)
        .due(T0 + 24 * HOUR + (i * 7 + 30) * HOUR)
        for i in range(15)
    ]
    jobs = make_jobs(truth, *(b.interruptible() if i % 2 else b for i, b in enumerate(builders)))
    settings = SimulationSettings(
        ("temporal", "threshold"), PowerModel(3.0, 0.4, 1.1), "persistence", replan_every=HOUR
    )
    result = simulate(jobs, truth, settings)
    for outcome in result.outcomes.values():
        assert np.all(outcome.schedule.start_s >= jobs.submit_s)
        assert not outcome.deadline_missed.any()


def test_replacing_rows_keeps_other_jobs_segments_in_order():
    base = Schedule(
        zone_index=np.array([0, 0, 0]),
        start_s=np.array([0.0, 10.0, 20.0]),
        end_s=np.array([5.0, 30.0, 25.0]),
        run_s=np.array([5.0, 10.0, 5.0]),
        believed_gh_per_kwh=np.zeros(3),
        reason=np.zeros(3, dtype=np.int64),
        segment_rows=np.array([1, 1]),
        segment_start_s=np.array([10.0, 25.0]),
        segment_end_s=np.array([15.0, 30.0]),
    )
    replacement = Schedule(
        zone_index=np.array([1, 1]),
        start_s=np.array([2.0, 40.0]),
        end_s=np.array([12.0, 45.0]),
        run_s=np.array([5.0, 5.0]),
        believed_gh_per_kwh=np.ones(2),
        reason=np.ones(2, dtype=np.int64),
        segment_rows=np.array([0, 0]),
        segment_start_s=np.array([2.0, 9.0]),
        segment_end_s=np.array([4.0, 12.0]),
    )
    merged = replace_rows(base, np.array([0, 2]), replacement)
    assert merged.start_s.tolist() == [2.0, 10.0, 40.0]
    assert merged.zone_index.tolist() == [1, 0, 1]
    assert merged.segments_of(0) == [(2.0, 4.0), (9.0, 12.0)]
    assert merged.segments_of(1) == [(10.0, 15.0), (25.0, 30.0)]
    assert merged.segments_of(2) == [(40.0, 45.0)]


def test_re_planning_is_refused_with_capacity_limits_and_off_grid_periods():
    from carbon_kube.policy.capacity import CapacityLimits

    with pytest.raises(ValueError, match="capacity"):
        SimulationSettings(
            ("temporal",),
            PowerModel(3.0, 0.4, 1.1),
            capacity=CapacityLimits({}),
            replan_every=HOUR,
        )
    truth = _valley_truth()
    with pytest.raises(ValueError, match="multiple of 3600"):
        plan_with_replanning(
            "temporal", _one_job(truth), OracleForecast(truth), TemporalArgs(), HOUR / 2, 0.0
        )


def _release_annotations(start_s: float) -> dict[str, str]:
    from datetime import UTC, datetime

    from carbon_kube.domain.annotations import PLAN_ZONE, RELEASE_AT, format_rfc3339

    return {RELEASE_AT: format_rfc3339(datetime.fromtimestamp(start_s, tz=UTC)), PLAN_ZONE: "DE"}


@pytest.mark.parametrize("tolerance", [HOUR / 4, 8 * HOUR, 9 * HOUR])
def test_the_simulator_re_plans_as_the_controller_does(tolerance: timedelta) -> None:
    from carbon_kube.operator.replanning import plan_moved_materially

    truth = _valley_truth()
    jobs = _one_job(truth)
    forecast = LateLearner(truth)
    once, _ = plan_with_replanning("temporal", jobs, forecast, None, 24 * HOUR, 0.0)
    fresh, _ = plan_with_replanning("temporal", jobs, forecast, None, HOUR, 0.0)
    old, new = float(once.start_s[0]), float(fresh.start_s[0])  # 12:00, then 20:00: 8 h
    controller_replaces = plan_moved_materially(
        _release_annotations(old), _release_annotations(new), tolerance
    )

    kept_or_moved, _ = plan_with_replanning("temporal", jobs, forecast, None, HOUR, 0.0, tolerance)

    assert kept_or_moved.start_s[0] == (new if controller_replaces else old)
    assert controller_replaces is (tolerance <= 8 * HOUR)


def test_the_re_plan_rule_moves_on_zone_or_a_release_moved_by_the_tolerance() -> None:
    from carbon_kube.domain.zones import Zone
    from carbon_kube.policy.replanning import ReleasePlan, should_replace

    old = ReleasePlan(T0, Zone("DE"))
    assert should_replace(None, old, HOUR)
    assert not should_replace(old, ReleasePlan(T0 + HOUR / 2, Zone("DE")), HOUR)
    assert should_replace(old, ReleasePlan(T0 - HOUR, Zone("DE")), HOUR)
    assert should_replace(old, ReleasePlan(T0, Zone("FR")), HOUR)
    assert not should_replace(old, ReleasePlan(T0), HOUR)
    assert should_replace(old, old, timedelta(0))
