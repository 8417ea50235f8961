"""The embedded default run: what ``carbon-kube simulate`` does with no arguments.

Real carbon data (the embedded ENTSO-E 2020 series) and synthetic jobs from the workload model
fitted to GAIA's Alibaba-PAI trace, spread over eight European grid zones that host cloud
regions. Jobs may move between those zones (a multi-region fleet), so the spatial policies
have something to choose from; the carbon-agnostic baseline runs each job in its home zone.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from carbon_kube.domain.intensity import IntensitySeries
from carbon_kube.domain.workloads import Workload
from carbon_kube.domain.zones import Zone
from carbon_kube.providers.embedded import load_embedded_series
from carbon_kube.sim.engine import SimulationSettings
from carbon_kube.sim.generator import generate_workloads
from carbon_kube.sim.runs import RunOutput, run_default

DEFAULT_ZONES: tuple[Zone, ...] = tuple(
    Zone(z) for z in ("DE", "FR", "GB", "ES", "IT", "PL", "AT", "DK")
)
DEFAULT_JOB_COUNT = 20_000
DEFAULT_SEED = 2020
# Generated submits stop this long before the data ends, so that every job's window (GAIA's
# waiting limit of at most 24 h plus the trace's long tail of durations) lies inside the data.
_TAIL_MARGIN = timedelta(days=14)


@dataclass(frozen=True, slots=True)
class DefaultWorkload:
    """The generated jobs, and how many were left out because their window passed the data."""

    workloads: list[Workload]
    left_out: int


def default_workloads(
    series_by_zone: Mapping[Zone, IntensitySeries],
    *,
    n_jobs: int = DEFAULT_JOB_COUNT,
    seed: int = DEFAULT_SEED,
    zones: Sequence[Zone] = DEFAULT_ZONES,
) -> DefaultWorkload:
    """Seeded jobs over the embedded year, homed evenly across ``zones``."""
    missing = [z for z in zones if z not in series_by_zone]
    if missing:
        raise ValueError(f"default zones without embedded data: {missing}")
    start = max(series_by_zone[z].start for z in zones)
    end = min(series_by_zone[z].end for z in zones)
    generated = generate_workloads(
        n_jobs,
        start,
        list(zones),
        seed,
        model="pai",
        span=end - start - _TAIL_MARGIN,
        allow_migration=True,
    )
    inside = [w for w in generated if max(w.deadline, w.submit_at + w.expected_duration) <= end]
    return DefaultWorkload(inside, len(generated) - len(inside))


def run_embedded_default(
    out: Path,
    settings: SimulationSettings,
    done: Callable[[str], None],
    n_jobs: int,
    seed: int,
    *,
    jobs_file: bool = True,
) -> RunOutput:
    """The no-argument run: embedded carbon data and the GAIA-fitted workload generator."""
    series = load_embedded_series()
    generated = default_workloads(series, n_jobs=n_jobs, seed=seed)
    default_series = {zone: series[zone] for zone in DEFAULT_ZONES}
    description = (
        f"embedded default: {len(generated.workloads)} PAI-fitted jobs (seed {seed}) on "
        f"ENTSO-E 2020 intensity for {', '.join(DEFAULT_ZONES)}"
    )
    return run_default(
        default_series,
        generated.workloads,
        out,
        settings,
        on_policy_done=done,
        description=description,
        jobs_file=jobs_file,
    )
