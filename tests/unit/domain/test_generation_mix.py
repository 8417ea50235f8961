from __future__ import annotations

import pytest

from carbon_kube.domain.generation_mix import (
    LIFECYCLE_G_PER_KWH,
    PRODUCTION_TYPES,
    PSR_TYPES,
    factor_g_per_kwh,
    mix_intensity_g_per_kwh,
)


def test_every_entsoe_code_names_a_production_type_with_a_factor_rule() -> None:
    assert set(PSR_TYPES.values()) <= set(PRODUCTION_TYPES)
    assert {c for c in PRODUCTION_TYPES.values() if c is not None} <= set(LIFECYCLE_G_PER_KWH)


def test_the_mix_is_the_energy_weighted_factor_with_storage_left_out() -> None:
    mix = {"Fossil Gas": 100.0, "Wind Onshore": 300.0, "Hydro Pumped Storage": 5_000.0}

    assert mix_intensity_g_per_kwh(mix) == pytest.approx((100 * 490 + 300 * 11) / 400)


def test_a_mix_of_only_storage_or_nothing_has_no_intensity() -> None:
    assert mix_intensity_g_per_kwh({"Energy storage": 10.0}) is None
    assert mix_intensity_g_per_kwh({}) is None


def test_an_unknown_production_type_is_an_error_never_a_zero() -> None:
    with pytest.raises(KeyError):
        factor_g_per_kwh("Fusion")
