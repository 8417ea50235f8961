"""Weather covariates on a fixed step, with the instant each value became known.

Weather helps forecast carbon intensity (wind, sun, heating and cooling load), but only weather
that was *known at the forecast origin* may be used. Each value therefore carries ``known_at``:

* observed/reanalysis weather (Open-Meteo archive) is known once its interval has ended;
* a forecast fetched live is known from its issue time;
* an archive of day-ahead forecasts (DACF's GFS columns) is known a fixed lead before its time.

``known_by(origin)`` masks everything else with NaN, which is how models stay honest.
Variable names carry units (``temperature_c``, ``wind_speed_m_per_s``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

import numpy as np

from carbon_kube.domain.arrays import FloatArray, IntArray
from carbon_kube.domain.clock import require_utc
from carbon_kube.domain.intensity import to_epoch_s


class WeatherKind(StrEnum):
    """Observed (reanalysis) weather or a forecast; they are never mixed silently."""

    OBSERVED = "observed"
    FORECAST = "forecast"


@dataclass(frozen=True)
class WeatherSeries:
    """Hourly (or other fixed-step) weather variables at one place, each value stamped ``known_at``.

    Values may be NaN (missing); ``known_at_s`` holds, per value, the epoch second from which it
    could have been used by a forecaster.
    """

    location: str
    source: str
    kind: WeatherKind
    start: datetime
    step: timedelta
    variables: Mapping[str, FloatArray]
    known_at_s: IntArray

    def __post_init__(self) -> None:
        object.__setattr__(self, "start", require_utc(self.start, f"weather {self.location}"))
        if self.step <= timedelta(0):
            raise ValueError(f"weather {self.location}: step must be positive")
        if not self.variables:
            raise ValueError(f"weather {self.location}: at least one variable is required")
        sizes = {np.asarray(v).size for v in self.variables.values()}
        known = np.asarray(self.known_at_s, dtype=np.int64)
        if len(sizes) != 1 or known.size not in sizes:
            raise ValueError(f"weather {self.location}: variables and known_at differ in length")
        frozen = {}
        for name, values in self.variables.items():
            array = np.asarray(values, dtype=np.float64)
            array.setflags(write=False)
            frozen[name] = array
        known.setflags(write=False)
        object.__setattr__(self, "variables", frozen)
        object.__setattr__(self, "known_at_s", known)

    def __len__(self) -> int:
        return int(self.known_at_s.size)

    @property
    def names(self) -> list[str]:
        return sorted(self.variables)

    @classmethod
    def observed(
        cls,
        location: str,
        source: str,
        start: datetime,
        step: timedelta,
        variables: Mapping[str, FloatArray],
    ) -> WeatherSeries:
        """Measured/reanalysis weather: each value is known when its interval ends."""
        n = _length(variables)
        known = to_epoch_s(start) + int(step.total_seconds()) * (np.arange(n, dtype=np.int64) + 1)
        return cls(location, source, WeatherKind.OBSERVED, start, step, variables, known)

    @classmethod
    def issued(
        cls,
        location: str,
        source: str,
        start: datetime,
        step: timedelta,
        variables: Mapping[str, FloatArray],
        issued_at: datetime,
    ) -> WeatherSeries:
        """A forecast fetched at ``issued_at``: every value is known from then on."""
        n = _length(variables)
        known = np.full(n, to_epoch_s(issued_at), dtype=np.int64)
        return cls(location, source, WeatherKind.FORECAST, start, step, variables, known)

    @classmethod
    def with_lead(
        cls,
        location: str,
        source: str,
        start: datetime,
        step: timedelta,
        variables: Mapping[str, FloatArray],
        lead: timedelta,
    ) -> WeatherSeries:
        """An archive of forecasts each issued ``lead`` before its valid time (day-ahead: 24 h)."""
        n = _length(variables)
        step_s = int(step.total_seconds())
        times = to_epoch_s(start) + step_s * np.arange(n, dtype=np.int64)
        known = times - int(lead.total_seconds())
        return cls(location, source, WeatherKind.FORECAST, start, step, variables, known)

    def reaches(self, origin: datetime) -> bool:
        """Whether the step that ends at ``origin`` has a value (any variable) known by then.

        A model trained on complete weather reads a missing newest hour as a gap it never saw
        (``NaN`` at the origin only), so a series that stops short must not be used at all.
        """
        last = np.array([to_epoch_s(origin) - int(self.step.total_seconds())], dtype=np.int64)
        values = self.at_times(last, origin)
        return any(bool(np.isfinite(v[0])) for v in values.values())

    def at_times(self, epoch_s: IntArray, origin: datetime) -> dict[str, FloatArray]:
        """Each variable at the given instants, NaN where unknown by ``origin`` or outside data.

        This is the only way forecasting reads weather: a value stamped later than ``origin``
        can never reach a model.
        """
        return self.at_epochs(epoch_s, np.int64(to_epoch_s(origin)))

    def at_epochs(self, epoch_s: IntArray, origin_s: IntArray | np.int64) -> dict[str, FloatArray]:
        """Like ``at_times`` with one origin per instant (training rows have many origins)."""
        step_s = int(self.step.total_seconds())
        offset = np.asarray(epoch_s, dtype=np.int64) - to_epoch_s(self.start)
        index = np.floor_divide(offset, step_s)
        inside = (index >= 0) & (index < len(self))
        safe = np.where(inside, index, 0)
        usable = inside & (self.known_at_s[safe] <= origin_s)
        return {
            name: np.where(usable, values[safe], np.nan) for name, values in self.variables.items()
        }


def _length(variables: Mapping[str, FloatArray]) -> int:
    sizes = {np.asarray(v).size for v in variables.values()}
    if len(sizes) != 1:
        raise ValueError("weather variables differ in length")
    return sizes.pop()
