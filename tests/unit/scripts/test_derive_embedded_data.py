"""The derivation maths of scripts/derive_embedded_data.py on hand-made generation tables."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tests.scripts import load_script

derive = load_script("derive_embedded_data")
GAS, WIND, COAL = 490.0, 11.0, 820.0


def hours(count: int) -> pd.DatetimeIndex:
    return pd.date_range("2020-01-01", periods=count, freq="1h", tz="UTC")


def test_intensity_is_the_generation_weighted_mean_of_lifecycle_factors() -> None:
    index = hours(2)
    generation = pd.DataFrame(
        {"Fossil Gas": [100.0, 300.0], "Wind Onshore": [300.0, 100.0]}, index=index
    )
    got, counts = derive.intensity_from_generation(generation, index, "XX")
    want = [(100 * GAS + 300 * WIND) / 400, (300 * GAS + 100 * WIND) / 400]
    np.testing.assert_allclose(got.to_numpy(), want)
    assert counts["hours_interpolated"] == 0


def test_quarter_hours_are_averaged_into_the_hour_they_start_in() -> None:
    quarters = pd.date_range("2020-01-01", periods=4, freq="15min", tz="UTC")
    generation = pd.DataFrame(
        {"Fossil Gas": [0.0, 0.0, 100.0, 100.0], "Wind Onshore": [100.0] * 4}, index=quarters
    )
    got, _ = derive.intensity_from_generation(generation, hours(1), "XX")
    assert got.iloc[0] == pytest.approx((50 * GAS + 100 * WIND) / 150)


def test_pumped_storage_is_left_out_and_negative_generation_counts_as_zero() -> None:
    index = hours(1)
    generation = pd.DataFrame(
        {"Fossil Gas": [100.0], "Hydro Pumped Storage": [5000.0], "Fossil Hard coal": [-40.0]},
        index=index,
    )
    got, counts = derive.intensity_from_generation(generation, index, "XX")
    assert got.iloc[0] == pytest.approx(GAS)
    assert counts["negative_values_zeroed"] == 1


def test_short_interior_gap_is_interpolated_and_counted() -> None:
    index = hours(4)
    gas = [100.0, np.nan, np.nan, 100.0]
    wind = [100.0, np.nan, np.nan, 300.0]
    generation = pd.DataFrame({"Fossil Gas": gas, "Wind Onshore": wind}, index=index)
    got, counts = derive.intensity_from_generation(generation, index, "XX")
    first, last = (GAS + WIND) / 2, (100 * GAS + 300 * WIND) / 400
    np.testing.assert_allclose(got.to_numpy(), np.linspace(first, last, 4))
    assert counts["hours_interpolated"] == 2


def test_long_interior_gap_is_an_error_not_an_invention() -> None:
    index = hours(derive.MAX_GAP_INTERPOLATION_H + 3)
    gas = np.full(len(index), 100.0)
    gas[1:-1] = np.nan
    generation = pd.DataFrame({"Fossil Gas": gas}, index=index)
    with pytest.raises(derive.DerivationError, match="without data"):
        derive.intensity_from_generation(generation, index, "XX")


def test_hours_past_the_source_at_year_end_hold_the_last_value() -> None:
    index = hours(3)
    generation = pd.DataFrame({"Fossil Hard coal": [100.0]}, index=index[:1])
    got, counts = derive.intensity_from_generation(generation, index, "XX")
    assert list(got) == [COAL, COAL, COAL]
    assert counts["hours_held_at_year_end"] == 2


def test_a_production_type_missing_for_long_counts_as_unreported() -> None:
    index = hours(derive.MAX_COLUMN_INTERPOLATION_H + 10)
    coal = np.full(len(index), np.nan)
    coal[-1] = 100.0
    generation = pd.DataFrame({"Fossil Gas": 100.0, "Fossil Hard coal": coal}, index=index)
    got, counts = derive.intensity_from_generation(generation, index, "XX")
    assert got.iloc[0] == pytest.approx(GAS)
    assert got.iloc[-1] == pytest.approx((GAS + COAL) / 2)
    assert counts["type_hours_unreported_as_zero"] == len(index) - 1


def test_unknown_production_type_is_refused() -> None:
    with pytest.raises(derive.DerivationError, match="no factor category"):
        derive.factor_for("Fusion")


def test_every_production_type_category_has_a_factor() -> None:
    categories = {c for c in derive.PRODUCTION_TYPES.values() if c is not None}
    assert categories <= set(derive.LIFECYCLE_G_PER_KWH)
