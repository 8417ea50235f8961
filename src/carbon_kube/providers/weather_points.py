"""Where to ask for a zone's weather: one representative point per grid zone.

A grid zone's weather is summarised by one city near its load centre (the data-centre cities of
the Open-Meteo offline files, plus a few more). One point is a crude proxy for a grid that
spans a country or an ISO; it is what the offline data offers, and an override is one argument
away (``--lat/--lon``).
"""

from __future__ import annotations

from dataclasses import dataclass

from carbon_kube.domain.errors import InputError
from carbon_kube.domain.zones import Zone


@dataclass(frozen=True, slots=True)
class WeatherPoint:
    """A latitude/longitude in degrees and the place it stands for."""

    latitude_deg: float
    longitude_deg: float
    label: str


WEATHER_POINTS: dict[str, WeatherPoint] = {
    "US-MIDA-PJM": WeatherPoint(39.964848, -75.1676, "Philadelphia"),
    "US-CAL-CISO": WeatherPoint(37.434093, -121.95479, "San Jose"),
    "US-TEX-ERCO": WeatherPoint(32.794376, -96.8215, "Dallas"),
    "US-NY-NYIS": WeatherPoint(40.738136, -74.04254, "New York"),
    "US-NE-ISNE": WeatherPoint(42.3601, -71.0589, "Boston"),
    "US-NW-BPAT": WeatherPoint(45.5152, -122.6784, "Portland"),
    "DE": WeatherPoint(50.08787, 8.653846, "Frankfurt"),
    "GB": WeatherPoint(51.493847, -0.1630249, "London"),
    "FR": WeatherPoint(48.8566, 2.3522, "Paris"),
    "IE": WeatherPoint(53.3498, -6.2603, "Dublin"),
    "SE-SE3": WeatherPoint(59.3293, 18.0686, "Stockholm"),
    "CA-ON": WeatherPoint(43.690685, -79.41174, "Toronto"),
    "JP-TK": WeatherPoint(35.676624, 139.80695, "Tokyo"),
    "IN-WE": WeatherPoint(19.086115, 72.85291, "Mumbai"),
    "AU-NSW": WeatherPoint(-33.848858, 151.19551, "Sydney"),
    "BR-CS": WeatherPoint(-23.514938, -46.610504, "Sao Paulo"),
}


def weather_point(zone: Zone) -> WeatherPoint:
    """The point for ``zone``; an unknown zone says how to give one."""
    point = WEATHER_POINTS.get(str(zone))
    if point is None:
        raise InputError(
            f"no weather point is known for zone {zone}; pass --lat and --lon "
            f"(known zones: {', '.join(sorted(WEATHER_POINTS))})",
            field="zone",
        )
    return point
