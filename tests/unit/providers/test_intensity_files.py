from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from carbon_kube.domain.errors import InputError
from carbon_kube.providers.files import EmissionBasis, GapFill, ReadOptions, read_intensity_file


def write(tmp_path: Path, text: str, name: str = "ci.csv") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_long_format_reads_every_zone_in_utc(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "timestamp,zone,g_per_kwh\n"
        "2022-01-01T01:00:00+01:00,DE,100\n2022-01-01T01:00:00Z,DE,200\n"
        "2022-01-01T00:00:00Z,FR,50\n2022-01-01T01:00:00Z,FR,60\n",
    )
    series = read_intensity_file(path)
    assert sorted(series) == ["DE", "FR"]
    assert series["DE"].start.isoformat() == "2022-01-01T00:00:00+00:00"
    assert list(series["DE"].values_g_per_kwh) == [100.0, 200.0]


def test_naive_timestamp_in_long_format_names_file_line_and_field(tmp_path: Path) -> None:
    path = write(
        tmp_path, "timestamp,zone,g_per_kwh\n2022-01-01T00:00:00,DE,1\n2022-01-01T01:00:00,DE,1\n"
    )
    with pytest.raises(InputError) as caught:
        read_intensity_file(path)
    assert caught.value.render().startswith(f"{path}:2: field 'timestamp': ")
    assert "no UTC offset" in caught.value.message


@pytest.mark.parametrize("bad", ["-1", "nan", "abc", ""])
def test_negative_nan_or_text_intensity_is_rejected_with_its_line(tmp_path: Path, bad: str) -> None:
    path = write(
        tmp_path,
        f"timestamp,zone,g_per_kwh\n2022-01-01T00:00:00Z,DE,5\n2022-01-01T01:00:00Z,DE,{bad}\n",
    )
    with pytest.raises(InputError) as caught:
        read_intensity_file(path)
    assert (caught.value.line, caught.value.field) == (3, "g_per_kwh")


def test_unknown_zone_id_is_rejected(tmp_path: Path) -> None:
    path = write(tmp_path, "timestamp,zone,g_per_kwh\n2022-01-01T00:00:00Z,germany,5\n")
    with pytest.raises(InputError, match="grid zone id") as caught:
        read_intensity_file(path)
    assert caught.value.line == 2


def test_gap_is_an_error_unless_a_fill_is_chosen(tmp_path: Path) -> None:
    text = (
        "timestamp,zone,g_per_kwh\n2022-01-01T00:00:00Z,DE,100\n"
        "2022-01-01T01:00:00Z,DE,200\n2022-01-01T03:00:00Z,DE,400\n"
    )
    path = write(tmp_path, text)
    with pytest.raises(InputError, match="gap in the series") as caught:
        read_intensity_file(path)
    assert caught.value.line == 4
    held = read_intensity_file(path, ReadOptions(gap_fill=GapFill.HOLD))["DE"]
    assert list(held.values_g_per_kwh) == [100.0, 200.0, 200.0, 400.0]
    interpolated = read_intensity_file(path, ReadOptions(gap_fill=GapFill.INTERPOLATE))["DE"]
    assert list(interpolated.values_g_per_kwh) == [100.0, 200.0, 300.0, 400.0]


def test_electricity_maps_export_reads_lifecycle_or_direct(tmp_path: Path) -> None:
    header = (
        "Datetime (UTC),Country,Zone Name,Zone Id,Carbon Intensity gCO₂eq/kWh (direct),"
        "Carbon Intensity gCO₂eq/kWh (LCA),Low Carbon Percentage\n"
    )
    rows = (
        "2022-01-01 00:00:00,Germany,Germany,DE,163.46,213.79,81\n"
        "2022-01-01 01:00:00,Germany,Germany,DE,166.66,218.0,80\n"
    )
    path = tmp_path / "DE.csv.gz"
    path.write_bytes(gzip.compress((header + rows).encode()))
    assert read_intensity_file(path)["DE"].values_g_per_kwh[0] == pytest.approx(213.79)
    direct = read_intensity_file(path, ReadOptions(basis=EmissionBasis.DIRECT))["DE"]
    assert direct.values_g_per_kwh[1] == pytest.approx(166.66)


def test_real_electricity_maps_file_is_one_hourly_year(shared_data: Path) -> None:
    series = read_intensity_file(shared_data / "electricitymaps-hourly" / "DE_2022_hourly.csv.gz")[
        "DE"
    ]
    assert len(series) == 8760
    assert series.step.total_seconds() == 3600
