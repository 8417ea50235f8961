"""The embedded series against independent series of the same zone and year (real data)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from carbon_kube.domain.zones import Zone
from carbon_kube.providers.embedded import embedded_year, load_embedded_series
from carbon_kube.providers.files import read_intensity_file
from tests.builders import make_series
from tests.scripts import load_script

validation = load_script("validate_embedded_data")
MIN_PEARSON_R = 0.85


@pytest.mark.shared_data
@pytest.mark.parametrize("zone", ["DE", "GB", "FR"])
def test_embedded_series_tracks_lets_wait_awhile_2020_hour_by_hour(
    shared_data: Path, zone: str
) -> None:
    reference = validation.read_lets_wait_awhile(shared_data, zone)
    got = validation.compare(load_embedded_series()[Zone(zone)], reference, "lwa")
    assert got.hours == 366 * 24
    assert got.pearson_r >= MIN_PEARSON_R
    # Same platform, different factors and import treatment: levels agree within 15 %.
    assert abs(got.mean_difference_g_per_kwh) <= 0.15 * got.reference_mean_g_per_kwh


@pytest.mark.shared_data
def test_embedded_series_tracks_electricity_maps_in_every_overlapping_zone_year(
    shared_data: Path,
) -> None:
    embedded = load_embedded_series()
    files = validation.electricitymaps_files(shared_data, sorted(embedded))
    overlapping = {key: path for key, path in files.items() if key[1] == embedded_year()}
    if not overlapping:
        pytest.skip(
            f"no Electricity Maps zone-year in {shared_data} overlaps {embedded_year()} "
            f"(years there: {sorted({year for _, year in files})})"
        )
    for (zone, _), path in overlapping.items():
        reference = read_intensity_file(path)[Zone(zone)]
        assert validation.compare(embedded[Zone(zone)], reference, "em").pearson_r >= MIN_PEARSON_R


def test_comparison_of_a_series_with_itself_at_finer_step_is_perfect() -> None:
    hourly = make_series([100.0, 300.0, 200.0, 50.0])
    quarter = make_series(
        [v for v in (100.0, 300.0, 200.0, 50.0) for _ in range(4)], step=timedelta(minutes=15)
    )
    got = validation.compare(hourly, quarter, "self")
    assert got.hours == 4
    assert got.pearson_r == pytest.approx(1.0)
    assert got.mean_difference_g_per_kwh == pytest.approx(0.0)
