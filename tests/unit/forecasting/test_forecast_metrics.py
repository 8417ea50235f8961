import math

import numpy as np

from carbon_kube.forecasting.metrics import coverage, mae_g_per_kwh, mape_pct, scored_count


def test_mape_matches_a_hand_computed_case():
    # |100-110|/100 = 10 %, |200-150|/200 = 25 %, |50-50|/50 = 0 %  -> mean 11.666... %
    want_mape_pct = (10 + 25 + 0) / 3
    assert math.isclose(
        mape_pct(np.array([100.0, 200, 50]), np.array([110.0, 150, 50])), want_mape_pct
    )


def test_mae_matches_a_hand_computed_case():
    assert mae_g_per_kwh(np.array([100.0, 200, 50]), np.array([110.0, 150, 50])) == 20.0


def test_hours_with_zero_actual_are_left_out_of_mape_but_not_mae():
    actual = np.array([0.0, 100.0])
    forecast = np.array([5.0, 90.0])
    assert mape_pct(actual, forecast) == 10.0
    assert scored_count(actual, forecast) == 1
    assert mae_g_per_kwh(actual, forecast) == 7.5


def test_mape_of_no_positive_actual_is_nan_not_zero():
    assert math.isnan(mape_pct(np.array([0.0]), np.array([1.0])))


def test_coverage_counts_actuals_inside_the_band_inclusively():
    actual = np.array([1.0, 5.0, 10.0, 11.0])
    assert coverage(actual, np.full(4, 1.0), np.full(4, 10.0)) == 0.75
