from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import pytest

from carbon_kube.domain.forecasts import QuantileForecast
from carbon_kube.domain.intensity import IntensitySeries
from carbon_kube.domain.weather import WeatherSeries
from carbon_kube.domain.zones import Zone
from carbon_kube.forecasting.baselines import PersistenceForecaster, SeasonalNaiveForecaster
from carbon_kube.forecasting.decisions import oracle_fraction
from carbon_kube.forecasting.selection import choose_by_decisions
from tests.builders import HOUR, T0, make_daily_series, make_series

DE = Zone("DE")


def _forecast(values: list[float], origin: datetime = T0) -> QuantileForecast:
    p50 = np.asarray(values, dtype=np.float64)
    return QuantileForecast(DE, "test", origin, HOUR, p50, p50, p50)


def test_knowing_the_truth_scores_one_and_a_flat_belief_scores_zero() -> None:
    truth = [300.0, 250.0, 100.0, 50.0, 400.0, 500.0] * 4
    series = make_series(truth)

    assert oracle_fraction(series, [_forecast(truth)]) == pytest.approx(1.0)
    assert oracle_fraction(series, [_forecast([200.0] * 24)]) == pytest.approx(0.0)


def test_a_forecast_that_ranks_hours_backwards_scores_below_zero() -> None:
    truth = [300.0, 250.0, 100.0, 50.0, 400.0, 500.0] * 4

    score = oracle_fraction(make_series(truth), [_forecast([-v + 600.0 for v in truth])])

    assert score < 0


def test_the_score_follows_the_order_of_hours_not_the_error_level() -> None:
    # Off by 200 g/kWh everywhere but in the right order: perfect decisions, huge MAPE.
    truth = [300.0, 250.0, 100.0, 50.0, 400.0, 500.0] * 4

    assert oracle_fraction(make_series(truth), [_forecast([v + 200 for v in truth])]) == 1.0


class Backwards:
    """A 'capable' model that gets the order of hours wrong: auto must not choose it."""

    name = "backwards"
    max_horizon = timedelta(hours=72)

    def required_history(self, horizon: timedelta) -> timedelta:
        return timedelta(days=8)

    def forecast(
        self,
        history: IntensitySeries,
        origin: datetime,
        horizon: timedelta,
        weather: WeatherSeries | None = None,
    ) -> QuantileForecast:
        good = PersistenceForecaster().forecast(history, origin, horizon)
        flipped = np.max(good.p50_g_per_kwh) + 1 - good.p50_g_per_kwh
        return QuantileForecast(DE, self.name, origin, HOUR, flipped, flipped, flipped)


def test_auto_keeps_a_baseline_when_the_capable_model_decides_worse() -> None:
    known = make_daily_series(50, noise_g_per_kwh=5.0)
    candidates = [Backwards(), SeasonalNaiveForecaster(), PersistenceForecaster()]

    chosen, scores, notes = choose_by_decisions(candidates, known, timedelta(hours=24))

    assert chosen.name in ("seasonal-naive", "persistence")
    assert scores["backwards"] < scores[chosen.name]
    assert scores[chosen.name] > 0.5
    assert "oracle fraction" in notes[0]
