"""Summaries and output files of a simulation: ``summary.json``, ``jobs.csv`` and a table.

The field names follow the README's contract; extra fields (savings by lever, overheads, the
inputs used) are added after them. Files are written atomically (``storage.atomic``): each goes
to a hidden ``.partial`` name first and all are renamed only when every one is complete.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from rich import box
from rich.table import Table

from carbon_kube.domain.arrays import FloatArray
from carbon_kube.domain.instants import format_rfc3339_epoch_s
from carbon_kube.domain.plans import REPORTED_LEVERS, Lever
from carbon_kube.policy.schedules import LEVER_ORDER, Reason, reason_text
from carbon_kube.sim.engine import PolicyOutcome, SimulationResult
from carbon_kube.storage.atomic import write_files_atomically

SUMMARY_FILE = "summary.json"
JOBS_FILE = "jobs.csv"


def savings_by_lever_kg(outcome: PolicyOutcome, saved_g: FloatArray) -> dict[str, float]:
    """The policy's saving split by lever; the levers sum to the whole saving.

    Each job's saving goes to the lever of its start and zone, less what pausing saved it,
    which is the ``pause`` lever's.
    """
    by_start = saved_g - outcome.pause_saved_g
    split: dict[str, float] = {
        str(lever): float(by_start[outcome.lever == code].sum()) / 1000.0
        for code, lever in enumerate(LEVER_ORDER)
        if lever is not Lever.NONE
    }
    split[str(Lever.PAUSE)] = float(outcome.pause_saved_g.sum()) / 1000.0
    return {str(lever): split[str(lever)] for lever in REPORTED_LEVERS}


def summarise(
    result: SimulationResult, inputs: Mapping[str, Any] | None = None
) -> list[dict[str, Any]]:
    """One dict per requested policy, contract fields first."""
    baseline_g = result.baseline.co2_g
    baseline_kg = float(baseline_g.sum()) / 1000.0
    settings = result.settings
    used = {
        "forecast": settings.forecast,
        "forecast_quantile": settings.forecast_quantile,
        "watts_per_vcpu": settings.power.watts_per_vcpu,
        "memory_watts_per_gib": settings.power.watts_per_gib,
        "pue": settings.power.pue,
        "threshold_g_per_kwh": settings.threshold_g_per_kwh,
        "resume_overhead_s": settings.resume_overhead.total_seconds(),
        "pauses": settings.pauses,
        "latency_risk": settings.latency_risk,
        "duration_error_sigma": settings.duration_error_sigma,
        "replan_every_s": (
            settings.replan_every.total_seconds() if settings.replan_every is not None else None
        ),
        "capacity_vcpus": dict(settings.capacity.vcpus_by_zone) if settings.capacity else {},
        **(inputs or {}),
    }
    summaries = []
    for name, outcome in result.outcomes.items():
        co2_kg = float(outcome.co2_g.sum()) / 1000.0
        saved_g = baseline_g - outcome.co2_g
        delays = outcome.delay_s
        summaries.append(
            {
                "policy": name,
                "jobs": len(result.jobs),
                "energy_kwh": float(outcome.energy_kwh.sum()),
                "co2_kg": co2_kg,
                "baseline_co2_kg": baseline_kg,
                "savings_pct": 100.0 * (baseline_kg - co2_kg) / baseline_kg if baseline_kg else 0.0,
                "deadline_misses": int(outcome.deadline_missed.sum()),
                "mean_delay_s": float(delays.mean()) if delays.size else 0.0,
                "p95_delay_s": float(np.percentile(delays, 95)) if delays.size else 0.0,
                "savings_by_lever_kg": savings_by_lever_kg(outcome, saved_g),
                "infeasible_jobs": int(result.jobs.infeasible.sum()),
                "split_jobs": int(outcome.schedule.split_rows.size),
                "overhead_energy_kwh": float(
                    (
                        outcome.power_w / 1000.0 * (outcome.schedule.run_s - result.jobs.duration_s)
                    ).sum()
                    / 3600.0
                ),
                "capacity_moved_jobs": int(
                    np.isin(
                        outcome.schedule.reason, [Reason.CAPACITY_MOVED, Reason.CAPACITY_LATE]
                    ).sum()
                ),
                "plan_seconds": outcome.seconds,
                "inputs": used,
            }
        )
    return summaries


def jobs_frames(result: SimulationResult) -> Iterator[pd.DataFrame]:
    """Per job, one policy at a time: the contract columns, then delay, lever, flags, segments.

    One frame per policy, so the writer never holds every policy's rows at once.
    """
    for outcome in result.outcomes.values():
        yield _policy_frame(result, outcome)


def _policy_frame(result: SimulationResult, outcome: PolicyOutcome) -> pd.DataFrame:
    jobs = result.jobs
    schedule = outcome.schedule
    zones = np.array(jobs.zones, dtype=object)[schedule.zone_index]
    segments = np.ones(len(jobs), dtype=np.int64)
    if schedule.split_rows.size:
        segments += np.bincount(schedule.segment_rows, minlength=len(jobs)) - (
            np.bincount(schedule.segment_rows, minlength=len(jobs)) > 0
        )
    return pd.DataFrame(
        {
            "job_id": jobs.job_ids,
            "policy": outcome.policy,
            "zone": zones,
            "start": format_rfc3339_epoch_s(schedule.start_s),
            "end": format_rfc3339_epoch_s(schedule.end_s),
            "energy_kwh": outcome.energy_kwh,
            "co2_g": outcome.co2_g,
            "delay_s": outcome.delay_s,
            "lever": np.array([str(lever) for lever in LEVER_ORDER], dtype=object)[outcome.lever],
            "deadline_missed": outcome.deadline_missed,
            "infeasible": jobs.infeasible,
            "segments": segments,
            "reason": np.array(
                [reason_text(r, result.settings.forecast) for r in Reason], dtype=object
            )[schedule.reason],
        }
    )


# Files other commands derive from a run's outputs (``carbon-kube report``): stale after a rerun.
DERIVED_FILES = ("report.html", "report.md", "report-chart-*.png")


def write_jobs_csv(frames: Iterable[pd.DataFrame], path: Path) -> None:
    """The frames, appended under one header, through Arrow's CSV writer.

    pandas' ``to_csv`` formats ~0.2 M rows/s, Arrow's ~2 M: a million-job run writes five
    million rows. Floats are rounded to a millionth (kWh, g, s) first; strings are quoted.
    """
    import pyarrow as pa
    import pyarrow.csv as pa_csv

    with path.open("wb") as stream:
        for index, frame in enumerate(frames):
            rounded = frame.round(dict.fromkeys(_ROUNDED_COLUMNS, 6))
            pa_csv.write_csv(
                pa.Table.from_pandas(rounded, preserve_index=False),
                stream,
                pa_csv.WriteOptions(include_header=index == 0, quoting_style="needed"),
            )


_ROUNDED_COLUMNS = ("energy_kwh", "co2_g", "delay_s")


def write_outputs(
    out_dir: Path,
    summaries: Sequence[Mapping[str, Any]],
    jobs: Iterable[pd.DataFrame] | None,
    extra: Mapping[str, bytes] | None = None,
) -> list[Path]:
    """Write ``summary.json``, ``jobs.csv`` (and ``extra`` files) atomically into ``out_dir``.

    Files of an earlier run that this one does not replace (a ``jobs.csv`` when ``jobs`` is
    None, a report rendered from the old results) are removed: a folder never mixes two runs.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    summary_text = json.dumps(list(summaries), indent=2) + "\n"
    files: dict[Path, Callable[[Path], object]] = {
        out_dir / SUMMARY_FILE: lambda temp: temp.write_text(summary_text, encoding="utf-8"),
    }
    if jobs is not None:
        files[out_dir / JOBS_FILE] = partial(write_jobs_csv, jobs)
    for name, content in (extra or {}).items():
        files[out_dir / name] = partial(Path.write_bytes, data=content)
    write_files_atomically(files)
    stale = [out_dir / JOBS_FILE] if jobs is None else []
    stale += [path for pattern in DERIVED_FILES for path in out_dir.glob(pattern)]
    for path in stale:
        path.unlink(missing_ok=True)
    return list(files)


def summary_table(summaries: Sequence[Mapping[str, Any]], title: str) -> Table:
    """A rich table, one row per policy, that fits an 80-column terminal.

    Energy is the same under every policy, so it goes in the caption; p95 delay and split
    jobs are in ``summary.json`` and ``jobs.csv``. A ninth column does not fit 80, so the
    ``pause`` lever (interruptible work paused between segments) is a caption line, shown when
    some policy paused work.
    """
    energy_kwh = summaries[0]["energy_kwh"] if summaries else 0.0
    caption = f"energy {energy_kwh:,.0f} kWh under every policy; saved kg CO2eq by lever"
    paused = {
        str(s["policy"]): float(s["savings_by_lever_kg"].get("pause", 0.0))
        for s in summaries
        if s["savings_by_lever_kg"].get("pause", 0.0) != 0.0
    }
    if paused:
        by_policy = ", ".join(f"{policy} {kg:,.1f}" for policy, kg in paused.items())
        caption += f"\nand by pausing (kg, beside the columns): {by_policy}"
    table = Table(title=title, caption=caption, box=box.SIMPLE_HEAD)
    table.add_column("policy", no_wrap=True)
    for column in ("kg CO2", "saved %", "time kg", "region kg", "both kg", "misses", "delay h"):
        table.add_column(column, justify="right")
    for s in summaries:
        by_lever = s["savings_by_lever_kg"]
        table.add_row(
            str(s["policy"]),
            f"{s['co2_kg']:,.1f}",
            f"{s['savings_pct']:.2f}",
            f"{by_lever['time']:,.1f}",
            f"{by_lever['region']:,.1f}",
            f"{by_lever['time+region']:,.1f}",
            f"{s['deadline_misses']:,}",
            f"{s['mean_delay_s'] / 3600:.2f}",
        )
    return table
