from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest

from carbon_kube.planning.beliefs import MAX_HOLE, extended_daily, with_forecast
from tests.builders import HOUR, T0, make_series

DAY = timedelta(days=1)


def test_extension_repeats_the_value_one_day_earlier() -> None:
    series = make_series([float(v) for v in range(30)], start=T0)

    extended = extended_daily(series, T0 + 40 * HOUR)

    assert len(extended) == 40
    assert list(extended.values_g_per_kwh[30:]) == [float(v) for v in range(6, 16)]


def test_less_than_a_day_of_values_repeats_as_a_whole() -> None:
    series = make_series([1.0, 2.0, 3.0], start=T0)

    extended = extended_daily(series, T0 + 7 * HOUR)

    assert list(extended.values_g_per_kwh) == [1.0, 2.0, 3.0, 1.0, 2.0, 3.0, 1.0]


def test_a_series_reaching_the_end_comes_back_unchanged() -> None:
    series = make_series([5.0] * 10, start=T0)

    assert extended_daily(series, T0 + 10 * HOUR) is series


def test_the_forecast_replaces_everything_from_the_step_holding_now() -> None:
    # A replayed source answers the future too: the provider's forecast must win there.
    observed = make_series([100.0] * 24 + [999.0] * 24, start=T0)
    forecast = make_series([50.0, 60.0, 70.0], start=T0 + 24 * HOUR)

    belief = with_forecast(
        observed, forecast, now=T0 + 24 * HOUR + timedelta(minutes=10), until=T0 + 30 * HOUR
    )

    values = list(belief.values_g_per_kwh)
    assert values[:24] == [100.0] * 24
    assert values[24:27] == [50.0, 60.0, 70.0]
    # Beyond the forecast's horizon: the value a day earlier.
    assert values[27:30] == [100.0] * 3
    assert 999.0 not in values


def test_a_publication_lag_before_the_forecast_is_filled_by_repetition() -> None:
    observed = make_series([float(v) for v in range(24)], start=T0)  # ends 24 h after T0
    forecast = make_series([7.0] * 5, start=T0 + 26 * HOUR)

    belief = with_forecast(observed, forecast, now=T0 + 26 * HOUR, until=T0 + 31 * HOUR)

    assert list(belief.values_g_per_kwh[24:26]) == [0.0, 1.0]
    assert list(belief.values_g_per_kwh[26:31]) == [7.0] * 5


def test_a_hole_longer_than_the_lag_allowance_is_refused() -> None:
    observed = make_series([100.0] * 24, start=T0)
    late = T0 + 24 * HOUR + MAX_HOLE + HOUR
    forecast = make_series([7.0] * 5, start=late)

    with pytest.raises(ValueError, match="more than"):
        with_forecast(observed, forecast, now=late, until=late + 5 * HOUR)


def test_a_forecast_on_another_step_is_refused_rather_than_resampled() -> None:
    observed = make_series([100.0] * 24, start=T0)
    half_hourly = make_series([7.0] * 4, start=T0 + 24 * HOUR, step=timedelta(minutes=30))

    with pytest.raises(ValueError, match="step"):
        with_forecast(observed, half_hourly, now=T0 + 24 * HOUR, until=T0 + 26 * HOUR)


def test_a_stale_forecast_makes_the_belief_stale() -> None:
    observed = make_series([100.0] * 24, start=T0)
    forecast = dataclasses.replace(make_series([7.0] * 4, start=T0 + 24 * HOUR), stale=True)

    belief = with_forecast(observed, forecast, now=T0 + 24 * HOUR, until=T0 + 28 * HOUR)

    assert belief.stale
