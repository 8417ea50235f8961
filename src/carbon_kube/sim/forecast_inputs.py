"""Read what ``simulate --provider-forecast/--weather`` name: per-zone inputs of the models.

Each DACF file names its region (and so its zone) in the file name; any other provider-forecast
file is a long CSV / Electricity Maps export whose rows name their zones. Two files for one
zone are refused rather than silently merged.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

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
from carbon_kube.sim.runs import add_zone_once


def read_forecast_inputs(
    provider_paths: Sequence[Path], weather_paths: Sequence[Path]
) -> ForecastInputs:
    """Provider forecasts and weather by zone, each zone from exactly one file."""
    provider: dict[Zone, IntensitySeries] = {}
    for path in provider_paths:
        _check_exists(path, "--provider-forecast")
        if is_dacf_file(path):
            series = read_dacf_forecast(path)
            add_zone_once(provider, series.zone, series, path, "--provider-forecast")
        else:
            for zone, series in read_intensity_file(path).items():
                add_zone_once(provider, zone, series, path, "--provider-forecast")
    weather: dict[Zone, WeatherSeries] = {}
    for path in weather_paths:
        _check_exists(path, "--weather")
        if not is_dacf_file(path):
            raise InputError(
                "expected a DACF *_direct_emissions file (its GFS columns are day-ahead weather "
                "forecasts); the simulator takes no observed weather",
                source=path,
            )
        zone = REGION_ZONES[region_of(path)]
        add_zone_once(weather, zone, read_dacf_weather(path), path, "--weather")
    return ForecastInputs(provider_forecasts=provider, weather=weather)


def _check_exists(path: Path, option: str) -> None:
    if not path.is_file():
        raise InputError("no such file", source=path, field=option)
