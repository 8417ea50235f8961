"""Read the DACF (e-Energy'22) files: actual intensity, DACF's day-ahead forecast, GFS weather.

Files (``../shared/data/dacf-carbon-forecasts-2020-2021``, see its SOURCE.md):

* ``<R>_direct_emissions.csv[.gz]``: hourly direct intensity 2020-2021 (``carbon_intensity``) and
  region-averaged GFS day-ahead weather forecasts (``forecast_avg_*_wMean``);
* ``<R>_carbon_from_src_prod_forecasts_direct.csv[.gz]``: Jul-Dec 2021 actual intensity and
  DACF's day-ahead forecast ``carbon_from_src_forecasts``.

Times are UTC (``UTC time``, offset-less except DE). Regions map to Electricity Maps zone ids
(``PJM`` -> ``US-MIDA-PJM``). The GFS columns are day-ahead forecasts, so each value is stamped
known 24 h before its hour; rows whose weather is all zero (the last day of 2021) are missing,
not 0 K.
"""

from __future__ import annotations

import io
import re
from datetime import timedelta
from pathlib import Path

import numpy as np
import pandas as pd

from carbon_kube.domain.errors import InputError
from carbon_kube.domain.intensity import IntensitySeries
from carbon_kube.domain.limits import INTENSITY_G_PER_KWH
from carbon_kube.domain.weather import WeatherSeries
from carbon_kube.domain.zones import Zone
from carbon_kube.storage.reading import check_row_widths, read_user_text

REGION_ZONES = {
    "CISO": Zone("US-CAL-CISO"),
    "PJM": Zone("US-MIDA-PJM"),
    "ERCO": Zone("US-TEX-ERCO"),
    "ISNE": Zone("US-NE-ISNE"),
    "SE": Zone("SE"),
    "DE": Zone("DE"),
}
_TIME = "UTC time"
_ACTUAL = "carbon_intensity"
DACF_ACTUAL_COLUMN = _ACTUAL
_FORECAST = "carbon_from_src_forecasts"
_GFS_COLUMNS = {
    "forecast_avg_wind_speed_wMean": ("wind_speed_m_per_s", 0.0),
    "forecast_avg_temperature_wMean": ("temperature_c", -273.15),
    "forecast_avg_dewpoint_wMean": ("dewpoint_c", -273.15),
    "forecast_avg_dswrf_wMean": ("shortwave_radiation_w_per_m2", 0.0),
    "forecast_avg_precipitation_wMean": ("precipitation_mm", 0.0),
}
GFS_LEAD = timedelta(hours=24)
_HOUR = timedelta(hours=1)


def is_dacf_file(path: Path) -> bool:
    """True when the header looks like a DACF file (``UTC time`` and ``carbon_intensity``)."""
    try:
        header = pd.read_csv(io.StringIO(read_user_text(path)), nrows=0).columns
    except (InputError, ValueError, pd.errors.ParserError):
        return False
    return _TIME in header and _ACTUAL in header


def region_of(path: Path) -> str:
    """The DACF region from the file name (``PJM_direct_emissions.csv.gz`` -> ``PJM``)."""
    match = re.match(r"^([A-Z]+)_", path.name)
    if match is None or match.group(1) not in REGION_ZONES:
        raise InputError(
            f"cannot tell the DACF region from the file name; expected one of "
            f"{', '.join(REGION_ZONES)} followed by '_'",
            source=path,
        )
    return match.group(1)


def _load(path: Path, columns: list[str]) -> pd.DataFrame:
    text = read_user_text(path)
    check_row_widths(text, path)
    try:
        frame = pd.read_csv(io.StringIO(text))
    except (ValueError, pd.errors.ParserError) as error:
        raise InputError(f"cannot read as a DACF table: {error}", source=path) from None
    missing = [c for c in [_TIME, *columns] if c not in frame.columns]
    if missing:
        raise InputError(f"not a DACF file: no column {missing[0]!r}", source=path, line=1)
    times = pd.to_datetime(frame[_TIME], utc=True, errors="coerce")
    if times.isna().any():
        row = int(np.flatnonzero(times.isna().to_numpy())[0])
        raise InputError("unreadable time", source=path, line=row + 2, field=_TIME)
    steps = np.diff(pd.DatetimeIndex(times).as_unit("s").asi8)
    if steps.size == 0 or np.any(steps != 3600):
        row = int(np.flatnonzero(steps != 3600)[0]) if steps.size else 0
        raise InputError(
            "DACF files are hourly without gaps", source=path, line=row + 3, field=_TIME
        )
    frame.index = pd.DatetimeIndex(times)
    return frame


def read_dacf_intensity(path: Path) -> dict[Zone, IntensitySeries]:
    """The actual direct intensity in a DACF file, keyed by the region's zone id."""
    zone = REGION_ZONES[region_of(path)]
    frame = _load(path, [_ACTUAL])
    values = pd.to_numeric(frame[_ACTUAL], errors="coerce").to_numpy(dtype=np.float64)
    bad = ~np.isfinite(values) | (values < 0) | (values > INTENSITY_G_PER_KWH.high)
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise InputError(
            f"expected an intensity, {INTENSITY_G_PER_KWH.describe()}",
            source=path,
            line=row + 2,
            field=_ACTUAL,
        )
    start = frame.index[0].to_pydatetime()
    return {zone: IntensitySeries(zone, start, _HOUR, values)}


def read_dacf_forecast(path: Path) -> IntensitySeries:
    """DACF's own day-ahead forecast (``carbon_from_src_forecasts``) as a series."""
    zone = REGION_ZONES[region_of(path)]
    frame = _load(path, [_FORECAST])
    values = pd.to_numeric(frame[_FORECAST], errors="coerce").to_numpy(dtype=np.float64)
    if not np.all(np.isfinite(values)) or np.any(values < 0):
        row = int(np.flatnonzero(~np.isfinite(values) | (values < 0))[0])
        raise InputError(
            "expected a finite forecast >= 0", source=path, line=row + 2, field=_FORECAST
        )
    return IntensitySeries(zone, frame.index[0].to_pydatetime(), _HOUR, values)


def read_dacf_weather(path: Path) -> WeatherSeries:
    """The region's GFS day-ahead weather forecasts, known 24 h before each hour.

    Temperatures are converted from K to degC; all-zero rows become NaN (missing).
    """
    region = region_of(path)
    frame = _load(path, list(_GFS_COLUMNS))
    raw = frame[list(_GFS_COLUMNS)].apply(pd.to_numeric, errors="coerce")
    missing = (raw.fillna(0.0) == 0.0).all(axis=1).to_numpy()
    variables = {}
    for column, (name, offset) in _GFS_COLUMNS.items():
        values = raw[column].to_numpy(dtype=np.float64) + offset
        variables[name] = np.where(missing, np.nan, values)
    return WeatherSeries.with_lead(
        location=region,
        source=f"GFS day-ahead ({path.name})",
        start=frame.index[0].to_pydatetime(),
        step=_HOUR,
        variables=variables,
        lead=GFS_LEAD,
    )
