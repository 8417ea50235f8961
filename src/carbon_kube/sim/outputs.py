"""Read a finished simulation's ``--out`` folder back: ``summary.json`` and ``jobs.csv``.

Used by ``carbon-kube report`` and the savings notebook, which only ever look at results, so a
folder from any version of ``simulate`` that honours the README's contract works.
Anything missing or malformed is an ``InputError`` naming the file (and line or field) and how
to get a good folder; nothing is guessed.
"""

from __future__ import annotations

import io
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from carbon_kube.domain.errors import InputError
from carbon_kube.sim.report import JOBS_FILE, SUMMARY_FILE
from carbon_kube.storage.reading import check_row_widths, read_user_text

BASELINE_POLICY = "carbon-agnostic"
SUMMARY_FIELDS = (
    "policy",
    "jobs",
    "energy_kwh",
    "co2_kg",
    "baseline_co2_kg",
    "savings_pct",
    "deadline_misses",
    "mean_delay_s",
    "p95_delay_s",
)
JOB_COLUMNS = ("job_id", "policy", "zone", "start", "end", "energy_kwh", "co2_g")
_HOW_TO_FIX = "run `carbon-kube simulate --out DIR` to produce one"


@dataclass(frozen=True, slots=True)
class SimulationOutputs:
    """One simulation's results: a summary per policy and a row per (job, policy).

    ``jobs`` has ``start`` and ``end`` as tz-aware UTC timestamps.
    """

    directory: Path
    summaries: list[dict[str, Any]]
    jobs: pd.DataFrame

    @property
    def policies(self) -> list[str]:
        return [str(s["policy"]) for s in self.summaries]


def read_outputs(directory: Path) -> SimulationOutputs:
    """Both files of ``directory``, checked against the contract."""
    if not directory.is_dir():
        raise InputError(f"no such folder; {_HOW_TO_FIX}", source=directory)
    summaries = _read_summaries(directory / SUMMARY_FILE)
    jobs = _read_jobs(directory / JOBS_FILE)
    unknown = sorted(set(jobs["policy"]) - {str(s["policy"]) for s in summaries})
    if unknown:
        raise InputError(
            f"policies {unknown} have jobs but no summary; were the files written by two runs?",
            source=directory / JOBS_FILE,
        )
    return SimulationOutputs(directory, summaries, jobs)


def best_policy(summaries: Sequence[dict[str, Any]]) -> str | None:
    """The carbon-aware policy with the largest saving (ties: the first); None if there is none.

    Only policies without deadline misses qualify when any policy has none: a saving bought
    with missed deadlines is not the one to show first.
    """
    candidates = [s for s in summaries if s["policy"] != BASELINE_POLICY]
    on_time = [s for s in candidates if int(s["deadline_misses"]) == 0]
    pool = on_time or candidates
    if not pool:
        return None
    return str(max(pool, key=lambda s: float(s["savings_pct"]))["policy"])


def _read_summaries(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        raise InputError(f"missing; {_HOW_TO_FIX}", source=path)
    try:
        data = json.loads(read_user_text(path))
    except json.JSONDecodeError as error:
        raise InputError(f"not valid JSON: {error.msg}", source=path, line=error.lineno) from None
    if not isinstance(data, list) or not data:
        raise InputError("expected a non-empty JSON list with one object per policy", source=path)
    for index, entry in enumerate(data):
        if not isinstance(entry, dict):
            raise InputError(f"entry {index} is not an object", source=path)
        missing = [name for name in SUMMARY_FIELDS if name not in entry]
        if missing:
            raise InputError(
                f"entry {index} ({entry.get('policy', '?')}) lacks {', '.join(missing)}",
                source=path,
            )
        for name in SUMMARY_FIELDS[1:]:
            if not isinstance(entry[name], int | float) or isinstance(entry[name], bool):
                raise InputError(
                    f"entry {index} ({entry['policy']}): expected a number, got {entry[name]!r}",
                    source=path,
                    field=name,
                )
    names = [str(entry["policy"]) for entry in data]
    if len(set(names)) != len(names):
        raise InputError(f"a policy appears twice: {names}", source=path)
    return data


def _read_jobs(path: Path) -> pd.DataFrame:
    if not path.is_file():
        raise InputError(f"missing; {_HOW_TO_FIX}", source=path)
    text = read_user_text(path)
    check_row_widths(text, path)
    try:
        jobs = pd.read_csv(io.StringIO(text), dtype={"job_id": str, "policy": str, "zone": str})
    except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError) as error:
        raise InputError(f"not a readable CSV: {error}", source=path) from None
    missing = [name for name in JOB_COLUMNS if name not in jobs.columns]
    if missing:
        raise InputError(
            f"lacks column(s) {', '.join(missing)}; expected {','.join(JOB_COLUMNS)}",
            source=path,
        )
    for column in ("start", "end"):
        parsed = pd.to_datetime(jobs[column], utc=True, errors="coerce", format="ISO8601")
        _refuse_bad_rows(path, column, parsed.isna(), "an RFC 3339 UTC time")
        jobs[column] = parsed
    for column in ("energy_kwh", "co2_g"):
        numbers = pd.to_numeric(jobs[column], errors="coerce")
        _refuse_bad_rows(path, column, numbers.isna() | (numbers < 0), "a number >= 0")
        jobs[column] = numbers.astype(float)
    _refuse_bad_rows(path, "end", jobs["end"] < jobs["start"], "a time at or after start")
    return jobs


def _refuse_bad_rows(path: Path, column: str, bad: pd.Series, expected: str) -> None:
    if bool(bad.any()):
        row = int(bad.to_numpy().argmax())
        # +2: the header is line 1 and rows count from 0.
        raise InputError(f"expected {expected}", source=path, line=row + 2, field=column)
