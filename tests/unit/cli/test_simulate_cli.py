from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from carbon_kube.cli.app import app, main

HEADER = (
    "job_id,submit_time,duration_s,cpus,memory_gib,max_delay_s,zone,allowed_zones,interruptible"
)
GOOD_ROWS = [
    "a,2022-01-01T01:00:00Z,3600,2,4,21600,DE,FR,false",
    "b,2022-01-01T05:30:00Z,7200,1,0,3600,FR,,true",
    "c,2022-01-01T10:00:00Z,1800,4,8,0,DE,,",
]
SUMMARY_KEYS = {
    "policy",
    "jobs",
    "energy_kwh",
    "co2_kg",
    "baseline_co2_kg",
    "savings_pct",
    "deadline_misses",
    "mean_delay_s",
    "p95_delay_s",
}


@pytest.fixture
def intensity_file(tmp_path: Path) -> Path:
    times = pd.date_range("2022-01-01", periods=48, freq="h", tz="UTC")
    rows = [
        {"timestamp": t.strftime("%Y-%m-%dT%H:%M:%SZ"), "zone": zone, "g_per_kwh": value}
        for zone, base in (("DE", 300.0), ("FR", 60.0))
        for i, t in enumerate(times)
        for value in [base + 100 * ((i % 24) < 12)]
    ]
    path = tmp_path / "intensity.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def _jobs(tmp_path: Path, rows: list[str], header: str = HEADER) -> Path:
    path = tmp_path / "jobs.csv"
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return path


def _fails(capsys: pytest.CaptureFixture[str], argv: list[str]) -> str:
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return err


def test_simulate_writes_the_contract_summary_and_jobs_files(
    tmp_path: Path, intensity_file: Path
) -> None:
    out = tmp_path / "out"
    result = CliRunner().invoke(
        app,
        [
            "simulate",
            "--jobs",
            str(_jobs(tmp_path, GOOD_ROWS)),
            "--intensity",
            str(intensity_file),
            "--policy",
            "carbon-agnostic,temporal,spatial",
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    summary = json.loads((out / "summary.json").read_text())
    assert [s["policy"] for s in summary] == ["carbon-agnostic", "temporal", "spatial"]
    for entry in summary:
        assert entry.keys() >= SUMMARY_KEYS
        assert entry["jobs"] == 3
    assert summary[0]["savings_pct"] == 0.0
    assert summary[2]["co2_kg"] < summary[0]["co2_kg"]  # a moves to FR
    jobs = pd.read_csv(out / "jobs.csv")
    assert list(jobs.columns[:7]) == [
        "job_id",
        "policy",
        "zone",
        "start",
        "end",
        "energy_kwh",
        "co2_g",
    ]
    assert len(jobs) == 9
    assert jobs.groupby("policy")["energy_kwh"].sum().nunique() == 1
    assert (out / "simulation.png").read_bytes()[:4] == b"\x89PNG"
    assert not list(out.glob(".*partial"))
    assert "temporal" in result.output


def test_capacity_and_persistence_options_are_used_and_echoed(
    tmp_path: Path, intensity_file: Path
) -> None:
    out = tmp_path / "out"
    result = CliRunner().invoke(
        app,
        [
            "simulate",
            "--jobs",
            str(_jobs(tmp_path, GOOD_ROWS)),
            "--intensity",
            str(intensity_file),
            "--out",
            str(out),
            "--capacity",
            "DE=4",
            "--capacity",
            "FR=8",
            "--forecast",
            "persistence",
            "--pue",
            "1.5",
            "--watts-per-vcpu",
            "4",
        ],
    )
    assert result.exit_code == 0, result.output
    inputs = json.loads((out / "summary.json").read_text())[0]["inputs"]
    assert inputs["capacity_vcpus"] == {"DE": 4.0, "FR": 8.0}
    assert (inputs["forecast"], inputs["pue"], inputs["watts_per_vcpu"]) == ("persistence", 1.5, 4)


@pytest.mark.parametrize(
    ("row", "want"),
    [
        (
            "x,2022-01-01T05:00:00Z,3600,1,0,2022-01-01T04:00:00Z,DE",
            "jobs.csv:2: field 'deadline': job 'x': deadline is before submit_time",
        ),
        ("x,2022-01-01T05:00:00Z,0,1,0,,DE", "jobs.csv:2: field 'duration_s': job 'x'"),
        ("x,2022-01-01T05:00:00Z,60,-2,0,,DE", "jobs.csv:2: field 'cpus': job 'x'"),
        ("x,2022-01-01T05:00:00,60,1,0,,DE", "field 'submit_time': job 'x': expected an RFC"),
        ("x,2022-01-01T05:00:00Z,60,1,0,,ES", "field 'zone': job 'x': zone ES is not in the"),
        ("x,2021-12-31T05:00:00Z,60,1,0,,DE", "field 'submit_time': job 'x': starts before"),
        ("x,2022-01-02T23:00:00Z,7200,1,0,,DE", "field 'deadline': job 'x': window ends after"),
    ],
)
def test_bad_job_rows_exit_2_naming_file_line_field_and_job(
    tmp_path: Path, intensity_file: Path, capsys: pytest.CaptureFixture[str], row: str, want: str
) -> None:
    header = "job_id,submit_time,duration_s,cpus,memory_gib,deadline,zone"
    jobs = _jobs(tmp_path, [row], header)
    err = _fails(
        capsys,
        [
            "simulate",
            "--jobs",
            str(jobs),
            "--intensity",
            str(intensity_file),
            "--out",
            str(tmp_path / "out"),
        ],
    )
    assert want in err
    assert not (tmp_path / "out" / "summary.json").exists()


def test_on_missing_skip_leaves_out_jobs_without_data_and_reports_them(
    tmp_path: Path, intensity_file: Path
) -> None:
    rows = [*GOOD_ROWS, "far,2022-01-01T05:00:00Z,60,1,0,0,ES,,"]
    out = tmp_path / "out"
    result = CliRunner().invoke(
        app,
        [
            "simulate",
            "--jobs",
            str(_jobs(tmp_path, rows)),
            "--intensity",
            str(intensity_file),
            "--out",
            str(out),
            "--on-missing",
            "skip",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "skipped 1 job(s)" in result.output
    assert json.loads((out / "summary.json").read_text())[0]["jobs"] == 3


@pytest.mark.parametrize(
    ("extra", "want"),
    [
        (["--policy", "greedy"], "unknown policy 'greedy'"),
        (["--capacity", "DE=0"], "field '--capacity'"),
        (["--forecast", "prophet"], "field '--forecast'"),
        (["--resume-overhead", "5"], "field '--resume-overhead'"),
    ],
)
def test_bad_options_exit_2_with_one_line(
    tmp_path: Path,
    intensity_file: Path,
    capsys: pytest.CaptureFixture[str],
    extra: list[str],
    want: str,
) -> None:
    jobs = _jobs(tmp_path, GOOD_ROWS)
    err = _fails(
        capsys,
        [
            "simulate",
            "--jobs",
            str(jobs),
            "--intensity",
            str(intensity_file),
            "--out",
            str(tmp_path / "out"),
            *extra,
        ],
    )
    assert want in err


def test_capacity_smaller_than_a_job_is_an_input_error(
    tmp_path: Path, intensity_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    jobs = _jobs(tmp_path, GOOD_ROWS)
    err = _fails(
        capsys,
        [
            "simulate",
            "--jobs",
            str(jobs),
            "--intensity",
            str(intensity_file),
            "--out",
            str(tmp_path / "out"),
            "--capacity",
            "DE=1",
        ],
    )
    assert "job a: needs 2 vCPUs" in err


def test_a_missing_column_is_reported_on_the_header_line(
    tmp_path: Path, intensity_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    jobs = _jobs(tmp_path, ["a,2022-01-01T01:00:00Z,3600"], "job_id,submit_time,duration_s")
    err = _fails(capsys, ["simulate", "--jobs", str(jobs), "--intensity", str(intensity_file)])
    assert "jobs.csv:1: missing column(s) cpus" in err


def test_latency_risk_and_duration_error_are_used_and_echoed(
    tmp_path: Path, intensity_file: Path
) -> None:
    out = tmp_path / "out"
    result = CliRunner().invoke(
        app,
        [
            "simulate",
            "--jobs",
            str(_jobs(tmp_path, GOOD_ROWS)),
            "--intensity",
            str(intensity_file),
            "--out",
            str(out),
            "--latency-risk",
            "0.25",
            "--duration-error",
            "0.3",
        ],
    )
    assert result.exit_code == 0, result.output
    inputs = json.loads((out / "summary.json").read_text())[0]["inputs"]
    assert (inputs["latency_risk"], inputs["duration_error_sigma"]) == (0.25, 0.3)


@pytest.mark.parametrize(
    ("args", "want"),
    [
        (["--latency-risk", "1.5"], "--latency-risk"),
        (["--latency-risk", "-0.1"], "--latency-risk"),
        (["--duration-error", "-1"], "--duration-error"),
    ],
)
def test_a_bad_margin_or_duration_error_is_one_line_and_exit_2(
    capsys: pytest.CaptureFixture[str], args: list[str], want: str
) -> None:
    message = _fails(capsys, ["simulate", *args])

    assert want in message


DACF_JOBS = [
    "a,2021-08-02T01:00:00Z,7200,2,4,43200,US-CAL-CISO,,false",
    "b,2021-08-03T09:00:00Z,3600,1,2,36000,US-MIDA-PJM,,false",
    "c,2021-08-05T17:00:00Z,10800,4,8,57600,US-CAL-CISO,,false",
]


def test_simulate_plans_on_dacf_day_ahead_forecasts_and_re_plans_hourly(tmp_path, shared_data):
    dacf = shared_data / "dacf-carbon-forecasts-2020-2021"
    out = tmp_path / "out"
    result = CliRunner().invoke(
        app,
        [
            "simulate",
            "--jobs",
            str(_jobs(tmp_path, DACF_JOBS)),
            "--intensity",
            str(dacf / "CISO_direct_emissions.csv.gz"),
            "--intensity",
            str(dacf / "PJM_direct_emissions.csv.gz"),
            "--provider-forecast",
            str(dacf / "CISO_carbon_from_src_prod_forecasts_direct.csv.gz"),
            "--provider-forecast",
            str(dacf / "PJM_carbon_from_src_prod_forecasts_direct.csv.gz"),
            "--forecast",
            "provider",
            "--policy",
            "temporal",
            "--replan-every",
            "1h",
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    (summary,) = json.loads((out / "summary.json").read_text())
    inputs = summary["inputs"]
    assert (inputs["forecast"], inputs["replan_every_s"]) == ("provider", 3600.0)
    assert len(inputs["forecast_files"]) == 2
    assert summary["deadline_misses"] == 0
    assert summary["mean_delay_s"] > 0


@pytest.mark.parametrize(
    ("args", "want"),
    [
        (
            ["--forecast", "provider"],
            "field '--forecast': forecast 'provider' needs the source's own",
        ),
        (["--replan-every", "30m"], "field '--replan-every': expected whole hours"),
        (["--replan-every", "1h", "--capacity", "DE=8"], "not modelled"),
        (["--weather", "{intensity}"], "expected a DACF *_direct_emissions file"),
        (["--provider-forecast", "/nonexistent.csv"], "/nonexistent.csv: file not found"),
        (["--intensity", "{intensity}"], "is also in an earlier --intensity file"),
        (
            ["--provider-forecast", "{intensity}", "--provider-forecast", "{intensity}"],
            "field '--provider-forecast': zone ",
        ),
    ],
)
def test_bad_forecast_inputs_are_one_line_and_exit_2(tmp_path, intensity_file, capsys, args, want):
    argv = [a.replace("{intensity}", str(intensity_file)) for a in args]
    err = _fails(
        capsys,
        [
            "simulate",
            "--jobs",
            str(_jobs(tmp_path, GOOD_ROWS)),
            "--intensity",
            str(intensity_file),
            "--out",
            str(tmp_path / "out"),
            *argv,
        ],
    )
    assert want in err
