"""Instants as text and on the hour: the one place RFC 3339 strings are written and read.

Annotations, leases, CSV files, exports and provider requests all write UTC instants with a
``Z``; they differ only in precision, and the precision is part of each contract (Kubernetes
MicroTime needs microseconds, an annotation is read by people and carries whole seconds, some
APIs want minutes). So there is one formatter with a ``Precision`` rather than one format
string per caller. Flooring to the hour is here too, because plans, data windows and caches
all agree on which hour an instant belongs to only if they floor the same way.

Pure functions only: no clock is read here (callers pass ``now``) and nothing is written.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum

import numpy as np
import numpy.typing as npt

from carbon_kube.domain.arrays import FloatArray, IntArray
from carbon_kube.domain.clock import require_utc
from carbon_kube.domain.errors import InputError


class Precision(StrEnum):
    """How much of an instant an RFC 3339 string keeps (the rest is truncated, not rounded)."""

    MINUTES = "minutes"  # 2022-01-01T00:00Z: what some provider APIs take in their paths
    SECONDS = "seconds"  # 2022-01-01T00:00:00Z: annotations, CSV files, reports
    MICROSECONDS = "microseconds"  # 2022-01-01T00:00:00.000000Z: Kubernetes MicroTime
    EXACT = "exact"  # seconds, or microseconds when the instant has a fraction (lossless)


_FORMATS = {
    Precision.MINUTES: "%Y-%m-%dT%H:%MZ",
    Precision.SECONDS: "%Y-%m-%dT%H:%M:%SZ",
    Precision.MICROSECONDS: "%Y-%m-%dT%H:%M:%S.%fZ",
}


def format_rfc3339(instant: datetime, precision: Precision = Precision.SECONDS) -> str:
    """``instant`` in UTC with a ``Z``; a naive datetime is refused rather than guessed at."""
    utc = require_utc(instant, "RFC 3339 time")
    if precision is Precision.EXACT:
        return utc.isoformat().replace("+00:00", "Z")
    return utc.strftime(_FORMATS[precision])


def format_rfc3339_epoch_s(epoch_s: FloatArray | IntArray) -> npt.NDArray[np.str_]:
    """Whole-second RFC 3339 UTC strings for a column of epoch seconds (rounded to the second).

    Vectorised because job tables have a million rows; the strings equal ``format_rfc3339``
    with ``Precision.SECONDS`` for whole seconds.
    """
    text = np.datetime_as_string(np.round(epoch_s).astype("datetime64[s]"), unit="s")
    stamps: npt.NDArray[np.str_] = np.char.add(text, "Z")
    return stamps


def parse_rfc3339(text: str, field: str) -> datetime:
    """An instant with an explicit offset, in UTC; naive times are refused, not assumed UTC.

    ``field`` names the annotation or option in the error, so the user knows what to fix.
    """
    try:
        instant = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise InputError(
            f"expected an RFC 3339 time such as 2026-11-28T06:00:00Z, got {text!r}", field=field
        ) from None
    if instant.tzinfo is None:
        raise InputError(f"time {text!r} has no UTC offset; append Z", field=field)
    return instant.astimezone(UTC)


def floor_to_hour(instant: datetime) -> datetime:
    """The start of the hour holding ``instant`` (in its own offset, which is UTC here)."""
    return instant.replace(minute=0, second=0, microsecond=0)
