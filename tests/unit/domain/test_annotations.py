from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from carbon_kube.domain import annotations as ann
from carbon_kube.domain.durations import format_duration, parse_duration
from carbon_kube.domain.errors import InputError

CREATED = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)


def test_max_delay_counts_from_admission_and_adds_expected_duration() -> None:
    request = ann.parse_flexibility(
        {ann.MAX_DELAY: "6h", ann.EXPECTED_DURATION: "30m"}, submit_at=CREATED
    )
    assert request.latest_start == CREATED + timedelta(hours=6)
    assert request.deadline == CREATED + timedelta(hours=6, minutes=30)


def test_deadline_without_offset_is_rejected_naming_the_annotation() -> None:
    with pytest.raises(InputError) as caught:
        ann.parse_flexibility({ann.DEADLINE: "2026-11-28T18:00:00"}, submit_at=CREATED)
    assert caught.value.field == ann.DEADLINE
    assert "append Z" in caught.value.message


@pytest.mark.parametrize(
    "annotations",
    [{}, {ann.DEADLINE: "2026-11-28T18:00:00Z", ann.MAX_DELAY: "6h"}],
)
def test_exactly_one_of_deadline_and_max_delay_is_required(annotations: dict[str, str]) -> None:
    with pytest.raises(InputError, match="exactly one of"):
        ann.parse_flexibility(annotations, submit_at=CREATED)


@pytest.mark.parametrize(
    ("key", "value"),
    [
        (ann.MAX_DELAY, "6"),
        (ann.MAX_DELAY, "-1h"),
        (ann.EXPECTED_DURATION, "0s"),
        (ann.ALLOWED_ZONES, "germany"),
        (ann.INTERRUPTIBLE, "yes"),
    ],
)
def test_invalid_values_name_their_annotation(key: str, value: str) -> None:
    annotations = {ann.MAX_DELAY: "6h", key: value}
    with pytest.raises(InputError) as caught:
        ann.parse_flexibility(annotations, submit_at=CREATED)
    assert caught.value.field == key


def test_allowed_zones_and_interruptible_are_parsed() -> None:
    request = ann.parse_flexibility(
        {ann.MAX_DELAY: "2h", ann.ALLOWED_ZONES: "DE, FR;SE-SE3", ann.INTERRUPTIBLE: "True"},
        submit_at=CREATED,
    )
    assert request.allowed_zones == ("DE", "FR", "SE-SE3")
    assert request.interruptible
    assert not request.expected_duration_given


def test_only_the_exact_label_value_true_opts_in() -> None:
    assert ann.is_opted_in({ann.FLEXIBLE_LABEL: "true"})
    assert not ann.is_opted_in({ann.FLEXIBLE_LABEL: "yes"})
    assert not ann.is_opted_in(None)


@pytest.mark.parametrize(
    ("text", "want"),
    [("90s", timedelta(seconds=90)), ("1h30m", timedelta(minutes=90)), ("2d", timedelta(days=2))],
)
def test_durations_round_trip(text: str, want: timedelta) -> None:
    assert parse_duration(text, "x") == want
    assert parse_duration(format_duration(want), "x") == want
