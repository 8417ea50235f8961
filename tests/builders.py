"""Builders for test objects, so tests state only what matters to them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np

from carbon_kube.domain.intensity import IntensitySeries
from carbon_kube.domain.weather import WeatherSeries
from carbon_kube.domain.zones import Zone

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
