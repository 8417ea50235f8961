"""The ``carbon-kube.io/`` labels and annotations, defined once, and their parsing.

A workload opts in with the label ``carbon-kube.io/flexible: "true"`` (on itself or its
namespace) and says how flexible it is with annotations; the decision is written back as
annotations so that all state lives on the object and a restarted controller resumes exactly.
Parsing never guesses: an invalid value is an ``InputError`` naming the annotation and the
format it expects, which the webhook turns into a rejection.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from carbon_kube.domain.durations import format_duration, parse_duration
from carbon_kube.domain.errors import InputError
from carbon_kube.domain.instants import format_rfc3339, parse_rfc3339
from carbon_kube.domain.plans import Plan, RunSegment
from carbon_kube.domain.zones import Zone, parse_zone

PREFIX = "carbon-kube.io/"
FLEXIBLE_LABEL = PREFIX + "flexible"
SCHEDULING_GATE = PREFIX + "green-window"

# What the workload asks for.
DEADLINE = PREFIX + "deadline"
MAX_DELAY = PREFIX + "max-delay"
EXPECTED_DURATION = PREFIX + "expected-duration"
ALLOWED_ZONES = PREFIX + "allowed-zones"
INTERRUPTIBLE = PREFIX + "interruptible"
# An interruptible workload's checkpoint spacing: the work a pause may lose (counted as energy).
CHECKPOINT_INTERVAL = PREFIX + "checkpoint-interval"

# What Carbon-Kube decided.
PLAN_ZONE = PREFIX + "plan-zone"
RELEASE_AT = PREFIX + "release-at"
DECIDED_AT = PREFIX + "decided-at"
FORECAST_G_PER_KWH = PREFIX + "forecast-g-per-kwh"
REASON = PREFIX + "reason"
LATEST_START = PREFIX + "latest-start"
SIGNAL_SOURCE = PREFIX + "signal-source"
FORECAST_MODEL = PREFIX + "forecast-model"
SIGNAL_STALE = PREFIX + "signal-stale"
RELEASED_AT = PREFIX + "released-at"
RELEASED_REASON = PREFIX + "released-reason"
# An interruptible workload's run segments (``start/end,start/end``, RFC 3339; written only when
# the plan has more than one) and what the controller did with them: the last pause and resume
# and how many pauses so far. The plan's first segment starts at ``release-at``.
SEGMENTS = PREFIX + "segments"
PAUSED_AT = PREFIX + "paused-at"
RESUMED_AT = PREFIX + "resumed-at"
PAUSES = PREFIX + "pauses"
# Set (to when and why) when a pause was undone because the kind's own controller did not
# confirm it in time: the workload is then never paused again and runs to its end.
PAUSING_ABANDONED = PREFIX + "pausing-abandoned"

# What the controller writes on nodes: the grid zone a node draws power from (a node selector
# for a plan's zone), the zone's current intensity, whole g/kWh, and the node's facility power
# per requested vCPU and GiB (energy model x PUE). The last three are all the native scheduler
# plugin (scheduler-plugin/) reads: it carries no tables of its own.
GRID_ZONE_LABEL = PREFIX + "grid-zone"
# On the ConfigMaps that publish a zone's signal (``providers.published``), for watches.
SIGNAL_LABEL = PREFIX + "signal"
INTENSITY_LABEL = PREFIX + "intensity-g-per-kwh"
WATTS_PER_VCPU_LABEL = PREFIX + "watts-per-vcpu"
WATTS_PER_GIB_LABEL = PREFIX + "watts-per-gib"

# Without an expected duration, a job is assumed to take this long when computing its latest
# safe start. Erring long releases earlier, which protects the deadline.
DEFAULT_EXPECTED_DURATION = timedelta(hours=1)


def is_opted_in(labels: Mapping[str, str] | None) -> bool:
    """True when ``labels`` carry ``carbon-kube.io/flexible: "true"``."""
    return (labels or {}).get(FLEXIBLE_LABEL, "").strip().lower() == "true"


@dataclass(frozen=True, slots=True)
class FlexibilityRequest:
    """What an opted-in workload's annotations ask for, in domain types."""

    deadline: datetime
    expected_duration: timedelta
    expected_duration_given: bool
    allowed_zones: tuple[Zone, ...]
    interruptible: bool

    @property
    def latest_start(self) -> datetime:
        return self.deadline - self.expected_duration


def parse_flexibility(
    annotations: Mapping[str, str] | None, *, submit_at: datetime
) -> FlexibilityRequest:
    """Read the request; ``max-delay`` counts from ``submit_at`` (admission time).

    Exactly one of ``deadline`` and ``max-delay`` must be present: with neither there is no
    flexibility to use, with both it is ambiguous which one wins.
    """
    values = dict(annotations or {})
    has_deadline = DEADLINE in values
    has_max_delay = MAX_DELAY in values
    if has_deadline == has_max_delay:
        raise InputError(
            f"set exactly one of {DEADLINE} (RFC 3339, e.g. 2026-11-28T06:00:00Z) or "
            f"{MAX_DELAY} (duration, e.g. 6h)",
            field=DEADLINE if has_deadline else MAX_DELAY,
        )
    expected_given = EXPECTED_DURATION in values
    expected = (
        _positive_duration(values[EXPECTED_DURATION], EXPECTED_DURATION)
        if expected_given
        else DEFAULT_EXPECTED_DURATION
    )
    if has_deadline:
        deadline = parse_rfc3339(values[DEADLINE], DEADLINE)
    else:
        deadline = submit_at + _positive_duration(values[MAX_DELAY], MAX_DELAY) + expected
    return FlexibilityRequest(
        deadline=deadline,
        expected_duration=expected,
        expected_duration_given=expected_given,
        allowed_zones=_zones(values.get(ALLOWED_ZONES, "")),
        interruptible=_boolean(values.get(INTERRUPTIBLE, "false"), INTERRUPTIBLE),
    )


def plan_annotations(plan: Plan, *, decided_at: datetime, latest_start: datetime) -> dict[str, str]:
    """The annotations that record ``plan`` on the workload."""
    recorded = {
        PLAN_ZONE: str(plan.zone),
        RELEASE_AT: format_rfc3339(plan.start_at),
        DECIDED_AT: format_rfc3339(decided_at),
        LATEST_START: format_rfc3339(latest_start),
        REASON: plan.reason,
    }
    if plan.forecast_g_per_kwh is not None:
        recorded[FORECAST_G_PER_KWH] = f"{plan.forecast_g_per_kwh:.1f}"
    if plan.signal is not None:
        recorded[SIGNAL_SOURCE] = plan.signal.source
        recorded[FORECAST_MODEL] = plan.signal.model
        recorded[SIGNAL_STALE] = "true" if plan.signal.stale else "false"
    if len(plan.segments) > 1:
        recorded[SEGMENTS] = format_segments(plan.segments)
    return recorded


def format_segments(segments: Sequence[RunSegment]) -> str:
    """``2026-03-10T12:00:00Z/2026-03-10T14:00:00Z,...``: ISO 8601 intervals, in order."""
    return ",".join(
        f"{format_rfc3339(segment.start_at)}/{format_rfc3339(segment.end_at)}"
        for segment in segments
    )


def parse_segments(text: str) -> tuple[RunSegment, ...]:
    """The segments of a ``segments`` annotation: ordered, non-overlapping; else InputError."""
    segments: list[RunSegment] = []
    for part in (piece.strip() for piece in text.split(",")):
        start_text, slash, end_text = part.partition("/")
        if not slash:
            raise InputError(
                f"expected START/END intervals separated by commas, got {part!r}", field=SEGMENTS
            )
        segment = RunSegment(parse_rfc3339(start_text, SEGMENTS), parse_rfc3339(end_text, SEGMENTS))
        if segment.end_at <= segment.start_at or (
            segments and segment.start_at < segments[-1].end_at
        ):
            raise InputError(f"segments must be ordered and not overlap: {text!r}", field=SEGMENTS)
        segments.append(segment)
    return tuple(segments)


def parse_allowed_zones(text: str) -> tuple[Zone, ...]:
    """The zones of an ``allowed-zones`` value (``DE,FR``; ``;`` separates too); InputError."""
    return _zones(text)


def _positive_duration(text: str, field: str) -> timedelta:
    duration = parse_duration(text, field)
    if duration <= timedelta(0):
        raise InputError(f"expected a positive duration such as 6h, got {text!r}", field=field)
    return duration


def _zones(text: str) -> tuple[Zone, ...]:
    parts = [p for p in (t.strip() for t in text.replace(";", ",").split(",")) if p]
    zones = []
    for part in parts:
        try:
            zones.append(parse_zone(part))
        except InputError:
            raise InputError(
                f"expected comma-separated grid zone ids such as DE,FR, got {text!r}",
                field=ALLOWED_ZONES,
            ) from None
    return tuple(zones)


def _boolean(text: str, field: str) -> bool:
    lowered = text.strip().lower()
    if lowered not in ("true", "false"):
        raise InputError(f'expected "true" or "false", got {text!r}', field=field)
    return lowered == "true"


__all__ = [
    "ALLOWED_ZONES",
    "CHECKPOINT_INTERVAL",
    "DEADLINE",
    "EXPECTED_DURATION",
    "FLEXIBLE_LABEL",
    "INTERRUPTIBLE",
    "MAX_DELAY",
    "PAUSED_AT",
    "PAUSES",
    "PAUSING_ABANDONED",
    "RESUMED_AT",
    "SCHEDULING_GATE",
    "SEGMENTS",
    "FlexibilityRequest",
    "format_duration",
    "format_rfc3339",
    "format_segments",
    "is_opted_in",
    "parse_flexibility",
    "parse_rfc3339",
    "parse_segments",
]
