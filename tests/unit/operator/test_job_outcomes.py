"""Per-job outcome estimates: what a released workload emits against the baseline's run."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any

import pytest

from carbon_kube.domain.clock import FixedClock
from carbon_kube.domain.plans import Lever
from carbon_kube.domain.workloads import WorkloadKind
from carbon_kube.domain.zones import Zone
from carbon_kube.energy.power import PowerModel
from carbon_kube.observability.metrics import REGISTRY
from carbon_kube.operator.controller import Controller
from carbon_kube.operator.outcomes import PlanningOutcomes
from carbon_kube.operator.settings import ControllerSettings, WallClock
from carbon_kube.planning import PlanningService, PlanningSettings
from carbon_kube.planning.outcomes import PauseRecord, job_outcome, lever_of, pause_avoided_g
from carbon_kube.providers.embedded import EmbeddedProvider
from carbon_kube.providers.regions import load_region_zone_map
from tests.builders import HOUR, T0, a_job, make_series
from tests.held_workloads import held_pod

# 1 kW flat: grams = g/kWh x hours, easy to check by hand.
ONE_KW = PowerModel(watts_per_vcpu=1000.0, watts_per_gib=0.0, pue=1.0)


def test_a_job_moved_to_a_clean_hour_avoids_the_difference_times_its_energy() -> None:
    home = make_series([400, 400, 100, 100])
    job = a_job("j").submitted(T0).lasting(HOUR).needing(1.0).due(T0 + 4 * HOUR).build()

    outcome = job_outcome(
        job, start=T0 + 2 * HOUR, zone=Zone("DE"), run_series=home, home_series=home, power=ONE_KW
    )

    assert outcome.energy_kwh == pytest.approx(1.0)
    assert outcome.emissions_g == pytest.approx(100.0)
    assert outcome.counterfactual_g == pytest.approx(400.0)
    assert outcome.avoided_g == pytest.approx(300.0)
    assert outcome.lever is Lever.TIME


def _pause(resumed_after: timedelta, work_left: timedelta, lost: timedelta) -> PauseRecord:
    return PauseRecord(
        paused_at=T0, resumed_at=T0 + resumed_after, work_left=work_left, lost_work=lost
    )


FIVE_MIN = timedelta(minutes=5)


def test_a_pause_saves_the_dirty_hours_it_skips_less_the_work_it_redoes() -> None:
    # Paused at the dirty hour; 1 h of work left (1 h 5 min planned with the restart cost);
    # the pause lost 15 min, which is redone after the resume.
    series = make_series([400, 400, 100, 100])
    pause = _pause(2 * HOUR, HOUR + FIVE_MIN, timedelta(minutes=15))
    avoided_g = pause_avoided_g(series, power_w=1000.0, pause=pause, restart_in_plan=FIVE_MIN)
    # Running on: 60 min at 400 = 400 g; resumed: 75 min at 100 = 125 g.
    assert avoided_g == pytest.approx(275.0)


def test_a_pause_on_a_flat_grid_costs_its_restart() -> None:
    series = make_series([400, 400, 400, 400])
    pause = _pause(2 * HOUR, HOUR + FIVE_MIN, timedelta(0))
    avoided_g = pause_avoided_g(series, power_w=1000.0, pause=pause, restart_in_plan=FIVE_MIN)
    assert avoided_g == pytest.approx(-400.0 * 5 / 60)


def test_a_pause_into_a_dirtier_hour_is_a_cost() -> None:
    series = make_series([100, 100, 400, 400])
    pause = _pause(2 * HOUR, HOUR, timedelta(0))
    avoided_g = pause_avoided_g(series, power_w=1000.0, pause=pause, restart_in_plan=timedelta(0))
    assert avoided_g == pytest.approx(-300.0)


def test_a_run_started_mid_hour_integrates_both_hours_it_touches() -> None:
    home = make_series([400, 100, 100])
    job = a_job("j").submitted(T0).lasting(HOUR).needing(2.0).due(T0 + 3 * HOUR).build()

    outcome = job_outcome(
        job,
        start=T0 + HOUR / 2,
        zone=Zone("DE"),
        run_series=home,
        home_series=home,
        power=ONE_KW,
    )

    assert outcome.emissions_g == pytest.approx(2.0 * (0.5 * 400 + 0.5 * 100))
    assert outcome.counterfactual_g == pytest.approx(2.0 * 400)


def test_a_job_run_elsewhere_is_compared_with_its_home_grid_at_submission() -> None:
    home = make_series([300, 300], zone="DE")
    away = make_series([50, 50], zone="FR")
    job = a_job("j").submitted(T0).lasting(HOUR).needing(1.0).allowed("DE", "FR").build()

    outcome = job_outcome(
        job, start=T0, zone=Zone("FR"), run_series=away, home_series=home, power=ONE_KW
    )

    assert (outcome.emissions_g, outcome.counterfactual_g) == pytest.approx((50.0, 300.0))
    assert outcome.lever is Lever.REGION


@pytest.mark.parametrize(
    ("start_after", "zone", "lever"),
    [
        (timedelta(0), "DE", Lever.NONE),
        (HOUR, "DE", Lever.TIME),
        (timedelta(0), "FR", Lever.REGION),
        (HOUR, "FR", Lever.TIME_AND_REGION),
    ],
)
def test_the_lever_names_what_the_release_changed(
    start_after: timedelta, zone: str, lever: Lever
) -> None:
    job = a_job("j").submitted(T0).lasting(HOUR).build()
    assert lever_of(job, T0 + start_after, Zone(zone)) is lever


def test_no_estimate_when_the_source_does_not_cover_the_run() -> None:
    clock = FixedClock(T0)
    source = EmbeddedProvider(clock, replay=False, series={Zone("DE"): make_series([300, 300])})
    job = a_job("j").submitted(T0).lasting(5 * HOUR).needing(1.0).build()

    service = _service(source, T0)
    assert service.outcome(job, start=T0, zone=Zone("DE")) is None
    assert service.outcome(job, start=T0, zone=Zone("PL")) is None


def _service(source: EmbeddedProvider, now: datetime) -> PlanningService:
    settings = PlanningSettings(home_zone="DE")
    return PlanningService(source, FixedClock(now), settings, power=ONE_KW)


class _Patches:
    def patch(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        return {}


def _sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_a_release_reports_the_estimated_avoided_grams_under_its_lever() -> None:
    now = T0 + 2 * HOUR
    series = make_series([400, 400, 100, 100, 100, 100])
    source = EmbeddedProvider(FixedClock(now), replay=False, series={Zone("DE"): series})
    outcomes = PlanningOutcomes(_service(source, now))
    settings = ControllerSettings(
        regions=load_region_zone_map(),
        label_nodes=False,
        max_sleep=timedelta(milliseconds=50),
    )
    controller = Controller(
        _Patches(),  # type: ignore[arg-type]
        WallClock(lambda: now),
        settings,
        outcomes=outcomes,
    )
    pod = held_pod("p").planned(release_at=now).deadline(T0 + 5 * HOUR, expected=HOUR).build()
    pod["metadata"]["creationTimestamp"] = T0.strftime("%Y-%m-%dT%H:%M:%SZ")
    pod["spec"]["containers"][0]["resources"] = {"requests": {"cpu": "500m"}}
    avoided_before = _sample("carbon_kube_avoided_emissions_grams_total", kind="pod", lever="time")
    baseline_before = _sample("carbon_kube_counterfactual_emissions_grams_total", kind="pod")

    async def main() -> None:
        stop = asyncio.Event()
        controller.observe_workload(WorkloadKind.POD, pod, deleted=False)
        asyncio.get_running_loop().call_later(0.5, stop.set)
        await controller.run_loops(stop)

    asyncio.run(main())

    avoided = _sample("carbon_kube_avoided_emissions_grams_total", kind="pod", lever="time")
    baseline = _sample("carbon_kube_counterfactual_emissions_grams_total", kind="pod")
    # 0.5 vCPU at 1 kW/vCPU for an hour: 0.5 kWh at 400 g/kWh (baseline) vs 100 g/kWh (planned).
    assert baseline - baseline_before == pytest.approx(200.0)
    assert avoided - avoided_before == pytest.approx(150.0)
