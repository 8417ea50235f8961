"""What the kinds share about holding: whose hold it is, and the release record.

A kind held by a flag the user may also set (``spec.suspend``, Flink's ``spec.job.state``)
counts as held by Carbon-Kube only when it opted in (label ``carbon-kube.io/flexible:
"true"``) or carries a plan (``release-at``/``latest-start``), and was never released before
(no ``released-at``): a user who suspends a job by hand after we released it keeps it
suspended. A Pod's gate is Carbon-Kube's own and needs no such test. An object being deleted
is never held: releasing it would only start work nobody wants.

Releasing a never-started workload may also tighten its node selector to the planned grid zone
in the same update (:func:`tightening_selector`), but only when some known node satisfies both
the plan and the workload's own selector: a tightening no node can satisfy would strand the
work, which is worse than running it in another zone. Pure, no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from carbon_kube.domain.annotations import (
    GRID_ZONE_LABEL,
    LATEST_START,
    PAUSED_AT,
    PAUSES,
    PAUSING_ABANDONED,
    PLAN_ZONE,
    RELEASE_AT,
    RELEASED_AT,
    RELEASED_REASON,
    RESUMED_AT,
    format_rfc3339,
    is_opted_in,
)
from carbon_kube.domain.workloads import WorkloadKind
from carbon_kube.kinds.objects import mapping, metadata

__all__ = [
    "SUSPEND_PATCH",
    "SuspendFlagPausing",
    "going_away",
    "pause_annotations",
    "pause_body",
    "plan_recorded",
    "plan_zone",
    "release_annotations",
    "resume_annotations",
    "resume_body",
    "suspend_flag_foreign",
    "suspended_hold_is_ours",
    "tightening_selector",
]

# "add" on an existing member replaces it (RFC 6902 4.1).
SUSPEND_PATCH = ({"op": "add", "path": "/spec/suspend", "value": True},)


def going_away(obj: Mapping[str, Any]) -> bool:
    return bool(metadata(obj).get("deletionTimestamp"))


def plan_recorded(obj: Mapping[str, Any]) -> bool:
    """Admission recorded a plan (``release-at``) on ``obj``."""
    return RELEASE_AT in mapping(metadata(obj).get("annotations"))


def suspended_hold_is_ours(obj: Mapping[str, Any]) -> bool:
    """A flag-held object is Carbon-Kube's to release (see the module docstring)."""
    meta = metadata(obj)
    if going_away(obj):
        return False
    annotations = mapping(meta.get("annotations"))
    if RELEASED_AT in annotations:
        return False
    carries_plan = RELEASE_AT in annotations or LATEST_START in annotations
    return is_opted_in(meta.get("labels")) or carries_plan


def suspend_flag_foreign(kind: WorkloadKind, obj: Mapping[str, Any]) -> str | None:
    """The warning for an object created with ``spec.suspend: true`` (someone else's flag)."""
    if mapping(obj.get("spec")).get("suspend") is True:
        return (
            f"carbon-kube: {kind.value} is created suspended by its owner (e.g. Kueue); "
            "carbon-kube leaves its suspend flag alone and does not plan it"
        )
    return None


def release_annotations(released_at: datetime, reason: str) -> dict[str, str]:
    """The record every release writes: when, and why."""
    return {RELEASED_AT: format_rfc3339(released_at), RELEASED_REASON: reason}


def pause_annotations(obj: Mapping[str, Any], paused_at: datetime) -> dict[str, str]:
    """The record of a pause: when, and the count so far (an unreadable count restarts at 1)."""
    recorded = mapping(metadata(obj).get("annotations")).get(PAUSES, "0")
    try:
        done = max(0, int(str(recorded)))
    except ValueError:
        done = 0
    return {PAUSED_AT: format_rfc3339(paused_at), PAUSES: str(done + 1)}


def resume_annotations(
    resumed_at: datetime, *, abandon_pausing: str | None = None
) -> dict[str, str | None]:
    """The record of a resume; ``paused-at`` is removed (None deletes it in a merge patch).

    ``abandon_pausing`` (why) also records that the workload is never to be paused again.
    """
    record: dict[str, str | None] = {PAUSED_AT: None, RESUMED_AT: format_rfc3339(resumed_at)}
    if abandon_pausing is not None:
        record[PAUSING_ABANDONED] = f"{format_rfc3339(resumed_at)} {abandon_pausing}"
    return record


def pause_body(
    obj: Mapping[str, Any], paused_at: datetime, spec: Mapping[str, Any]
) -> dict[str, Any]:
    """The merge patch that pauses ``obj``: the kind's own ``spec`` change and the record."""
    return {"metadata": {"annotations": pause_annotations(obj, paused_at)}, "spec": dict(spec)}


def resume_body(
    resumed_at: datetime, spec: Mapping[str, Any], *, abandon_pausing: str | None = None
) -> dict[str, Any]:
    """The merge patch that resumes a paused workload (see :func:`resume_annotations`)."""
    annotations = resume_annotations(resumed_at, abandon_pausing=abandon_pausing)
    return {"metadata": {"annotations": annotations}, "spec": dict(spec)}


class SuspendFlagPausing:
    """Pause and resume for kinds held by their own ``spec.suspend`` (Job, SparkApplication).

    Their controller deletes the pods (driver and executors) on ``suspend: true``; the work
    since the last checkpoint is lost. ``suspend: false`` starts new ones.
    """

    def pause_patch(self, obj: Mapping[str, Any], *, paused_at: datetime) -> dict[str, Any]:
        return pause_body(obj, paused_at, {"suspend": True})

    def resume_patch(
        self, obj: Mapping[str, Any], *, resumed_at: datetime, abandon_pausing: str | None = None
    ) -> dict[str, Any]:
        return resume_body(resumed_at, {"suspend": False}, abandon_pausing=abandon_pausing)


def plan_zone(obj: Mapping[str, Any]) -> str | None:
    zone = mapping(metadata(obj).get("annotations")).get(PLAN_ZONE)
    return str(zone) if zone else None


def tightening_selector(
    workload_selector: Mapping[str, str] | None,
    plan_zone: str | None,
    node_labels: Iterable[Mapping[str, str]],
) -> dict[str, str] | None:
    """The node-selector entry to add for ``plan_zone``, or None when it must not be added.

    None when there is no plan zone, when the workload already selects a grid zone (we never
    override the user), or when no known node carries ``plan_zone`` and also matches the
    workload's own selector.
    """
    if not plan_zone:
        return None
    own = dict(workload_selector or {})
    if GRID_ZONE_LABEL in own:
        return None
    wanted = {**own, GRID_ZONE_LABEL: plan_zone}
    for labels in node_labels:
        if all(labels.get(key) == value for key, value in wanted.items()):
            return {GRID_ZONE_LABEL: plan_zone}
    return None
