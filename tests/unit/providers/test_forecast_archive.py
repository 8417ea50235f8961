from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from carbon_kube.domain.zones import Zone
from carbon_kube.providers.forecast_archive import ForecastArchive
from tests.builders import HOUR, T0, make_series

DE = Zone("DE")
DAY = timedelta(days=1)


def test_day_ahead_takes_the_newest_value_issued_a_day_or_more_before(tmp_path: Path) -> None:
    archive = ForecastArchive(tmp_path / "a.sqlite")
    # Issued at T0 for [T0, T0 + 72 h): 100s; issued a day later for the following 72 h: 200s.
    archive.add("provider", make_series([100.0] * 72, start=T0), issued_at=T0)
    archive.add("provider", make_series([200.0] * 72, start=T0 + DAY), issued_at=T0 + DAY)

    series = archive.day_ahead("provider", DE, T0 + DAY, T0 + 3 * DAY)

    assert series is not None
    # Hours of day 2 were forecast 200 only 0-23 h ahead: the day-ahead value is day 1's 100.
    assert set(series.values_g_per_kwh[:24]) == {100.0}
    assert set(series.values_g_per_kwh[24:]) == {200.0}


def test_a_range_the_archive_does_not_cover_is_none_not_a_guess(tmp_path: Path) -> None:
    archive = ForecastArchive(tmp_path / "a.sqlite")
    archive.add("provider", make_series([100.0] * 24, start=T0), issued_at=T0 - DAY)

    assert archive.day_ahead("provider", DE, T0, T0 + 24 * HOUR) is not None
    assert archive.day_ahead("provider", DE, T0, T0 + 30 * HOUR) is None
    assert archive.day_ahead("lightgbm", DE, T0, T0 + 24 * HOUR) is None
    assert archive.covered_since("provider", DE) == T0 - DAY
