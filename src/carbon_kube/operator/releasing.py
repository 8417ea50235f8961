"""When a held workload must be released: pure functions of its annotations and the time.

A held workload is released at the earlier of its planned ``release-at`` and its latest safe
start. The latest safe start is the ``latest-start`` annotation when present, else computed from
``deadline`` (or ``max-delay`` counted from creation) minus ``expected-duration``. This needs no
carbon signal, so a workload is released by its latest safe start even when every provider is
down and no plan was ever made.

Edges, all resolved towards releasing (a hold must never outlive its reason):
- no plan and no deadline information: due at once;
- an unparseable annotation: ignored if another source of timing remains, else due at once;
- ``lead``: release this much before the due instant, to absorb the time the release itself
  takes (API latency, scheduling), which in a sped-up lab is many virtual minutes per second.

No I/O and no wall clock here: ``now`` is passed in.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from carbon_kube.domain.annotations import (
    DEADLINE,
    LATEST_START,
    MAX_DELAY,
    RELEASE_AT,
    parse_flexibility,
    parse_rfc3339,
)
from carbon_kube.domain.errors import InputError

__all__ = [
    "DueReason",
    "ReleaseTiming",
    "due_for_release",
    "release_timing",
]


class DueReason(StrEnum):
    """Why a workload is due when it is: written to logs and to the ``released-reason``."""

    PLANNED = "planned"  # the plan's release-at came first
    LATEST_SAFE_START = "latest-safe-start"  # the deadline guard came first (or no plan)
    NO_TIMING = "no-timing"  # nothing says when: released at once


@dataclass(frozen=True, slots=True)
class ReleaseTiming:
    """The instant a workload is due, why, and any annotation that could not be read."""

    due_at: datetime | None
    reason: DueReason
    problems: tuple[str, ...] = ()

    def is_due(self, now: datetime, lead: timedelta = timedelta(0)) -> bool:
        """True from ``due_at - lead`` on; always True without a due instant."""
        return self.due_at is None or now >= self.due_at - lead


def release_timing(annotations: Mapping[str, str] | None, *, submit_at: datetime) -> ReleaseTiming:
    """Read when the workload is due (see the module docstring for the rules).

    ``submit_at`` is the workload's creation instant on the controller's clock (in the lab,
    the real ``creationTimestamp`` mapped to virtual time); only ``max-delay`` uses it.
    """
    values = dict(annotations or {})
    problems: list[str] = []
    planned = _instant(values, RELEASE_AT, problems)
    latest = _instant(values, LATEST_START, problems)
    if latest is None and (DEADLINE in values or MAX_DELAY in values):
        try:
            latest = parse_flexibility(values, submit_at=submit_at).latest_start
        except InputError as error:
            problems.append(error.render())
    if latest is not None and (planned is None or latest <= planned):
        return ReleaseTiming(latest, DueReason.LATEST_SAFE_START, tuple(problems))
    if planned is not None:
        return ReleaseTiming(planned, DueReason.PLANNED, tuple(problems))
    return ReleaseTiming(None, DueReason.NO_TIMING, tuple(problems))


def due_for_release(
    annotations: Mapping[str, str] | None,
    now: datetime,
    *,
    submit_at: datetime,
    lead: timedelta = timedelta(0),
) -> bool:
    """True when a held workload with ``annotations`` should be released at ``now``."""
    return release_timing(annotations, submit_at=submit_at).is_due(now, lead)


def _instant(values: Mapping[str, str], key: str, problems: list[str]) -> datetime | None:
    if key not in values:
        return None
    try:
        return parse_rfc3339(values[key], key)
    except InputError as error:
        problems.append(error.render())
        return None
