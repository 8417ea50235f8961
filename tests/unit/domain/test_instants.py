from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import numpy as np
import pytest

from carbon_kube.domain.durations import describe_duration, format_duration
from carbon_kube.domain.errors import InputError
from carbon_kube.domain.instants import (
    Precision,
    floor_to_hour,
    format_rfc3339,
    format_rfc3339_epoch_s,
    parse_rfc3339,
)

AT = datetime(2026, 11, 28, 6, 5, 9, 123456, tzinfo=UTC)


@pytest.mark.parametrize(
    ("precision", "want"),
    [
        (Precision.MINUTES, "2026-11-28T06:05Z"),
        (Precision.SECONDS, "2026-11-28T06:05:09Z"),
        (Precision.MICROSECONDS, "2026-11-28T06:05:09.123456Z"),
        (Precision.EXACT, "2026-11-28T06:05:09.123456Z"),
    ],
)
def test_each_precision_keeps_its_contracts_digits(precision: Precision, want: str) -> None:
    assert format_rfc3339(AT, precision) == want


def test_seconds_are_the_default_and_exact_drops_a_zero_fraction() -> None:
    whole = AT.replace(microsecond=0)
    assert format_rfc3339(whole) == "2026-11-28T06:05:09Z"
    assert format_rfc3339(whole, Precision.EXACT) == "2026-11-28T06:05:09Z"
    assert format_rfc3339(whole, Precision.MICROSECONDS) == "2026-11-28T06:05:09.000000Z"


def test_other_offsets_are_written_in_utc_and_naive_times_are_refused() -> None:
    plus_two = AT.astimezone(timezone(timedelta(hours=2)))
    assert format_rfc3339(plus_two) == "2026-11-28T06:05:09Z"
    with pytest.raises(ValueError, match="naive"):
        format_rfc3339(datetime(2026, 1, 1))  # noqa: DTZ001


def test_epoch_columns_match_the_scalar_form() -> None:
    instants = [datetime(2022, 1, 1, tzinfo=UTC), datetime(2022, 3, 1, 7, 30, tzinfo=UTC)]
    epoch_s = np.array([t.timestamp() for t in instants], dtype=np.float64)
    assert format_rfc3339_epoch_s(epoch_s).tolist() == [format_rfc3339(t) for t in instants]
    assert format_rfc3339_epoch_s(epoch_s.astype(np.int64)).tolist() == [
        "2022-01-01T00:00:00Z",
        "2022-03-01T07:30:00Z",
    ]
    assert format_rfc3339_epoch_s(np.array([0.6])).tolist() == ["1970-01-01T00:00:01Z"]


def test_parse_round_trips_and_names_the_field_on_errors() -> None:
    assert parse_rfc3339(format_rfc3339(AT), "x") == AT.replace(microsecond=0)
    two_hours_east = parse_rfc3339(" 2026-11-28T08:00:00+02:00 ", "x")
    assert two_hours_east == datetime(2026, 11, 28, 6, tzinfo=UTC)
    with pytest.raises(InputError, match="RFC 3339") as caught:
        parse_rfc3339("tomorrow", "carbon-kube.io/deadline")
    assert caught.value.field == "carbon-kube.io/deadline"
    with pytest.raises(InputError, match="no UTC offset"):
        parse_rfc3339("2026-11-28T06:00:00", "x")


def test_floor_to_hour_drops_minutes_seconds_and_microseconds() -> None:
    assert floor_to_hour(AT) == datetime(2026, 11, 28, 6, tzinfo=UTC)
    on_the_hour = datetime(2026, 11, 28, 6, tzinfo=UTC)
    assert floor_to_hour(on_the_hour) == on_the_hour


@pytest.mark.parametrize(
    ("duration", "compact", "prose"),
    [
        (timedelta(hours=24), "1d", "24 h"),
        (timedelta(hours=1, minutes=30), "1h30m", "1.5 h"),
        (timedelta(days=35), "35d", "35 days"),
        (timedelta(days=7), "7d", "168 h"),
    ],
)
def test_the_two_duration_texts_are_distinct_forms(
    duration: timedelta, compact: str, prose: str
) -> None:
    assert format_duration(duration) == compact
    assert describe_duration(duration) == prose
