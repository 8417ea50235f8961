"""Durations as text: the compact form people write, and the form messages read in.

``parse_duration`` and ``format_duration`` are the compact form of annotations and options
(``90s``, ``30m``, ``6h``, ``2d``, also ``1h30m``); one is the inverse of the other, and a bare
number is refused: units are never implied. ``describe_duration`` is prose for error messages
and reports (``24 h``, ``35 days``) and is never parsed back.
"""

from __future__ import annotations

import re
from datetime import timedelta

from carbon_kube.domain.errors import InputError

_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d)")
_WHOLE = re.compile(r"^(?:\d+(?:\.\d+)?(?:ms|s|m|h|d))+$")
_UNIT_S = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


def parse_duration(text: str, field: str) -> timedelta:
    """Parse ``text``; ``field`` names the option or annotation in the error message."""
    compact = text.strip().replace(" ", "")
    if not _WHOLE.match(compact):
        raise InputError(f"expected a duration such as 30m, 6h or 1h30m, got {text!r}", field=field)
    seconds = sum(float(n) * _UNIT_S[unit] for n, unit in _PART.findall(compact))
    return timedelta(seconds=seconds)


def format_duration(duration: timedelta) -> str:
    """The inverse for whole seconds: ``timedelta(hours=1, minutes=30)`` -> ``1h30m``."""
    total_s = int(duration.total_seconds())
    if total_s == 0:
        return "0s"
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        count, total_s = divmod(total_s, size)
        if count:
            parts.append(f"{count}{unit}")
    return "".join(parts)


def describe_duration(duration: timedelta) -> str:
    """``24 h``, ``72 h``, ``35 days``: how durations read in messages (whole weeks+ in days)."""
    hours = duration.total_seconds() / 3600
    if hours > 168 and hours % 24 == 0:
        return f"{int(hours // 24)} days"
    return f"{hours:g} h"


def readable_seconds(seconds: float) -> str:
    """``16 s``, ``12 min``, ``5.3 h``, ``3.2 days``: a statistic in the unit that shows it.

    A fixed unit hid short jobs (16 s printed as 0.00 h in a SWIM summary).
    """
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.0f} min"
    if seconds < 48 * 3600:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"
