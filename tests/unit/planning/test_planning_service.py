from __future__ import annotations

import math
from datetime import datetime, timedelta

import pytest

from carbon_kube.domain.clock import FixedClock
from carbon_kube.domain.errors import InputError, ProviderPermanentError
from carbon_kube.domain.instants import floor_to_hour
from carbon_kube.domain.intensity import IntensitySeries
from carbon_kube.domain.plans import SignalProvenance
from carbon_kube.domain.zones import Zone
from carbon_kube.planning import NO_SIGNAL, PlanningService, PlanningSettings
from carbon_kube.providers.base import ForecastUnsupportedError, IntensityReading
from carbon_kube.providers.embedded import EmbeddedProvider
from carbon_kube.providers.fallback import FallbackProvider
from tests.builders import HOUR, T0, a_job, make_series

DAY = timedelta(days=1)


def service_over(
    values_by_zone: dict[str, list[float]], *, policy: str = "temporal", home: str = "DE"
) -> PlanningService:
    """Hourly data from one day before T0, no replay: outside it there is no signal."""
    clock = FixedClock(T0)
    series = {
        Zone(zone): make_series(values, zone=zone, start=T0 - DAY)
        for zone, values in values_by_zone.items()
    }
    source = EmbeddedProvider(clock, replay=False, series=series)
    settings = PlanningSettings(home_zone=home, policy=policy, forecast="oracle")
    return PlanningService(source, clock, settings)


def test_temporal_plan_starts_in_the_lowest_hour_before_the_deadline() -> None:
    future = [500.0, 450.0, 90.0, 400.0, 500.0, 500.0, 500.0, 500.0]
    service = service_over({"DE": [300.0] * 24 + future})
    workload = a_job("ns/j").lasting(HOUR).due(T0 + 6 * HOUR).build()

    plan = service.plan(workload)

    assert plan.start_at == T0 + 2 * HOUR
    assert plan.zone == "DE"
    assert plan.reason != NO_SIGNAL
    assert plan.forecast_g_per_kwh == pytest.approx(90.0)


def test_no_data_for_the_home_zone_releases_at_the_latest_safe_start() -> None:
    service = service_over({"FR": [100.0] * 48})
    workload = a_job("ns/j").lasting(2 * HOUR).due(T0 + 6 * HOUR).build()

    plan = service.plan(workload)

    assert plan.reason == NO_SIGNAL
    assert plan.start_at == T0 + 4 * HOUR
    assert plan.zone == "DE"
    assert plan.forecast_g_per_kwh is None


def test_data_ending_before_the_deadline_gives_the_no_signal_plan_not_an_error() -> None:
    service = service_over({"DE": [300.0] * 26})
    workload = a_job("ns/j").lasting(HOUR).due(T0 + 10 * HOUR).build()

    plan = service.plan(workload)

    assert plan.reason == NO_SIGNAL
    assert plan.start_at == T0 + 9 * HOUR


def test_an_allowed_zone_without_data_is_dropped_and_the_rest_still_planned() -> None:
    service = service_over({"DE": [300.0] * 48, "FR": [50.0] * 48}, policy="spatial")
    workload = a_job("ns/j").lasting(HOUR).due(T0 + 6 * HOUR).allowed("FR", "PL").build()

    plan = service.plan(workload)

    assert plan.zone == "FR"
    assert plan.reason != NO_SIGNAL


def test_a_passed_latest_safe_start_without_signal_releases_now() -> None:
    service = service_over({"FR": [100.0] * 48})
    workload = a_job("ns/j").submitted(T0).lasting(3 * HOUR).due(T0 + 2 * HOUR).build()

    plan = service.plan(workload)

    assert plan.reason == NO_SIGNAL
    assert plan.start_at == T0


def test_intensity_now_reads_the_current_hour_and_is_none_without_data() -> None:
    service = service_over({"DE": [300.0] * 24 + [123.0] * 24})

    assert service.intensity_now(Zone("DE")) == pytest.approx(123.0)
    assert service.intensity_now(Zone("FR")) is None
    assert service.intensities_now([Zone("DE"), Zone("FR")]) == {Zone("DE"): 123.0}


def test_settings_refuse_an_unknown_policy_naming_the_choices() -> None:
    with pytest.raises(InputError, match=r"unknown policy 'greenest'.*temporal"):
        PlanningSettings(home_zone="DE", policy="greenest")


def test_settings_refuse_a_malformed_home_zone() -> None:
    with pytest.raises(InputError, match="grid zone id"):
        PlanningSettings(home_zone="eu-west-1")


@pytest.mark.parametrize(("threshold", "want_hour"), [(420.0, 1), (200.0, 2)])
def test_threshold_policy_uses_the_configured_threshold(threshold: float, want_hour: int) -> None:
    clock = FixedClock(T0)
    future = [500.0, 410.0, 90.0, 400.0, 500.0, 500.0, 500.0, 500.0]
    series = {Zone("DE"): make_series([300.0] * 24 + future, zone="DE", start=T0 - DAY)}
    settings = PlanningSettings(
        home_zone="DE", policy="threshold", forecast="oracle", threshold_g_per_kwh=threshold
    )
    service = PlanningService(EmbeddedProvider(clock, replay=False, series=series), clock, settings)
    workload = a_job("ns/j").lasting(HOUR).due(T0 + 6 * HOUR).build()

    assert service.plan(workload).start_at == T0 + want_hour * HOUR


def test_latency_risk_moves_a_held_workload_earlier_by_that_share_of_its_duration() -> None:
    # Never at or below 200 g/kWh: without a margin the threshold waits to 8 h (10 h - 2 h).
    falling = [float(900 - 10 * h) for h in range(48)]
    clock = FixedClock(T0)
    source = EmbeddedProvider(
        clock, replay=False, series={Zone("DE"): make_series(falling, start=T0 - DAY)}
    )
    settings = PlanningSettings(
        home_zone="DE", policy="threshold", forecast="oracle", latency_risk=0.5
    )
    workload = a_job("ns/j").lasting(2 * HOUR).due(T0 + 10 * HOUR).build()

    plan = PlanningService(source, clock, settings).plan(workload)

    assert plan.start_at == T0 + 7 * HOUR


def test_the_no_signal_plan_keeps_the_latency_risk_margin() -> None:
    clock = FixedClock(T0)
    source = EmbeddedProvider(clock, replay=False, series={})
    settings = PlanningSettings(home_zone="DE", latency_risk=0.5)
    workload = a_job("ns/j").lasting(2 * HOUR).due(T0 + 6 * HOUR).allowed("FR").build()

    plan = PlanningService(source, clock, settings).no_signal_plan(workload)

    assert plan.start_at == T0 + 3 * HOUR


@pytest.mark.parametrize("bad", [-0.1, 1.01])
def test_a_latency_risk_outside_zero_to_one_is_an_input_error(bad: float) -> None:
    with pytest.raises(InputError, match="--latency-risk"):
        PlanningSettings(home_zone="DE", latency_risk=bad)


def test_the_adaptive_learner_needs_the_threshold_policy() -> None:
    with pytest.raises(InputError, match="--adaptive-threshold"):
        PlanningSettings(home_zone="DE", policy="temporal", adaptive_threshold=True)


def test_with_the_learner_on_the_threshold_follows_the_replay_of_planned_workloads() -> None:
    # Always above 200 g/kWh with a daily cycle: the fixed threshold only waits to the last start.
    days = 20
    values = [650.0 + 100.0 * math.sin(2 * math.pi * h / 24) for h in range(24 * days)]
    start = T0 - (days - 2) * DAY
    clock = FixedClock(start + DAY)
    source = EmbeddedProvider(
        clock, replay=False, series={Zone("DE"): make_series(values, start=start)}
    )
    settings = PlanningSettings(
        home_zone="DE",
        policy="threshold",
        forecast="oracle",
        adaptive_threshold=True,
        adaptive_refit=timedelta(days=100),
    )
    service = PlanningService(source, clock, settings)
    learner = service.learner
    assert learner is not None
    for i in range(24 * 14):
        submit = start + DAY + i * HOUR
        # Other allowed zones (without data here) play no part in the threshold replay.
        learner.observe(
            a_job(f"ns/j{i}")
            .submitted(submit)
            .lasting(HOUR)
            .due(submit + 13 * HOUR)
            .allowed("FR")
            .build()
        )
    clock.advance(16 * DAY)

    service.plan(
        a_job("ns/now").submitted(clock.now()).lasting(HOUR).due(clock.now() + 13 * HOUR).build()
    )

    assert learner.last_choice is not None
    assert learner.last_choice.beats_default
    assert learner.threshold_g_per_kwh > 200.0


class LiveLikeSource:
    """An API-shaped source: history only up to the hour holding now, and its own forecast."""

    name = "live"

    def __init__(
        self, clock: FixedClock, history: IntensitySeries, forecast: IntensitySeries | None
    ):
        self._clock = clock
        self._history = history
        self._forecast = forecast

    def zones(self) -> list[Zone]:
        return [self._history.zone]

    def history(self, zone: Zone, start: datetime, end: datetime) -> IntensitySeries:
        if zone != self._history.zone:
            raise ProviderPermanentError(self.name, f"no zone {zone}")
        return self._history.between(start, min(end, floor_to_hour(self._clock.now())))

    def latest(self, zone: Zone) -> IntensityReading:
        raise ProviderPermanentError(self.name, "not asked in these tests")

    def forecast(self, zone: Zone, horizon: timedelta) -> IntensitySeries:
        if self._forecast is None or zone != self._forecast.zone:
            raise ForecastUnsupportedError(self.name, f"no forecast for {zone}")
        return self._forecast


def live_service(forecast: IntensitySeries | None, *, model: str) -> PlanningService:
    clock = FixedClock(T0)
    history = make_series([300.0] * 24, start=T0 - DAY)
    source = FallbackProvider([LiveLikeSource(clock, history, forecast)], clock=clock)
    settings = PlanningSettings(home_zone="DE", policy="temporal", forecast=model)
    return PlanningService(source, clock, settings)


def test_a_provider_forecast_decides_the_plan_and_the_plan_names_it() -> None:
    forecast = make_series([400.0, 380.0, 350.0, 60.0, 390.0, 400.0, 400.0, 400.0], start=T0)
    workload = a_job("ns/j").lasting(HOUR).due(T0 + 6 * HOUR).build()

    plan = live_service(forecast, model="provider").plan(workload)

    assert plan.start_at == T0 + 3 * HOUR
    assert plan.forecast_g_per_kwh == pytest.approx(60.0)
    assert plan.signal == SignalProvenance(source="live", model="provider", stale=False)


def test_without_a_provider_forecast_the_plan_falls_back_to_persistence_and_says_so() -> None:
    workload = a_job("ns/j").lasting(HOUR).due(T0 + 6 * HOUR).build()

    plan = live_service(None, model="provider").plan(workload)

    assert plan.reason != NO_SIGNAL
    assert plan.signal == SignalProvenance(source="live", model="persistence", stale=False)


def test_persistence_plans_on_a_source_that_stops_at_now() -> None:
    # Before this, a live source's history ending at now left no future start to choose.
    clock = FixedClock(T0)
    history = make_series([300.0] * 5 + [80.0] + [300.0] * 18, start=T0 - DAY)
    source = LiveLikeSource(clock, history, None)
    service = PlanningService(source, clock, PlanningSettings(home_zone="DE"))
    workload = a_job("ns/j").lasting(HOUR).due(T0 + 8 * HOUR).build()

    plan = service.plan(workload)

    assert plan.start_at == T0 + 5 * HOUR
    assert plan.signal == SignalProvenance(source="live", model="persistence", stale=False)


def test_the_no_signal_plan_names_no_source_and_stale_data() -> None:
    service = service_over({"FR": [100.0] * 48})
    workload = a_job("ns/j").lasting(HOUR).due(T0 + 6 * HOUR).build()

    plan = service.plan(workload)

    assert plan.signal == SignalProvenance(source="none", model="none", stale=True)
