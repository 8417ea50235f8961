"""Reading a simulate --out folder back, and the per-zone emission timelines drawn from it."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from carbon_kube.domain.errors import InputError
from carbon_kube.sim.outputs import best_policy, read_outputs
from carbon_kube.sim.timelines import choose_step, zone_emissions_kg
from tests.builders import write_simulation_outputs

HOUR = timedelta(hours=1)
DAY = timedelta(days=1)


def job(
    job_id: str, policy: str, zone: str, start: str, end: str, co2_g: float
) -> dict[str, object]:
    return {
        "job_id": job_id,
        "policy": policy,
        "zone": zone,
        "start": start,
        "end": end,
        "energy_kwh": 1.0,
        "co2_g": co2_g,
    }


@pytest.fixture
def sim_dir(tmp_path: Path) -> Path:
    return write_simulation_outputs(
        tmp_path / "sim",
        [
            job("a", "carbon-agnostic", "DE", "2020-01-01T00:30:00Z", "2020-01-01T01:30:00Z", 2000),
            job("b", "carbon-agnostic", "FR", "2020-01-01T02:00:00Z", "2020-01-01T03:00:00Z", 500),
            job("a", "temporal", "FR", "2020-01-01T05:00:00Z", "2020-01-01T06:00:00Z", 100),
            job("b", "temporal", "FR", "2020-01-01T02:00:00Z", "2020-01-01T03:00:00Z", 500),
        ],
    )


def test_a_job_spanning_two_bins_is_split_by_its_time_in_each(sim_dir: Path) -> None:
    jobs = read_outputs(sim_dir).jobs
    frame = zone_emissions_kg(jobs, "carbon-agnostic", HOUR)
    assert frame.loc[pd.Timestamp("2020-01-01T00:00Z"), "DE"] == pytest.approx(1.0)
    assert frame.loc[pd.Timestamp("2020-01-01T01:00Z"), "DE"] == pytest.approx(1.0)
    assert frame.loc[pd.Timestamp("2020-01-01T02:00Z"), "FR"] == pytest.approx(0.5)
    assert frame["DE"].sum() == pytest.approx(2.0)


def test_timelines_of_two_policies_share_bins_and_only_show_zones_each_used(
    sim_dir: Path,
) -> None:
    jobs = read_outputs(sim_dir).jobs
    before = zone_emissions_kg(jobs, "carbon-agnostic", HOUR)
    after = zone_emissions_kg(jobs, "temporal", HOUR)
    assert before.index.equals(after.index)
    assert list(before.columns) == ["DE", "FR"]
    assert list(after.columns) == ["FR"]
    assert after["FR"].sum() == pytest.approx(0.6)


def test_timelines_keep_every_gram_of_the_default_simulation(default_simulation: Path) -> None:
    jobs = read_outputs(default_simulation).jobs
    for policy in ("carbon-agnostic", "spatiotemporal"):
        frame = zone_emissions_kg(jobs, policy, DAY)
        want_kg = jobs[jobs.policy == policy].groupby("zone").co2_g.sum() / 1000
        for zone, want in want_kg.items():
            assert frame[zone].sum() == pytest.approx(want, rel=1e-9, abs=1e-12)
        assert (frame.to_numpy() >= -1e-12).all()


def test_step_is_hourly_for_a_short_run_and_daily_for_a_long_one(
    sim_dir: Path, default_simulation: Path
) -> None:
    assert choose_step(read_outputs(sim_dir).jobs) == HOUR
    assert choose_step(read_outputs(default_simulation).jobs) == DAY


def test_best_policy_skips_the_baseline_and_policies_that_miss_deadlines() -> None:
    summaries = [
        {"policy": "carbon-agnostic", "savings_pct": 0.0, "deadline_misses": 0},
        {"policy": "spatial", "savings_pct": 80.0, "deadline_misses": 3},
        {"policy": "temporal", "savings_pct": 10.0, "deadline_misses": 0},
    ]
    assert best_policy(summaries) == "temporal"
    assert best_policy(summaries[:2]) == "spatial"
    assert best_policy(summaries[:1]) is None


def test_a_missing_folder_says_how_to_make_one(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="carbon-kube simulate --out"):
        read_outputs(tmp_path / "nowhere")


def test_a_summary_without_a_contract_field_is_refused_naming_it(sim_dir: Path) -> None:
    path = sim_dir / "summary.json"
    data = json.loads(path.read_text())
    del data[1]["co2_kg"]
    path.write_text(json.dumps(data))
    with pytest.raises(InputError, match=r"entry 1 \(temporal\) lacks co2_kg"):
        read_outputs(sim_dir)


def test_a_summary_that_is_not_json_is_refused_with_its_line(sim_dir: Path) -> None:
    (sim_dir / "summary.json").write_text("[\n{\n")
    with pytest.raises(InputError) as error:
        read_outputs(sim_dir)
    assert error.value.line is not None


def test_a_bad_start_time_is_refused_with_its_csv_line(sim_dir: Path) -> None:
    path = sim_dir / "jobs.csv"
    lines = path.read_text().splitlines()
    lines[3] = lines[3].replace("2020-01-01T05:00:00Z", "yesterday")
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(InputError) as error:
        read_outputs(sim_dir)
    assert (error.value.line, error.value.field) == (4, "start")


def test_jobs_of_a_policy_without_summary_are_refused(sim_dir: Path) -> None:
    path = sim_dir / "summary.json"
    path.write_text(json.dumps(json.loads(path.read_text())[:1]))
    with pytest.raises(InputError, match="no summary"):
        read_outputs(sim_dir)


def test_jobs_csv_without_co2_column_is_refused(sim_dir: Path) -> None:
    path = sim_dir / "jobs.csv"
    frame = pd.read_csv(path).drop(columns=["co2_g"])
    frame.to_csv(path, index=False)
    with pytest.raises(InputError, match="co2_g"):
        read_outputs(sim_dir)


def test_zero_length_rows_count_at_their_start() -> None:
    jobs = pd.DataFrame(
        {
            "policy": ["p"],
            "zone": ["DE"],
            "start": [pd.Timestamp("2020-01-01T03:00Z")],
            "end": [pd.Timestamp("2020-01-01T03:00Z")],
            "co2_g": [1000.0],
        }
    )
    frame = zone_emissions_kg(jobs, "p", HOUR)
    assert frame.loc[pd.Timestamp("2020-01-01T03:00Z"), "DE"] == pytest.approx(1.0)
    assert np.isclose(frame["DE"].sum(), 1.0)
