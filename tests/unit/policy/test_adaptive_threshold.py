"""The adaptive threshold learner: choices from a replay buffer, and the walk-forward replay."""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest

from carbon_kube.domain.zones import Zone
from carbon_kube.policy.adaptive_threshold import (
    DEFAULT_PERCENTILES,
    AdaptiveThresholdArgs,
    ReplayBuffer,
    candidate_thresholds,
    choose_threshold,
)
from carbon_kube.policy.forecasts import OracleForecast
from carbon_kube.policy.grids import IntensityGrid
from carbon_kube.policy.jobs import JobTable
from carbon_kube.providers.files import read_intensity_file
from carbon_kube.sim.adaptive import WalkForwardSettings, walk_forward
from carbon_kube.sim.generator import generate_job_table
from carbon_kube.sim.job_trace import to_policy_jobs
from tests.builders import HOUR, T0, a_job, make_jobs, make_truth

DAYS = 10


def daily(base: float, amplitude: float, days: int = DAYS) -> list[float]:
    return [base + amplitude * float(np.sin(2 * np.pi * h / 24)) for h in range(24 * days)]


def hourly_jobs(truth: IntensityGrid, count: int, slack_h: int = 12) -> JobTable:
    builders = [
        a_job(f"j{i}")
        .in_zone(truth.grid.zones[0])
        .submitted(T0 + (24 + i) * HOUR)
        .lasting(HOUR)
        .due(T0 + (24 + i + 1 + slack_h) * HOUR)
        for i in range(count)
    ]
    return make_jobs(truth, *builders)


def buffer_of(
    truth: IntensityGrid, jobs: JobTable, actual_s: np.ndarray | None = None
) -> ReplayBuffer:
    return ReplayBuffer(
        truth=truth,
        forecast=OracleForecast(truth),
        zone_index=0,
        jobs=jobs,
        power_kw=np.full(len(jobs), 0.01),
        actual_duration_s=jobs.duration_s.copy() if actual_s is None else actual_s,
        observed_from_s=float(truth.grid.origin_s),
        observed_to_s=float(truth.grid.end_s),
    )


def test_in_a_zone_always_above_the_default_the_learner_picks_a_lower_emission_threshold() -> None:
    truth = make_truth({"PL": daily(650.0, 100.0)})
    buffer = buffer_of(truth, hourly_jobs(truth, 120))

    choice = choose_threshold(buffer, AdaptiveThresholdArgs())

    assert choice.threshold_g_per_kwh > 200.0
    assert choice.beats_default
    assert choice.chosen is not None
    assert choice.default is not None
    assert choice.chosen.co2_g < choice.default.co2_g


def test_in_a_zone_always_below_the_default_the_learner_holds_work_for_the_low_hours() -> None:
    truth = make_truth({"FR": daily(60.0, 30.0)})
    buffer = buffer_of(truth, hourly_jobs(truth, 120))

    choice = choose_threshold(buffer, AdaptiveThresholdArgs())

    assert choice.threshold_g_per_kwh < 60.0
    assert choice.beats_default
    assert choice.default is not None
    assert choice.default.mean_delay_s == 0.0


def test_the_default_stands_when_nothing_beats_it() -> None:
    truth = make_truth({"DE": [300.0] * (24 * DAYS)})
    buffer = buffer_of(truth, hourly_jobs(truth, 50))

    choice = choose_threshold(buffer, AdaptiveThresholdArgs(default_threshold_g_per_kwh=200.0))

    assert choice.threshold_g_per_kwh == 200.0
    assert not choice.beats_default


def test_an_empty_buffer_keeps_the_default_threshold_and_margin() -> None:
    truth = make_truth({"DE": daily(300.0, 100.0)})
    empty = hourly_jobs(truth, 1).take(np.array([], dtype=np.int64))

    choice = choose_threshold(
        buffer_of(truth, empty),
        AdaptiveThresholdArgs(default_threshold_g_per_kwh=180.0, default_latency_risk=0.1),
    )

    assert (choice.threshold_g_per_kwh, choice.latency_risk) == (180.0, 0.1)
    assert choice.chosen is None


def test_candidate_thresholds_come_only_from_intensity_observed_in_the_buffer_span() -> None:
    # Two days at 100-140 g/kWh observed, then a future at 900: no candidate may come from it.
    truth = make_truth({"DE": [100.0 + h for h in range(48)] + [900.0] * 48})
    buffer = dataclasses.replace(
        buffer_of(truth, hourly_jobs(truth, 5)),
        observed_to_s=float(truth.grid.origin_s + 48 * 3600),
    )

    found = candidate_thresholds(buffer, AdaptiveThresholdArgs())

    assert found[0] == 200.0
    assert all(100.0 <= v <= 147.0 for v in found[1:])
    assert len(found) == 1 + len(DEFAULT_PERCENTILES)


def test_the_same_buffer_always_gives_the_same_choice() -> None:
    truth = make_truth({"DE": daily(300.0, 120.0)})
    buffer = buffer_of(truth, hourly_jobs(truth, 150))
    args = AdaptiveThresholdArgs(latency_risks=(0.0, 0.25))

    first = choose_threshold(buffer, args)
    second = choose_threshold(buffer, args)

    assert first == second


def test_with_overruns_the_learner_picks_a_margin_that_keeps_misses_within_the_sla() -> None:
    truth = make_truth({"DE": daily(300.0, 120.0)})
    jobs = hourly_jobs(truth, 150)
    overrun = jobs.duration_s * 1.4
    args = AdaptiveThresholdArgs(latency_risks=(0.0, 0.5), max_extra_miss_rate=0.0)

    choice = choose_threshold(buffer_of(truth, jobs, overrun), args)

    assert choice.chosen is not None
    assert choice.chosen.deadline_misses <= choice.baseline_misses
    assert choice.latency_risk == 0.5
    assert any(s.latency_risk == 0.0 and s.deadline_misses > 0 for s in choice.scores)


@pytest.mark.parametrize(
    ("bad", "want_message"),
    [
        ({"percentiles": (101.0,)}, "percentiles"),
        ({"latency_risks": ()}, "latency risk"),
        ({"latency_risks": (1.5,)}, "latency risk"),
        ({"max_extra_miss_rate": -0.1}, "max_extra_miss_rate"),
        ({"default_threshold_g_per_kwh": -1.0}, "threshold"),
    ],
)
def test_invalid_learner_arguments_are_refused(bad: dict[str, object], want_message: str) -> None:
    with pytest.raises(ValueError, match=want_message):
        AdaptiveThresholdArgs(**bad)  # type: ignore[arg-type]


def test_walk_forward_beats_the_fixed_threshold_on_held_out_weeks_of_an_all_above_zone() -> None:
    days = 42
    truth = make_truth({"PL": daily(650.0, 100.0, days)})
    builders = [
        a_job(f"j{i}")
        .in_zone("PL")
        .submitted(T0 + (2 * i + 1) * HOUR)
        .lasting(HOUR)
        .due(T0 + (2 * i + 14) * HOUR)
        for i in range((days - 2) * 12)
    ]
    jobs = make_jobs(truth, *builders)
    power_w = np.full(len(jobs), 10.0)

    result = walk_forward(jobs, truth, power_w, jobs.duration_s.copy(), WalkForwardSettings())

    warm_up_end_s = truth.grid.origin_s + timedelta(days=14).total_seconds()
    assert result.held_out_jobs == int(np.count_nonzero(jobs.submit_s >= warm_up_end_s))
    assert len(result.choices) == 4
    assert result.adaptive.co2_g < result.fixed.co2_g
    assert result.adaptive.deadline_misses == 0


def test_on_real_french_data_the_fixed_threshold_never_holds_and_the_learner_does(
    shared_data: Path,
) -> None:
    path = shared_data / "electricitymaps-hourly" / "FR_2022_hourly.csv.gz"
    series = read_intensity_file(path)[Zone("FR")]
    truth = IntensityGrid({Zone("FR"): series})
    table = generate_job_table(
        1500, series.start, [Zone("FR")], 7, model="pai", span=timedelta(days=90)
    )
    jobs = to_policy_jobs(table, truth.grid.zones)
    power_w = jobs.cpus * 10.0
    settings = WalkForwardSettings(forecast="persistence")

    result = walk_forward(jobs, truth, power_w, jobs.duration_s.copy(), settings)

    assert series.values_g_per_kwh.max() < 200.0
    assert result.fixed.mean_delay_s == 0.0
    assert result.fixed.co2_g == pytest.approx(result.baseline.co2_g)
    assert all(c.threshold_g_per_kwh < 200.0 for c in result.choices if c.chosen is not None)
    assert result.adaptive.co2_g < result.fixed.co2_g
    assert result.adaptive.deadline_misses == 0
