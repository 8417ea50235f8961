from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from carbon_kube.domain.intensity import to_epoch_s
from carbon_kube.domain.zones import Zone
from carbon_kube.sim.generator import generate_job_table, generate_workloads
from carbon_kube.sim.traces import parse_slack
from carbon_kube.sim.workload_model import (
    HOURS_PER_WEEK,
    fit_workload_model,
    load_workload_models,
)

START = datetime(2022, 1, 3, tzinfo=UTC)
ZONES = [Zone("DE"), Zone("FR")]
TRACE_FILES = {"pai": "pai-100k.csv.gz", "azure": "azure-100k.csv.gz"}


def test_same_seed_gives_identical_jobs_and_another_seed_does_not() -> None:
    first = generate_job_table(2_000, START, ZONES, seed=7, interruptible_fraction=0.3)
    again = generate_job_table(2_000, START, ZONES, seed=7, interruptible_fraction=0.3)
    other = generate_job_table(2_000, START, ZONES, seed=8, interruptible_fraction=0.3)
    for column in ("submit_s", "duration_s", "cpus", "deadline_s", "interruptible"):
        assert np.array_equal(getattr(first, column), getattr(again, column))
    assert first.zone == again.zone
    assert not np.array_equal(first.duration_s, other.duration_s)


def test_generated_jobs_are_sorted_inside_the_span_with_gaia_deadlines() -> None:
    span = timedelta(days=3)
    table = generate_job_table(5_000, START, ZONES, seed=1, span=span)
    offsets = table.submit_s - to_epoch_s(START)
    assert np.all(np.diff(offsets) >= 0)
    assert offsets.min() >= 0
    assert offsets.max() < span.total_seconds()
    assert table.deadline_s is not None
    waits = table.deadline_s - table.submit_s - table.duration_s
    short = table.duration_s < 2 * 3600
    assert np.all(waits[short] == 6 * 3600)
    assert np.all(waits[~short] == 24 * 3600)


def test_default_span_matches_the_trace_arrival_rate() -> None:
    model = load_workload_models()["pai"]
    table = generate_job_table(1_000, START, ZONES, seed=3)
    span_h = (table.submit_s.max() - table.submit_s.min()) / 3600
    assert span_h == pytest.approx(1_000 / model.rate_jobs_per_h, rel=0.02)


def test_workloads_carry_zones_migration_memory_and_other_slack_rules() -> None:
    workloads = generate_workloads(
        200, START, ZONES, seed=5, allow_migration=True, slack=parse_slack("2x")
    )
    assert {w.home_zone for w in workloads} == set(ZONES)
    assert all(set(w.candidate_zones) == set(ZONES) for w in workloads)
    assert all(w.memory_gib == pytest.approx(4.0 * w.cpus) for w in workloads)
    assert all(w.slack == 2 * w.expected_duration for w in workloads)


def test_zero_jobs_is_an_empty_table() -> None:
    assert len(generate_job_table(0, START, ZONES, seed=0)) == 0


def test_unknown_model_name_lists_the_shipped_ones() -> None:
    with pytest.raises(ValueError, match="azure, pai"):
        generate_job_table(10, START, ZONES, seed=0, model="google")


def test_arrivals_follow_the_hour_of_week_profile() -> None:
    model = load_workload_models()["azure"]
    weeks = 40
    table = generate_job_table(
        200_000, START, ZONES, seed=11, model="azure", span=timedelta(weeks=weeks)
    )
    hour_of_week = ((table.submit_s - to_epoch_s(START)) // 3600) % HOURS_PER_WEEK
    observed = np.bincount(hour_of_week, minlength=HOURS_PER_WEEK) / len(table)
    expected = np.asarray(model.hour_of_week_profile) / np.sum(model.hour_of_week_profile)
    # ~1,200 arrivals per bin: relative sampling noise about 3 %, so 12 % is four sigma.
    assert np.max(np.abs(observed / expected - 1)) < 0.12


@pytest.mark.shared_data
@pytest.mark.parametrize("name", ["pai", "azure"])
def test_generated_durations_and_cpus_match_the_real_trace_within_tolerance(
    shared_data: Path, name: str
) -> None:
    trace = pd.read_csv(shared_data / "gaia-job-traces" / TRACE_FILES[name])
    real_s = trace["length"].to_numpy(float) * 3600
    table = generate_job_table(100_000, START, ZONES, seed=2024, model=name)
    for q in (0.1, 0.25, 0.5, 0.75, 0.9, 0.95):
        assert np.quantile(table.duration_s, q) == pytest.approx(np.quantile(real_s, q), rel=0.05)
    assert np.quantile(table.duration_s, 0.99) == pytest.approx(np.quantile(real_s, 0.99), rel=0.10)
    assert stats.ks_2samp(real_s, table.duration_s).statistic < 0.02
    values, counts = np.unique(trace["cpus"].to_numpy(float), return_counts=True)
    generated_share = np.array([(table.cpus == v).mean() for v in values])
    assert np.max(np.abs(generated_share - counts / counts.sum())) < 0.01


@pytest.mark.shared_data
@pytest.mark.parametrize("name", ["pai", "azure"])
def test_shipped_model_equals_a_fresh_fit_of_the_real_trace(shared_data: Path, name: str) -> None:
    trace = pd.read_csv(shared_data / "gaia-job-traces" / TRACE_FILES[name])
    fresh = fit_workload_model(
        name,
        "fresh",
        trace["arrival_time"].to_numpy(float),
        trace["length"].to_numpy(float),
        trace["cpus"].to_numpy(float),
    )
    shipped = load_workload_models()[name]
    assert shipped.jobs == fresh.jobs
    assert shipped.rate_jobs_per_h == pytest.approx(fresh.rate_jobs_per_h, rel=1e-5)
    assert shipped.duration_step_s == fresh.duration_step_s
    np.testing.assert_allclose(shipped.duration_quantiles_s, fresh.duration_quantiles_s, rtol=1e-5)
    np.testing.assert_allclose(shipped.hour_of_week_profile, fresh.hour_of_week_profile, atol=1e-4)
    np.testing.assert_allclose(shipped.cpu_probabilities, fresh.cpu_probabilities, atol=1e-7)
