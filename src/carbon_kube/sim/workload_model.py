"""The fitted workload model: arrival profile, duration and CPU distributions of a job trace.

``fit_workload_model`` turns a trace's arrays (hours, as in GAIA's traces) into the numbers the
generator samples from; ``scripts/fit_workload_model.py`` runs it on GAIA's PAI and Azure traces
and commits the result as ``carbon_kube/data/workload_model.json`` (the numbers, not the traces).

What is fitted, and why this shape:

* **arrivals**: the mean rate (jobs per hour) and a 168-bin hour-of-week profile, each bin the
  arrival rate in that hour of the week divided by the mean (so the profile averages 1). Bin 0
  is the trace's first hour; the traces carry no calendar, so no weekday is claimed for it.
* **durations**: the empirical quantile function of log(duration) at 201 probabilities
  (0, 0.5 %, ..., 100 %), sampled by inverse transform with linear interpolation in log space.
  A parametric fit was tried and rejected: a maximum-likelihood log-normal is off by a KS
  distance of 0.065 (PAI) and 0.138 (Azure) (docs/workload_model.md), and Azure's point masses
  at whole 5-minute steps cannot be matched by any smooth family; repeated knots reproduce them.
  When every duration of a trace is a whole multiple of a step (Azure: 300 s, its VM trace's
  reporting interval), that step is kept and generated durations are rounded to it.
* **cpus**: the empirical distribution over the distinct values (a categorical).

Duration and CPUs are sampled independently: their correlation in the traces is weak
(Pearson r of log-duration and cpus 0.07 for PAI, 0.00 for Azure).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources

import numpy as np

from carbon_kube.domain.arrays import FloatArray

HOURS_PER_WEEK = 168
QUANTILE_KNOTS = 201
MODEL_RESOURCE = "workload_model.json"
_CANDIDATE_STEPS_S = (3600, 900, 600, 300, 60)


@dataclass(frozen=True)
class WorkloadModel:
    """The numbers of one fitted trace (see the module docstring for their meaning)."""

    name: str
    source: str
    jobs: int
    span_h: float
    rate_jobs_per_h: float
    hour_of_week_profile: tuple[float, ...]
    duration_probabilities: tuple[float, ...]
    duration_quantiles_s: tuple[float, ...]
    duration_step_s: int
    cpu_values: tuple[float, ...]
    cpu_probabilities: tuple[float, ...]

    def __post_init__(self) -> None:
        if len(self.hour_of_week_profile) != HOURS_PER_WEEK:
            raise ValueError(f"{self.name}: the arrival profile needs {HOURS_PER_WEEK} bins")
        if len(self.duration_probabilities) != len(self.duration_quantiles_s):
            raise ValueError(f"{self.name}: duration probabilities and quantiles differ in length")
        if np.any(np.diff(self.duration_quantiles_s) < 0) or min(self.duration_quantiles_s) <= 0:
            raise ValueError(f"{self.name}: duration quantiles must be positive and non-decreasing")
        if len(self.cpu_values) != len(self.cpu_probabilities):
            raise ValueError(f"{self.name}: cpu values and probabilities differ in length")
        if abs(sum(self.cpu_probabilities) - 1.0) > 1e-6 or min(self.cpu_values) <= 0:
            raise ValueError(f"{self.name}: cpu probabilities must sum to 1 over positive values")

    def to_json(self) -> dict[str, object]:
        return {
            "name": self.name,
            "source": self.source,
            "jobs": self.jobs,
            "span_h": round(self.span_h, 4),
            "rate_jobs_per_h": round(self.rate_jobs_per_h, 6),
            "hour_of_week_profile": [round(v, 5) for v in self.hour_of_week_profile],
            "duration_probabilities": [round(p, 6) for p in self.duration_probabilities],
            "duration_quantiles_s": [round(q, 3) for q in self.duration_quantiles_s],
            "duration_step_s": self.duration_step_s,
            "cpu_values": list(self.cpu_values),
            "cpu_probabilities": [round(p, 8) for p in self.cpu_probabilities],
        }

    @classmethod
    def from_json(cls, data: dict[str, object]) -> WorkloadModel:
        def floats(key: str) -> tuple[float, ...]:
            values = data[key]
            assert isinstance(values, list)  # noqa: S101 - the shipped file is ours
            return tuple(float(v) for v in values)

        cpu_probabilities = np.array(floats("cpu_probabilities"))
        return cls(
            name=str(data["name"]),
            source=str(data["source"]),
            jobs=int(str(data["jobs"])),
            span_h=float(str(data["span_h"])),
            rate_jobs_per_h=float(str(data["rate_jobs_per_h"])),
            hour_of_week_profile=floats("hour_of_week_profile"),
            duration_probabilities=floats("duration_probabilities"),
            duration_quantiles_s=floats("duration_quantiles_s"),
            duration_step_s=int(str(data["duration_step_s"])),
            cpu_values=floats("cpu_values"),
            # Rounding in the JSON leaves the sum a hair off 1; renormalise exactly.
            cpu_probabilities=tuple(float(p) for p in cpu_probabilities / cpu_probabilities.sum()),
        )


def fit_workload_model(
    name: str, source: str, arrival_h: FloatArray, length_h: FloatArray, cpus: FloatArray
) -> WorkloadModel:
    """Fit the model to one trace; ``arrival_h`` and ``length_h`` in hours from the trace start.

    The hour-of-week profile divides each bin's arrivals by the hours the trace spends in that
    bin (a 365-day trace visits the first day's hours 53 times, the others 52), so an uneven
    number of weeks does not masquerade as a weekly pattern.
    """
    arrival = np.asarray(arrival_h, dtype=np.float64)
    length = np.asarray(length_h, dtype=np.float64)
    if arrival.size < 2 or arrival.size != length.size or arrival.size != len(cpus):
        raise ValueError(f"{name}: need at least two jobs with arrival, length and cpus each")
    span_h = float(np.ceil(arrival.max() - arrival.min() + 1e-9))
    hours = np.floor(arrival - arrival.min()).astype(np.int64)
    counts = np.bincount(hours % HOURS_PER_WEEK, minlength=HOURS_PER_WEEK).astype(np.float64)
    exposure = np.bincount(
        np.arange(int(span_h)) % HOURS_PER_WEEK, minlength=HOURS_PER_WEEK
    ).astype(np.float64)
    rate = counts / np.maximum(exposure, 1.0)
    profile = rate / rate.mean()
    probabilities = np.linspace(0.0, 1.0, QUANTILE_KNOTS)
    quantiles_s = np.exp(np.quantile(np.log(length * 3600.0), probabilities))
    values, value_counts = np.unique(np.asarray(cpus, dtype=np.float64), return_counts=True)
    return WorkloadModel(
        name=name,
        source=source,
        jobs=int(arrival.size),
        span_h=span_h,
        rate_jobs_per_h=float(arrival.size / span_h),
        hour_of_week_profile=tuple(float(v) for v in profile),
        duration_probabilities=tuple(float(p) for p in probabilities),
        duration_quantiles_s=tuple(float(q) for q in quantiles_s),
        duration_step_s=_duration_step_s(length * 3600.0),
        cpu_values=tuple(float(v) for v in values),
        cpu_probabilities=tuple(float(c) for c in value_counts / value_counts.sum()),
    )


def _duration_step_s(duration_s: FloatArray) -> int:
    """The largest step (1 h .. 1 min) that every duration is a multiple of, within 1 s; else 0."""
    for step_s in _CANDIDATE_STEPS_S:
        off_s = np.abs(duration_s - np.round(duration_s / step_s) * step_s)
        if np.all(off_s < 1.0):
            return step_s
    return 0


def load_workload_models() -> dict[str, WorkloadModel]:
    """The models shipped in ``carbon_kube/data/workload_model.json``, by name (``pai``, ...)."""
    text = resources.files("carbon_kube.data").joinpath(MODEL_RESOURCE).read_text()
    data = json.loads(text)
    return {entry["name"]: WorkloadModel.from_json(entry) for entry in data["models"]}
