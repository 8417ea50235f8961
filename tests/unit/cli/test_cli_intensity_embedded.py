"""``carbon-kube intensity show`` and ``zones`` with the embedded default, run as the console
script runs them (``main`` with its error boundary) inside typer's CliRunner isolation."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from typer.testing import CliRunner

from carbon_kube.cli.app import main
from carbon_kube.providers.embedded import embedded_zones


@dataclass(frozen=True)
class Run:
    exit_code: int
    stdout: str
    stderr: str


def run(*args: str) -> Run:
    runner = CliRunner()
    with runner.isolation(env={"COLUMNS": "200"}) as (stdout, stderr, _):
        try:
            main(list(args))
            code = 0
        except SystemExit as stop:
            code = stop.code if isinstance(stop.code, int) else 1
        return Run(code, stdout.getvalue().decode(), stderr.getvalue().decode())


def test_show_without_a_file_reads_the_embedded_year_of_the_zone() -> None:
    got = run("intensity", "show", "--zone", "DE")
    assert got.exit_code == 0, got.stderr
    assert "8784" in got.stdout
    assert "2020-01-01 00:00 .. 2021-01-01 00:00 UTC" in got.stdout
    assert "embedded dataset" in got.stdout


def test_show_of_an_unknown_zone_is_one_line_listing_the_embedded_zones_and_exit_2() -> None:
    got = run("intensity", "show", "--zone", "US-MIDA-PJM")
    assert got.exit_code == 2
    lines = got.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("error: field '--zone': zone US-MIDA-PJM has no embedded data")
    for zone in embedded_zones():
        assert zone in lines[0]
    assert "Traceback" not in got.stderr


def test_show_with_plot_writes_a_png_and_leaves_no_temporary_file(tmp_path: Path) -> None:
    chart = tmp_path / "fr.png"
    got = run(
        "intensity",
        "show",
        "--zone",
        "FR",
        "--start",
        "2020-06-01",
        "--end",
        "2020-06-15",
        "--plot",
        str(chart),
    )
    assert got.exit_code == 0, got.stderr
    assert chart.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert [p.name for p in tmp_path.iterdir()] == ["fr.png"]
    assert "336" in got.stdout  # 14 days x 24 hours


def test_plot_into_a_missing_directory_is_a_user_error(tmp_path: Path) -> None:
    got = run("intensity", "show", "--zone", "FR", "--plot", str(tmp_path / "no" / "x.png"))
    assert got.exit_code == 2
    assert "does not exist" in got.stderr


def test_a_window_outside_the_data_names_the_covered_span() -> None:
    got = run("intensity", "show", "--zone", "FR", "--start", "2022-01-01")
    assert got.exit_code == 2
    assert "the data covers [2020-01-01T00:00:00+00:00, 2021-01-01T00:00:00+00:00)" in got.stderr


def test_file_option_switches_from_embedded_to_the_file(tmp_path: Path) -> None:
    path = tmp_path / "ci.csv"
    path.write_text(
        "timestamp,zone,g_per_kwh\n2022-01-01T00:00:00Z,US-MIDA-PJM,100\n"
        "2022-01-01T01:00:00Z,US-MIDA-PJM,300\n"
    )
    got = run("intensity", "show", "--zone", "US-MIDA-PJM", "--file", str(path))
    assert got.exit_code == 0, got.stderr
    assert "200.0" in got.stdout
    assert "embedded" not in got.stdout


def test_zones_marks_regions_whose_zone_has_embedded_data() -> None:
    got = run("zones", "--cloud", "aws")
    assert got.exit_code == 0, got.stderr
    rows = {line.split("│")[2].strip(): line for line in got.stdout.splitlines() if "│" in line}
    assert "yes" in rows["eu-central-1"]  # DE
    assert "yes" not in rows["us-east-1"]  # US-MIDA-PJM
    assert "Embedded data (2020, hourly): " + ", ".join(embedded_zones()) in got.stdout
