from __future__ import annotations

import pytest

from carbon_kube.energy.emissions import IntensityIntegral, emissions_g
from tests.builders import HOUR, T0, make_series


def test_whole_hours_sum_power_times_intensity() -> None:
    series = make_series([100.0, 300.0])
    # 1 kW for two hours: 100 + 300 grams.
    assert emissions_g(series, T0, T0 + 2 * HOUR, power_w=1000.0) == pytest.approx(400.0)


def test_run_starting_and_ending_mid_interval_counts_only_the_overlap() -> None:
    series = make_series([100.0, 300.0, 50.0])
    start = T0 + HOUR / 2  # 30 min of 100, a full hour of 300, 15 min of 50
    end = T0 + 2 * HOUR + HOUR / 4
    want_g = 2.0 * (0.5 * 100.0 + 1.0 * 300.0 + 0.25 * 50.0)
    assert emissions_g(series, start, end, power_w=2000.0) == pytest.approx(want_g)


def test_half_hour_steps_integrate_in_hours() -> None:
    series = make_series([200.0, 400.0], step=HOUR / 2)
    assert emissions_g(series, T0, T0 + HOUR, power_w=1000.0) == pytest.approx(300.0)


def test_run_ending_exactly_at_series_end_is_covered() -> None:
    series = make_series([10.0, 20.0, 30.0])
    assert IntensityIntegral(series).between(T0 + 2 * HOUR, T0 + 3 * HOUR) == pytest.approx(30.0)


def test_run_outside_the_data_is_an_error_not_an_extrapolation() -> None:
    series = make_series([10.0, 20.0])
    with pytest.raises(KeyError, match="outside the intensity data"):
        emissions_g(series, T0 + HOUR, T0 + 3 * HOUR, power_w=1.0)
    with pytest.raises(KeyError):
        emissions_g(series, T0 - HOUR, T0 + HOUR, power_w=1.0)


def test_empty_run_emits_nothing() -> None:
    series = make_series([10.0, 20.0])
    assert emissions_g(series, T0 + HOUR, T0 + HOUR, power_w=500.0) == 0.0
