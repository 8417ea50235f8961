"""Parsers for option values shared by several commands (times, durations)."""

from __future__ import annotations

from datetime import UTC, datetime

from carbon_kube.domain.errors import InputError


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
