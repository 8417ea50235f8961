from datetime import timedelta

import numpy as np
import pytest

from carbon_kube.domain.errors import InputError
from carbon_kube.domain.intensity import IntensitySeries
from carbon_kube.domain.zones import Zone
from carbon_kube.energy.power import PowerModel
from carbon_kube.forecasting import GradientBoostingForecaster, SeasonalNaiveForecaster
from carbon_kube.policy.forecasts import Forecast
from carbon_kube.policy.grids import IntensityGrid
from carbon_kube.sim.engine import SimulationSettings, simulate
from carbon_kube.sim.model_forecasts import ForecastInputs, ModelForecast, build_forecast
from tests.builders import HOUR, T0, a_job, make_daily_series, make_jobs, make_wind_driven

DAY = timedelta(days=1)


@pytest.fixture(scope="module")
def truth() -> IntensityGrid:
    return IntensityGrid({"DE": make_daily_series(60, noise_g_per_kwh=2.0)})


def test_a_model_forecast_lets_the_temporal_policy_find_the_low_hours(truth):
    jobs = make_jobs(
        truth,
        a_job("j")
        .submitted(T0 + 45 * DAY + 12 * HOUR)
        .lasting(2 * HOUR)
        .due(T0 + 46 * DAY + 12 * HOUR),
    )
    settings = SimulationSettings(
        policies=("temporal",), power=PowerModel(3.0, 0.4, 1.1), forecast="seasonal-naive"
    )
    result = simulate(jobs, truth, settings)
    baseline = result.baseline.co2_g.sum()
    planned = result.outcomes["temporal"].co2_g.sum()
    assert planned < 0.8 * baseline


def test_decisions_before_the_model_has_enough_history_fall_back_to_persistence(truth):
    forecast = ModelForecast({Zone("DE"): SeasonalNaiveForecaster()}, truth)
    early = np.array([(T0 + 2 * DAY).timestamp()])
    forecast.integral(0, early, early, early + 3600)
    assert forecast.fallback_decisions == 1


def test_the_belief_uses_nothing_at_or_after_the_decision(truth):
    values = truth.values_g_per_kwh[0].copy()
    decided = T0 + 50 * DAY
    cut = int((decided - T0) / HOUR)
    values[cut:] = 1e6
    poisoned = IntensityGrid({"DE": IntensitySeries(Zone("DE"), T0, HOUR, values)})
    at = np.array([decided.timestamp()])
    clean = ModelForecast({Zone("DE"): SeasonalNaiveForecaster()}, truth).integral(
        0, at, at, at + 24 * 3600
    )
    dirty = ModelForecast({Zone("DE"): SeasonalNaiveForecaster()}, poisoned).integral(
        0, at, at, at + 24 * 3600
    )
    np.testing.assert_array_equal(clean, dirty)


def test_quantiles_need_a_model_forecast(truth):
    with pytest.raises(ValueError, match="has no quantiles"):
        build_forecast("oracle", truth, 0.9)


def test_a_risk_averse_quantile_believes_a_dirtier_grid(truth):
    at = np.array([(T0 + 50 * DAY).timestamp()])
    median = build_forecast("seasonal-naive", truth, 0.5).integral(0, at, at, at + 24 * 3600)
    p90 = build_forecast("seasonal-naive", truth, 0.9).integral(0, at, at, at + 24 * 3600)
    assert p90[0] > median[0]


@pytest.mark.parametrize(
    ("args", "want"),
    [
        (
            ["--forecast", "prophet"],
            "expected one of oracle, persistence, seasonal-naive, provider, lightgbm",
        ),
        (["--forecast", "oracle", "--forecast-quantile", "0.9"], "has no quantiles"),
        (["--forecast", "lightgbm", "--forecast-quantile", "0.7"], "expected 0.1, 0.5 or 0.9"),
    ],
)
def test_simulate_refuses_unknown_forecasts_and_quantiles_in_one_line(args, want, capsys):
    from carbon_kube.cli.app import main

    with pytest.raises(SystemExit) as exit_info:
        main(["simulate", *args])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert want in err


def _weekday_valley_truth(days: int) -> IntensityGrid:
    """A clean 3 h valley whose hour moves with the weekday: yesterday is always wrong."""
    hours = np.arange(days * 24)
    weekday = (hours // 24 + T0.weekday()) % 7
    valley_start = 3 * weekday
    in_valley = (hours % 24 >= valley_start) & (hours % 24 < valley_start + 3)
    noise = np.random.default_rng(5).normal(0.0, 3.0, hours.size)
    values = 400.0 - 250.0 * in_valley + noise
    return IntensityGrid({"DE": IntensitySeries(Zone("DE"), T0, HOUR, values)})


def _daily_jobs(truth: IntensityGrid, days: range, lasting: timedelta, slack: timedelta):
    """One job submitted at each midnight of ``days``, due ``slack`` later."""
    return make_jobs(
        truth,
        *(
            a_job(f"j{day}").submitted(T0 + day * DAY).lasting(lasting).due(T0 + day * DAY + slack)
            for day in days
        ),
    )


def _temporal_savings(
    truth: IntensityGrid, jobs, forecast: str, belief: Forecast | None = None
) -> float:
    """1 - temporal / carbon-agnostic CO2, planned on ``forecast`` (or a belief built for it)."""
    settings = SimulationSettings(("temporal",), PowerModel(3.0, 0.4, 1.1), forecast=forecast)
    result = simulate(jobs, truth, settings, forecast=belief)
    return 1.0 - result.outcomes["temporal"].co2_g.sum() / result.baseline.co2_g.sum()


def test_the_simulator_plans_on_the_learned_forecast_and_it_beats_persistence():
    truth = _weekday_valley_truth(80)
    # Submitted at midnight after the model's warm-up (59 days), a day of slack each.
    jobs = _daily_jobs(truth, range(62, 76), 2 * HOUR, DAY)
    oracle = _temporal_savings(truth, jobs, "oracle")
    persistence = _temporal_savings(truth, jobs, "persistence")
    learned = _temporal_savings(truth, jobs, "lightgbm")
    assert persistence < 0.5 * oracle
    assert 0.9 * oracle <= learned <= oracle + 1e-9


def test_the_simulators_lightgbm_forecasts_every_decision_from_one_fit_per_cut_off():
    truth = _weekday_valley_truth(80)
    forecast = build_forecast("lightgbm", truth)
    assert isinstance(forecast, ModelForecast)
    decided = T0.timestamp() + np.arange(60, 75) * DAY.total_seconds() + 7 * 3600
    forecast.integral(0, decided, decided, decided + 3600)
    model = forecast._models[Zone("DE")]
    assert isinstance(model, GradientBoostingForecaster)
    assert len(model.fit_cache) == 1
    assert forecast.fallback_decisions == 0


def test_the_batched_learned_belief_uses_nothing_at_or_after_the_decision():
    truth = _weekday_valley_truth(80)
    decided = T0 + 62 * DAY + 5 * HOUR
    values = truth.values_g_per_kwh[0].copy()
    values[int((decided - T0) / HOUR) :] = 1e6
    poisoned = IntensityGrid({"DE": IntensitySeries(Zone("DE"), T0, HOUR, values)})
    at = np.array([decided.timestamp(), decided.timestamp()])
    ends = at + np.array([6 * 3600.0, 30 * 3600.0])
    clean = build_forecast("lightgbm", truth).integral(0, at, at, ends)
    dirty = build_forecast("lightgbm", poisoned).integral(0, at, at, ends)
    np.testing.assert_array_equal(clean, dirty)


def _shifted(series: IntensitySeries, hours: int) -> IntensitySeries:
    """A 'provider forecast' that is the truth moved ``hours`` later (wrong in a known way)."""
    values = np.roll(series.values_g_per_kwh, hours)
    return IntensitySeries(series.zone, series.start, series.step, values)


def test_the_provider_forecast_plans_on_the_sources_own_forecast_not_the_truth():
    truth = _weekday_valley_truth(30)
    jobs = _daily_jobs(truth, range(10, 20), 2 * HOUR, DAY)
    series = IntensitySeries(Zone("DE"), T0, HOUR, truth.values_g_per_kwh[0])

    def savings(provider: IntensitySeries) -> float:
        inputs = ForecastInputs(provider_forecasts={Zone("DE"): provider})
        return _temporal_savings(
            truth, jobs, "provider", build_forecast("provider", truth, 0.5, inputs)
        )

    oracle = _temporal_savings(truth, jobs, "oracle")
    assert savings(series) == pytest.approx(oracle, rel=1e-6)
    # Believing the valley 4 h later than it is, the plans miss it.
    assert savings(_shifted(series, 4)) < 0.5 * oracle


def test_the_provider_forecast_needs_the_sources_forecast_for_every_zone(truth):
    with pytest.raises(InputError, match="none for DE"):
        build_forecast("provider", truth)


def test_the_provider_forecasts_no_further_than_its_lead(truth):
    series = IntensitySeries(Zone("DE"), T0, HOUR, truth.values_g_per_kwh[0])
    forecast = build_forecast(
        "provider", truth, 0.5, ForecastInputs(provider_forecasts={Zone("DE"): series})
    )
    assert isinstance(forecast, ModelForecast)
    at = np.array([(T0 + 40 * DAY).timestamp()])
    # Two days ahead the provider (24 h lead) has said nothing: its last day repeats.
    day1 = forecast.integral(0, at, at, at + 24 * 3600)
    day2 = forecast.integral(0, at, at + 24 * 3600, at + 48 * 3600)
    np.testing.assert_allclose(day1, day2)


def test_the_simulators_learned_model_uses_weather_when_given_and_plans_better_with_it():
    series, weather = make_wind_driven(80)
    truth = IntensityGrid({series.zone: series})
    jobs = _daily_jobs(truth, range(60, 76), 3 * HOUR, 2 * DAY)

    def run(inputs: ForecastInputs) -> tuple[float, set[str]]:
        belief = build_forecast("lightgbm", truth, 0.5, inputs)
        assert isinstance(belief, ModelForecast)
        return _temporal_savings(truth, jobs, "lightgbm", belief), belief.notes

    with_weather, notes = run(ForecastInputs(weather={series.zone: weather}))
    without_weather, bare_notes = run(ForecastInputs())
    assert any("weather forecasts from synthetic day-ahead" in note for note in notes)
    assert any("no weather covariates" in note for note in bare_notes)
    assert with_weather > without_weather
