"""A released interruptible workload's segment plan and progress, read from its annotations.

All the controller needs to carry out the plan is on the object: ``segments`` (the plan),
``paused-at`` and ``pauses`` (what it did), ``checkpoint-interval`` (the work a pause loses)
and the flexibility annotations (the deadline). A restarted controller reads the same state
and asks ``policy.segment_steps`` the same question. Pure, no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from carbon_kube.domain.annotations import (
    CHECKPOINT_INTERVAL,
    INTERRUPTIBLE,
    PAUSED_AT,
    PAUSES,
    PAUSING_ABANDONED,
    RELEASED_AT,
    RESUMED_AT,
    SEGMENTS,
    parse_flexibility,
    parse_rfc3339,
    parse_segments,
)
from carbon_kube.domain.durations import parse_duration
from carbon_kube.domain.errors import InputError
from carbon_kube.kinds.protocol import PausableKind
from carbon_kube.policy.segment_steps import SegmentProgress

__all__ = ["running_progress"]


def running_progress(
    kind: PausableKind, obj: Mapping[str, Any], *, submit_at: datetime
) -> SegmentProgress | None:
    """The plan to carry out for ``obj``, or None when there is none to carry out.

    None unless ``obj`` is interruptible, was released by Carbon-Kube, has a plan of several
    segments, has not finished and pausing it was not abandoned. Unreadable annotations also
    give None: the workload then runs to its end, which is always safe.
    """
    meta = obj.get("metadata") or {}
    annotations: Mapping[str, str] = meta.get("annotations") or {}
    if annotations.get(INTERRUPTIBLE, "").strip().lower() != "true":
        return None
    if RELEASED_AT not in annotations or SEGMENTS not in annotations:
        return None
    if PAUSING_ABANDONED in annotations:
        return None
    # A paused FlinkDeployment reports its job FINISHED (cancelled with a savepoint): only work
    # that is not paused can have finished.
    if not annotations.get(PAUSED_AT) and kind.finished(obj):
        return None
    try:
        segments = parse_segments(annotations[SEGMENTS])
        deadline = parse_flexibility(annotations, submit_at=submit_at).deadline
        paused = annotations.get(PAUSED_AT)
        resumed = annotations.get(RESUMED_AT)
        lost = annotations.get(CHECKPOINT_INTERVAL)
        return SegmentProgress(
            segments=segments,
            deadline=deadline,
            released_at=parse_rfc3339(annotations[RELEASED_AT], RELEASED_AT),
            paused_at=parse_rfc3339(paused, PAUSED_AT) if paused else None,
            resumed_at=parse_rfc3339(resumed, RESUMED_AT) if resumed else None,
            pauses=max(0, int(annotations.get(PAUSES, "0"))),
            lost_per_pause=parse_duration(lost, CHECKPOINT_INTERVAL) if lost else timedelta(0),
            pause_confirmed=not paused or kind.pause_confirmed(obj),
        )
    except (InputError, ValueError):
        return None
