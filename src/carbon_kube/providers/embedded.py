"""The embedded dataset: a year of real hourly carbon intensity shipped inside the package.

It is the offline default: every command, the simulator and the lab work with no API key and no
network. The data (``carbon_kube/data/embedded_intensity.parquet``, described in
``EMBEDDED_DATA.md`` beside it) is production-based life-cycle intensity derived from ENTSO-E
generation by fuel for one UTC calendar year (``embedded_year()``), by
``scripts/derive_embedded_data.py``. This module only reads it; it never derives or fetches.

Historical data has no "now". ``EmbeddedProvider`` therefore *replays* the year by default: an
instant maps to the same UTC month, day and hour of the embedded year (identity inside that
year). Replay keeps the real daily and seasonal shape of the zone at the caller's time of year,
which is what a demo, the lab or an offline fallback needs; it is not an observation of today's
grid, and the provider's name (``embedded``) says so in logs and metrics. Callers that must not
see replayed values (a backtest, a validation) pass ``replay=False``: then anything outside the
embedded year is a ``ProviderPermanentError`` naming the covered span.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from datetime import datetime, timedelta
from importlib import resources

import numpy as np
import pandas as pd

from carbon_kube.domain.arrays import IntArray
from carbon_kube.domain.clock import Clock, require_utc
from carbon_kube.domain.errors import ProviderPermanentError
from carbon_kube.domain.instants import floor_to_hour
from carbon_kube.domain.intensity import IntensitySeries
from carbon_kube.domain.zones import Zone
from carbon_kube.providers.base import ForecastUnsupportedError, IntensityReading

PROVIDER_NAME = "embedded"
RESOURCE = "embedded_intensity.parquet"
STEP = timedelta(hours=1)


@functools.cache
def _load() -> tuple[tuple[Zone, IntensitySeries], ...]:
    """Read and check the shipped Parquet once per process (about 0.1 s)."""
    ref = resources.files("carbon_kube.data").joinpath(RESOURCE)
    try:
        with resources.as_file(ref) as path:
            frame = pd.read_parquet(path, columns=["timestamp", "zone", "g_per_kwh"])
    except (OSError, ValueError, KeyError) as error:
        raise ProviderPermanentError(
            PROVIDER_NAME,
            f"cannot read carbon_kube/data/{RESOURCE} ({error}); reinstall the package or "
            "regenerate it with scripts/derive_embedded_data.py",
        ) from error
    loaded: list[tuple[Zone, IntensitySeries]] = []
    for zone_name, rows in frame.groupby("zone", sort=True, observed=True):
        zone = Zone(str(zone_name))
        times = pd.DatetimeIndex(rows["timestamp"]).tz_convert("UTC")
        steps_s = np.diff(times.as_unit("s").asi8)
        if times.size < 2 or np.any(steps_s != int(STEP.total_seconds())):
            # A packaging defect, not a user mistake: the derive script writes whole hourly years.
            raise ProviderPermanentError(
                PROVIDER_NAME, f"embedded series {zone} is not a gap-free hourly series"
            )
        loaded.append(
            (
                zone,
                IntensitySeries(
                    zone=zone,
                    start=times[0].to_pydatetime(),
                    step=STEP,
                    values_g_per_kwh=rows["g_per_kwh"].to_numpy(dtype=np.float64),
                ),
            )
        )
    if not loaded:
        raise ProviderPermanentError(PROVIDER_NAME, f"carbon_kube/data/{RESOURCE} has no rows")
    return tuple(loaded)


def load_embedded_series() -> dict[Zone, IntensitySeries]:
    """Every embedded zone's hourly series (read once per process; series are immutable)."""
    return dict(_load())


def embedded_zones() -> list[Zone]:
    """Zones with embedded data, sorted."""
    return [zone for zone, _ in _load()]


def embedded_span() -> tuple[datetime, datetime]:
    """``[start, end)`` covered by every embedded zone (one whole UTC calendar year)."""
    starts = {series.start for _, series in _load()}
    ends = {series.end for _, series in _load()}
    if len(starts) != 1 or len(ends) != 1:
        raise ProviderPermanentError(PROVIDER_NAME, "embedded zones cover different spans")
    return starts.pop(), ends.pop()


def embedded_year() -> int:
    """The UTC calendar year the embedded data covers (2020 in the shipped dataset)."""
    start, end = embedded_span()
    if (start.month, start.day, start.hour) != (1, 1, 0) or end != start.replace(
        year=start.year + 1
    ):
        raise ProviderPermanentError(PROVIDER_NAME, "embedded data is not one calendar year")
    return start.year


def replay_hours(year: int, start: datetime, count: int) -> IntArray:
    """Hour indexes into ``year`` for ``count`` hours from ``start`` (an hour boundary).

    Each hour maps to the same UTC month, day and hour of ``year``. 29 February of a leap year
    maps to 28 February when ``year`` is not a leap year; a leap ``year`` (2020) has every date.
    """
    hours = pd.date_range(start, periods=count, freq="1h")
    months = hours.month.to_numpy()
    days = hours.day.to_numpy()
    leap = pd.Timestamp(year, 1, 1).is_leap_year
    days = np.where((months == 2) & (days == 29) & (not leap), 28, days)
    month_start_doy = np.asarray(
        [pd.Timestamp(year, m, 1).day_of_year - 1 for m in range(1, 13)], dtype=np.int64
    )
    day_of_year = month_start_doy[months - 1] + days - 1
    return np.asarray(day_of_year * 24 + hours.hour.to_numpy(), dtype=np.int64)


class EmbeddedProvider:
    """``IntensityProvider`` over the embedded year; replays it at any date unless told not to."""

    def __init__(
        self,
        clock: Clock,
        *,
        replay: bool = True,
        series: Mapping[Zone, IntensitySeries] | None = None,
    ) -> None:
        self._clock = clock
        self._replay = replay
        self._series = dict(series) if series is not None else load_embedded_series()

    @property
    def name(self) -> str:
        return PROVIDER_NAME

    def zones(self) -> list[Zone]:
        return sorted(self._series)

    def history(self, zone: Zone, start: datetime, end: datetime) -> IntensitySeries:
        """Hourly values over ``[start, end)``, from the hour containing ``start``.

        Inside the embedded year these are the data themselves. Outside it they are replayed
        (see the module docstring), or, with ``replay=False``, a ``ProviderPermanentError``.
        """
        series = self._zone(zone)
        start = require_utc(start, "history start")
        end = require_utc(end, "history end")
        if end <= start:
            raise ValueError(f"history(): end {end.isoformat()} is not after {start.isoformat()}")
        if series.covers(start, end):
            return series.between(start, end)
        self._require_replay(series, start, end)
        first = floor_to_hour(start)
        count = -int(-(end - first) // STEP)
        indexes = replay_hours(series.start.year, first, count)
        return IntensitySeries(
            zone=zone,
            start=first,
            step=STEP,
            values_g_per_kwh=series.values_g_per_kwh[indexes],
        )

    def latest(self, zone: Zone) -> IntensityReading:
        """The value of the clock's current hour (replayed outside the embedded year)."""
        now = require_utc(self._clock.now(), "clock")
        hour = floor_to_hour(now)
        value = self.history(zone, hour, hour + STEP).values_g_per_kwh[0]
        return IntensityReading(
            zone=zone, at=hour, intensity_g_per_kwh=float(value), provider=PROVIDER_NAME
        )

    def forecast(self, zone: Zone, horizon: timedelta) -> IntensitySeries:
        """Never: the embedded data is historical, so the fallback chain must move on."""
        self._zone(zone)
        raise ForecastUnsupportedError(
            PROVIDER_NAME,
            f"the embedded dataset is historical and has no forecast for {zone}; use a "
            "forecasting baseline over its history or a live provider",
        )

    def _zone(self, zone: Zone) -> IntensitySeries:
        if zone not in self._series:
            known = ", ".join(sorted(self._series))
            raise ProviderPermanentError(
                PROVIDER_NAME, f"no embedded data for zone {zone} (embedded zones: {known})"
            )
        return self._series[zone]

    def _require_replay(self, series: IntensitySeries, start: datetime, end: datetime) -> None:
        if self._replay:
            year_start = series.start.replace(month=1, day=1, hour=0, minute=0, second=0)
            if series.start == year_start and series.end == year_start.replace(
                year=year_start.year + 1
            ):
                return
            raise ProviderPermanentError(
                PROVIDER_NAME,
                f"cannot replay {series.zone}: its data [{series.start.isoformat()}, "
                f"{series.end.isoformat()}) is not one whole calendar year",
            )
        raise ProviderPermanentError(
            PROVIDER_NAME,
            f"[{start.isoformat()}, {end.isoformat()}) is outside the embedded data of "
            f"{series.zone} [{series.start.isoformat()}, {series.end.isoformat()}); "
            "use replay=True to replay that year at other dates",
        )
