"""What ``simulate --provider-forecast/--weather`` read: per-zone inputs of the models.

Each DACF file names its region (and so its zone) in the file name; any other provider-forecast
file is a long CSV / Electricity Maps export whose rows name their zones. Two files for one
zone are refused rather than silently merged.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TypeVar

from carbon_kube.domain.errors import InputError
from carbon_kube.domain.intensity import IntensitySeries
from carbon_kube.domain.weather import WeatherSeries
from carbon_kube.domain.zones import Zone
from carbon_kube.providers.dacf import (
    REGION_ZONES,
    is_dacf_file,
    read_dacf_forecast,
    read_dacf_weather,
    region_of,
)
from carbon_kube.providers.files import read_intensity_file
from carbon_kube.sim.model_forecasts import ForecastInputs

T = TypeVar("T")


def read_forecast_inputs(
    provider_paths: Sequence[Path], weather_paths: Sequence[Path]
) -> ForecastInputs:
    """Provider forecasts and weather by zone, each zone from exactly one file."""
    provider: dict[Zone, IntensitySeries] = {}
    for path in provider_paths:
        _check_exists(path, "--provider-forecast")
        if is_dacf_file(path):
            series = read_dacf_forecast(path)
            _put(provider, series.zone, series, path)
        else:
            for zone, series in read_intensity_file(path).items():
                _put(provider, zone, series, path)
    weather: dict[Zone, WeatherSeries] = {}
    for path in weather_paths:
        _check_exists(path, "--weather")
        if not is_dacf_file(path):
            raise InputError(
                "expected a DACF *_direct_emissions file (its GFS columns are day-ahead weather "
                "forecasts); the simulator takes no observed weather",
                source=path,
            )
        _put(weather, REGION_ZONES[region_of(path)], read_dacf_weather(path), path)
    return ForecastInputs(provider_forecasts=provider, weather=weather)


def _check_exists(path: Path, option: str) -> None:
    if not path.is_file():
        raise InputError("no such file", source=path, field=option)


def _put(by_zone: dict[Zone, T], zone: Zone, value: T, path: Path) -> None:
    if zone in by_zone:
        raise InputError(f"a second file for zone {zone}; give one per zone", source=path)
    by_zone[zone] = value
