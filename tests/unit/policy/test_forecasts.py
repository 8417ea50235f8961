from __future__ import annotations

from datetime import datetime

import numpy as np
import pytest

from carbon_kube.domain.intensity import IntensitySeries
from carbon_kube.domain.zones import Zone
from carbon_kube.policy.forecasts import OracleForecast, PersistenceForecast, SeriesForecast
from tests.builders import HOUR, T0, make_series, make_truth

VALUES = [float(v) for v in range(100, 100 + 24 * 4)]  # four days, each hour a distinct value


def _hours(*hours: float) -> np.ndarray:
    return np.array([T0.timestamp() + h * 3600 for h in hours])


def test_oracle_believes_the_true_integral_whenever_it_decides() -> None:
    truth = make_truth({"DE": VALUES})
    oracle = OracleForecast(truth)
    got = oracle.integral(0, _hours(0), _hours(30), _hours(31.5))
    assert got == pytest.approx([VALUES[30] + 0.5 * VALUES[31]])


def test_persistence_believes_each_hour_repeats_the_value_24_hours_earlier() -> None:
    truth = make_truth({"DE": VALUES})
    forecast = PersistenceForecast(truth)
    decided = _hours(30.25)  # decided during hour 30: hours 6..29 have been observed
    for hour in range(30, 54):
        got = forecast.integral(0, decided, _hours(hour), _hours(hour + 1))
        assert got == pytest.approx([VALUES[hour - 24]])


def test_persistence_repeats_the_last_observed_day_beyond_24_hours() -> None:
    truth = make_truth({"DE": VALUES})
    forecast = PersistenceForecast(truth)
    got = forecast.integral(0, _hours(30), _hours(30 + 48 + 2), _hours(30 + 48 + 3))
    assert got == pytest.approx([VALUES[30 + 2 - 24]])


def test_persistence_never_looks_at_the_decision_hour_or_later() -> None:
    truth = make_truth({"DE": VALUES})
    changed = list(VALUES)
    changed[30:] = [9999.0] * (len(VALUES) - 30)
    a = PersistenceForecast(truth).integral(0, _hours(30), _hours(30), _hours(80))
    b = PersistenceForecast(make_truth({"DE": changed})).integral(
        0, _hours(30), _hours(30), _hours(80)
    )
    assert a == pytest.approx(b)


def test_persistence_with_a_few_hours_of_history_repeats_what_there_is() -> None:
    truth = make_truth({"DE": VALUES})
    got = PersistenceForecast(truth).integral(0, _hours(2), _hours(2), _hours(6))
    assert got == pytest.approx([VALUES[0] + VALUES[1] + VALUES[0] + VALUES[1]])


def test_series_forecast_adapter_matches_the_oracle_when_it_believes_the_truth() -> None:
    truth = make_truth({"DE": VALUES})
    series = make_series(VALUES)

    def believe(zone: Zone, decided_at: datetime) -> IntensitySeries:
        assert zone == "DE"
        return series

    adapter = SeriesForecast("truth", truth.grid, believe)
    starts = _hours(1.5, 10, 40.25)
    ends = starts + 5 * HOUR.total_seconds()
    want = OracleForecast(truth).integral(0, starts, starts, ends)
    assert adapter.integral(0, starts, starts, ends) == pytest.approx(want)
