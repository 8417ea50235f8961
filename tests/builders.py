"""Builders for test objects, so tests state only what matters to them."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

from carbon_kube.domain.intensity import IntensitySeries
from carbon_kube.domain.weather import WeatherSeries
from carbon_kube.domain.workloads import Workload
from carbon_kube.domain.zones import Zone
from carbon_kube.policy.grids import IntensityGrid
from carbon_kube.policy.jobs import JobTable

T0 = datetime(2022, 1, 1, tzinfo=UTC)
HOUR = timedelta(hours=1)


def make_series(
    values_g_per_kwh: list[float], *, zone: str = "DE", start: datetime = T0, step: timedelta = HOUR
) -> IntensitySeries:
    return IntensitySeries(
        zone=Zone(zone),
        start=start,
        step=step,
        values_g_per_kwh=np.array(values_g_per_kwh, dtype=np.float64),
    )


def make_daily_series(
    days: int,
    *,
    zone: str = "DE",
    start: datetime = T0,
    base_g_per_kwh: float = 300.0,
    amplitude_g_per_kwh: float = 80.0,
    noise_g_per_kwh: float = 10.0,
    seed: int = 1,
) -> IntensitySeries:
    """Hourly intensity with a daily cycle, a weekend dip and seeded noise (always > 0)."""
    hours = np.arange(days * 24)
    rng = np.random.default_rng(seed)
    weekday = ((hours // 24) + start.weekday()) % 7
    values = (
        base_g_per_kwh
        + amplitude_g_per_kwh * np.sin(2 * np.pi * (hours % 24) / 24)
        - 30.0 * (weekday >= 5)
        + rng.normal(0.0, noise_g_per_kwh, hours.size)
    )
    return make_series(list(np.maximum(values, 5.0)), zone=zone, start=start)


def make_wind_driven(
    days: int, *, start: datetime = T0, seed: int = 3
) -> tuple[IntensitySeries, WeatherSeries]:
    """Intensity that falls when it is windy, and a day-ahead wind forecast that predicts it."""
    hours = np.arange(days * 24)
    rng = np.random.default_rng(seed)
    # Wind changes slowly over days, so only a forecast (not yesterday) tells tomorrow's wind.
    wind = np.clip(
        8 + 6 * np.sin(2 * np.pi * hours / (24 * 3.7)) + rng.normal(0, 2, hours.size), 0, None
    )
    values = (
        400 - 18 * wind + 40 * np.sin(2 * np.pi * (hours % 24) / 24) + rng.normal(0, 5, hours.size)
    )
    series = make_series(list(np.maximum(values, 5.0)), start=start)
    weather = WeatherSeries.with_lead(
        "test",
        "synthetic day-ahead",
        start,
        HOUR,
        {"wind_speed_m_per_s": wind},
        timedelta(hours=24),
    )
    return series, weather


class WorkloadBuilder:
    """Fluent builder: ``a_job("j1").lasting(2 * HOUR).due(T0 + 6 * HOUR).allowed("FR")``."""

    def __init__(self, workload_id: str) -> None:
        self._id = workload_id
        self._submit = T0
        self._duration = HOUR
        self._deadline: datetime | None = None
        self._cpus = 1.0
        self._memory_gib = 0.0
        self._zone = "DE"
        self._allowed: tuple[str, ...] = ()
        self._interruptible = False

    def submitted(self, at: datetime) -> WorkloadBuilder:
        self._submit = at
        return self

    def lasting(self, duration: timedelta) -> WorkloadBuilder:
        self._duration = duration
        return self

    def due(self, deadline: datetime) -> WorkloadBuilder:
        self._deadline = deadline
        return self

    def needing(self, cpus: float, memory_gib: float = 0.0) -> WorkloadBuilder:
        self._cpus, self._memory_gib = cpus, memory_gib
        return self

    def in_zone(self, zone: str) -> WorkloadBuilder:
        self._zone = zone
        return self

    def allowed(self, *zones: str) -> WorkloadBuilder:
        self._allowed = zones
        return self

    def interruptible(self) -> WorkloadBuilder:
        self._interruptible = True
        return self

    def build(self) -> Workload:
        return Workload(
            workload_id=self._id,
            submit_at=self._submit,
            expected_duration=self._duration,
            cpus=self._cpus,
            memory_gib=self._memory_gib,
            deadline=self._deadline or self._submit + self._duration,
            home_zone=Zone(self._zone),
            allowed_zones=tuple(Zone(z) for z in self._allowed),
            interruptible=self._interruptible,
        )


def a_job(workload_id: str) -> WorkloadBuilder:
    return WorkloadBuilder(workload_id)


def make_truth(values_by_zone: dict[str, list[float]], step: timedelta = HOUR) -> IntensityGrid:
    """True intensity of several zones starting at ``T0``."""
    return IntensityGrid(
        {Zone(z): make_series(v, zone=z, step=step) for z, v in values_by_zone.items()}
    )


def make_jobs(truth: IntensityGrid, *builders: WorkloadBuilder) -> JobTable:
    return JobTable.from_workloads([b.build() for b in builders], truth.grid.zones)


def write_simulation_outputs(
    out: Path,
    jobs: list[dict[str, object]],
    policies: tuple[str, ...] = ("carbon-agnostic", "temporal"),
) -> Path:
    """A minimal ``simulate --out`` folder: ``summary.json`` from ``jobs`` and ``jobs.csv``."""
    out.mkdir(parents=True, exist_ok=True)
    frame = pd.DataFrame(jobs)
    baseline_kg = float(frame.loc[frame.policy == policies[0], "co2_g"].sum()) / 1000
    summaries = []
    for name in policies:
        rows = frame[frame.policy == name]
        co2_kg = float(rows.co2_g.sum()) / 1000
        summaries.append(
            {
                "policy": name,
                "jobs": len(rows),
                "energy_kwh": float(rows.energy_kwh.sum()),
                "co2_kg": co2_kg,
                "baseline_co2_kg": baseline_kg,
                "savings_pct": 100 * (baseline_kg - co2_kg) / baseline_kg if baseline_kg else 0.0,
                "deadline_misses": 0,
                "mean_delay_s": 0.0,
                "p95_delay_s": 0.0,
            }
        )
    (out / "summary.json").write_text(json.dumps(summaries))
    frame.to_csv(out / "jobs.csv", index=False)
    return out


def hourly_weather(start: datetime, days: int) -> WeatherSeries:
    """Observed hourly temperature and wind that vary by hour (for the weather clients)."""
    hours = np.arange(days * 24, dtype=np.float64)
    variables = {
        "temperature_c": 10.0 + 5.0 * np.sin(2 * np.pi * hours / 24),
        "wind_speed_km_per_h": 20.0 + (hours % 7),
    }
    return WeatherSeries.observed("test", "truth", start, timedelta(hours=1), variables)
