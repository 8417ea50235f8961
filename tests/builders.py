"""Builders for test objects, so tests state only what matters to them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np

from carbon_kube.domain.intensity import IntensitySeries
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
