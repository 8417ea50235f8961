"""Turn the (instant, value) points an API returns into an ``IntensitySeries``, or say why not.

APIs answer with lists of points; the domain wants a gap-free series on a fixed step. This module
is the one place that checks the difference: unreadable fields, empty answers, duplicates, uneven
steps and gaps all become ``ProviderPermanentError`` naming what was expected, because a series
with a silently filled hole would invent carbon data.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from itertools import pairwise
from typing import Any

import numpy as np

from carbon_kube.domain.clock import require_utc
from carbon_kube.domain.errors import ProviderPermanentError
from carbon_kube.domain.intensity import IntensitySeries, SignalKind
from carbon_kube.domain.zones import Zone

Point = tuple[datetime, float]


def require_field(provider: str, item: Any, key: str, where: str) -> Any:
    """``item[key]`` from a JSON object, or a permanent error naming the missing field."""
    if not isinstance(item, Mapping) or key not in item:
        raise ProviderPermanentError(
            provider, f"{where}: expected a JSON object with field {key!r}, got {_short(item)}"
        )
    return item[key]


def require_list(provider: str, item: Any, key: str, where: str) -> list[Any]:
    """``item[key]`` that must be a JSON array."""
    value = require_field(provider, item, key, where)
    if not isinstance(value, list):
        raise ProviderPermanentError(
            provider, f"{where}: expected field {key!r} to be a list, got {_short(value)}"
        )
    return value


def parse_instant(provider: str, text: Any, where: str) -> datetime:
    """An ISO 8601 instant with an offset (``Z`` included), returned in UTC."""
    if not isinstance(text, str):
        raise ProviderPermanentError(provider, f"{where}: expected a timestamp, got {_short(text)}")
    try:
        instant = datetime.fromisoformat(text)
    except ValueError:
        raise ProviderPermanentError(
            provider, f"{where}: expected an ISO 8601 timestamp, got {text!r}"
        ) from None
    if instant.tzinfo is None:
        raise ProviderPermanentError(provider, f"{where}: timestamp {text!r} has no UTC offset")
    return require_utc(instant, where)


def parse_value(provider: str, value: Any, where: str) -> float | None:
    """A finite, non-negative number; ``None`` stays ``None`` (the API published no value)."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ProviderPermanentError(provider, f"{where}: expected a number, got {_short(value)}")
    number = float(value)
    if not math.isfinite(number) or number < 0:
        raise ProviderPermanentError(
            provider, f"{where}: expected a finite intensity >= 0, got {value!r}"
        )
    return number


def series_from_points(
    provider: str,
    zone: Zone,
    points: Iterable[Point],
    *,
    what: str,
    signal: SignalKind = SignalKind.AVERAGE,
    step: timedelta | None = None,
) -> IntensitySeries:
    """A series from points in any order; duplicates of the same instant must agree.

    ``step`` is the source's documented resolution; without it the smallest spacing is used, so
    a single point needs ``step``. ``what`` finishes "no ... returned" in errors.
    """
    by_instant: dict[datetime, float] = {}
    for instant, value in points:
        previous = by_instant.setdefault(instant, value)
        if previous != value:
            raise ProviderPermanentError(
                provider,
                f"{zone}: two different values ({previous:g}, {value:g}) for {instant.isoformat()}",
            )
    if not by_instant:
        raise ProviderPermanentError(provider, f"{zone}: no {what} returned (empty data)")
    instants = sorted(by_instant)
    if step is None:
        if len(instants) < 2:
            raise ProviderPermanentError(
                provider, f"{zone}: a single {what} point; cannot tell the time step"
            )
        step = min(b - a for a, b in pairwise(instants))
    for before, after in pairwise(instants):
        if after - before != step:
            raise ProviderPermanentError(
                provider,
                f"{zone}: gap or uneven step in the {what} between {before.isoformat()} and "
                f"{after.isoformat()} (expected one point every {step}); gaps are not filled",
            )
    return IntensitySeries(
        zone=zone,
        start=instants[0],
        step=step,
        values_g_per_kwh=np.array([by_instant[t] for t in instants], dtype=np.float64),
        signal=signal,
    )


def clip(points: Iterable[Point], start: datetime, end: datetime) -> list[Point]:
    """The points whose instant lies in ``[start, end)``."""
    return [(t, v) for t, v in points if start <= t < end]


def chunked(start: datetime, end: datetime, size: timedelta) -> list[tuple[datetime, datetime]]:
    """``[start, end)`` cut into consecutive pieces no longer than ``size``."""
    pieces = []
    cursor = start
    while cursor < end:
        piece_end = min(cursor + size, end)
        pieces.append((cursor, piece_end))
        cursor = piece_end
    return pieces


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."
