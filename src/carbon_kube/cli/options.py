"""Parsers and help texts for option values shared by several commands (times, durations)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from carbon_kube.domain.errors import InputError
from carbon_kube.domain.zones import Zone, parse_zone


def parse_instant(text: str, option: str) -> datetime:
    """An RFC 3339 instant with an offset, or a bare date meaning 00:00 UTC of that day."""
    try:
        instant = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise InputError(
            f"expected an RFC 3339 time such as 2022-03-01T00:00:00Z or a date, got {text!r}",
            field=option,
        ) from None
    if instant.tzinfo is None:
        if len(text.strip()) == len("2022-03-01"):
            return instant.replace(tzinfo=UTC)
        raise InputError(f"time {text!r} has no UTC offset; append Z", field=option)
    return instant.astimezone(UTC)


_DURATION = re.compile(r"^\s*(\d+)\s*(h|d)\s*$")

INTENSITY_HELP = (
    "Intensity file(s): long CSV timestamp,zone,g_per_kwh, an Electricity Maps CSV export, or a "
    "DACF *_direct_emissions file. Repeat for several years of one zone."
)
WEATHER_HELP = (
    "Weather covariates: an Open-Meteo folder (e.g. ../shared/data/openmeteo-weather-hourly, "
    "reanalysis, used only up to the origin) or a DACF *_direct_emissions file (GFS day-ahead "
    "forecasts). Without it the learned model uses lags and calendar only, and says so."
)


def parse_hours(text: str, option: str) -> timedelta:
    """``24h``, ``72h`` or ``3d`` as a ``timedelta``."""
    match = _DURATION.match(text)
    if match is None:
        raise InputError(f"expected a duration such as 24h or 3d, got {text!r}", field=option)
    amount = int(match.group(1))
    return timedelta(hours=amount) if match.group(2) == "h" else timedelta(days=amount)


def parse_zone_option(text: str, option: str = "--zone") -> Zone:
    """A grid zone id; ``de`` is read as ``DE`` when the region table knows ``DE``.

    Folding case only for known ids keeps ``eu-west-1`` (a cloud region, a common mistake)
    an error instead of the unknown zone ``EU-WEST-1``.
    """
    try:
        return parse_zone(text)
    except InputError as error:
        from carbon_kube.providers.regions import load_region_zone_map

        folded = text.strip().upper()
        if folded in {str(m.zone) for m in load_region_zone_map().mappings()}:
            return Zone(folded)
        raise InputError(error.message, field=option) from None
