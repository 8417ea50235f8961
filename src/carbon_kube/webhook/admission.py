"""Admission decisions as plain functions: ``serve_mutate`` and ``serve_validate``.

No HTTP here (``webhook.server`` parses and encodes); the planner and its clock are passed
in, so every branch is tested without a server.

**What is held, and how.** An opted-in workload is admitted *held*, with its plan recorded as
annotations (``plan_annotations``); the controller releases it at ``release-at`` (and always by
the latest safe start). Each kind's hold, its "already held" and "held by someone else" tests
are the kind's own (``carbon_kube.kinds``, asked through its registry); in short:

=================  =========================================  ==============================
kind               held by                                    released by the controller
=================  =========================================  ==============================
Pod                ``spec.schedulingGates`` += green-window   removing the gate
batch/v1 Job       ``spec.suspend: true``                     ``spec.suspend: false``
SparkApplication   ``spec.suspend: true`` (v1beta2)           ``spec.suspend: false``
FlinkDeployment    ``spec.job.state: suspended`` (v1beta1)    ``spec.job.state: running``
=================  =========================================  ==============================

Every opted-in workload is held, even one whose best start is now: one release path (the
controller's, which also tightens the node selector to the planned zone) rather than two.

**Allowed zones become node affinity.** An opted-in Pod annotated
``carbon-kube.io/allowed-zones`` gets a required node affinity in the same patch
(``policy.zone_affinity``: its region must not map to a known grid zone outside the allowed
zones and the home zone, ANDed into each of the user's own terms), so the scheduler keeps it
there without the extender's ``filter`` verb. A pod owned by a controller (a Job's pod whose
template carries the annotation) gets the affinity too, though never a gate; an annotation it
carries that cannot be parsed is ignored there (its owner was checked), as the filter did.

**Opt-in.** The label ``carbon-kube.io/flexible: "true"`` on the object, or on its namespace.
The webhook is registered twice (see docs/enforcement.md): ``/mutate`` with an
``objectSelector`` on the label, and ``/mutate/namespace`` with a ``namespaceSelector`` on the
label plus an ``objectSelector`` that the object does *not* carry the label. So the server
learns namespace opt-in from the path, without reading the Namespace at admission (no API
round trip, no RBAC on namespaces, no failure mode when the apiserver is slow), and an object
labelled ``"false"`` in an opted-in namespace opts out.

**Pods owned by a controller are never gated.** The owner (a Job, a SparkApplication's driver,
a FlinkDeployment's Deployment) is the unit of flexibility and is held by its own mechanism.
When the controller resumes a Job that carbon-kube suspended, the Job controller creates its
pods *now*, and they must start now: gating them again would hold the work twice and could
push it past its deadline. The webhook cannot see the owner's annotations without an API read
at admission, and needs none: "has a controller owner" is on the pod itself. A pod of an
opted-in namespace whose Job did not opt in is therefore not held either; label the Job.

**Idempotent.** A workload already held (gate present, or suspended with a plan recorded) is
left unchanged, so reinvocation or a second matching webhook never holds twice. A workload the
user already suspended without a Carbon-Kube plan (e.g. Kueue manages it) is left alone, with
a warning: its suspend flag belongs to someone else.

**Invalid annotations** are refused (``allowed: false``) with a message naming the annotation
and the format it expects, on CREATE by both paths and on UPDATE by ``serve_validate`` when
the Carbon-Kube annotations changed. Objects that do not opt in are never inspected further.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from carbon_kube.domain.annotations import (
    ALLOWED_ZONES,
    DEADLINE,
    EXPECTED_DURATION,
    FLEXIBLE_LABEL,
    INTERRUPTIBLE,
    MAX_DELAY,
    RELEASED_AT,
    is_opted_in,
    parse_allowed_zones,
    parse_flexibility,
    plan_annotations,
)
from carbon_kube.domain.durations import format_duration
from carbon_kube.domain.errors import InputError
from carbon_kube.domain.instants import format_rfc3339
from carbon_kube.domain.workloads import Workload, WorkloadKind
from carbon_kube.domain.zones import RegionZoneMap, Zone
from carbon_kube.kinds.protocol import JsonPatch
from carbon_kube.kinds.registry import adapter_for, kind_of
from carbon_kube.observability.metrics import DECISIONS
from carbon_kube.planning.service import PlanningService
from carbon_kube.planning.workloads import workload_from_object
from carbon_kube.policy.zone_affinity import require_node_expression, zone_requirement
from carbon_kube.webhook.reviews import (
    AdmissionRequest,
    AdmissionReviewRequest,
    AdmissionReviewResponse,
    allow,
    allow_with_patch,
    deny,
)

_REQUEST_KEYS = (DEADLINE, MAX_DELAY, EXPECTED_DURATION, ALLOWED_ZONES, INTERRUPTIBLE)


def serve_mutate(
    review: AdmissionReviewRequest,
    planner: PlanningService,
    *,
    regions: RegionZoneMap,
    namespace_opted_in: bool = False,
) -> AdmissionReviewResponse:
    """Hold an opted-in workload at creation and record its plan (see module docstring).

    ``regions`` maps a node's region label to its grid zone for the allowed-zones affinity;
    give the extender's table (``--region-map``) so both agree on every node.
    """
    request = review.request
    kind = _held_kind(request)
    obj = request.object
    if kind is None or request.operation != "CREATE" or obj is None:
        return allow(request.uid)
    if not _opted_in(obj, namespace_opted_in):
        return allow(request.uid)
    if _controlled_pod(kind, obj):
        return allow_with_patch(
            request.uid, _controlled_pod_affinity(obj, planner.settings.home, regions)
        )
    adapter = adapter_for(kind)
    if adapter.already_held(obj):
        return allow(request.uid)
    now = planner.clock.now()
    try:
        workload, _ = workload_from_object(
            kind,
            obj,
            home_zone=planner.settings.home,
            submit_at=now,
            namespace=request.namespace,
        )
    except InputError as error:
        return deny(request.uid, rejection_message(error))
    foreign = adapter.foreign_hold(obj)
    if foreign is not None:
        return allow(request.uid, warnings=[foreign])
    plan = planner.plan(workload)
    DECISIONS.labels("webhook", kind.value, plan.reason).inc()
    recorded = plan_annotations(plan, decided_at=now, latest_start=workload.latest_start)
    # No room to wait: holding would only add the controller's release lag to a late job.
    late = not workload.can_meet_deadline
    operations = [
        *_annotation_patch(obj, recorded, remove=(RELEASED_AT,)),
        *([] if late else adapter.hold_patch(obj)),
    ]
    if kind is WorkloadKind.POD:
        operations += _affinity_patch(obj, workload.allowed_zones, workload.home_zone, regions)
    warnings = [_late_warning(workload)] if late else None
    return allow_with_patch(request.uid, operations, warnings=warnings)


def _late_warning(workload: Workload) -> str:
    return (
        f"carbon-kube: admitted without holding at {format_rfc3339(workload.submit_at)}: the "
        f"deadline has passed or is less than the expected run "
        f"({format_duration(workload.expected_duration)}) away, so waiting would only make it "
        "later; check carbon-kube.io/deadline or max-delay"
    )


def serve_validate(
    review: AdmissionReviewRequest, *, now: datetime, namespace_opted_in: bool = False
) -> AdmissionReviewResponse:
    """Refuse an opted-in workload whose Carbon-Kube annotations cannot be parsed.

    On UPDATE only a change to those annotations is checked, so an object admitted before
    the webhook existed is never blocked by an unrelated update (say, the controller
    releasing it).
    """
    request = review.request
    kind = _held_kind(request)
    obj = request.object
    if kind is None or obj is None or request.operation not in ("CREATE", "UPDATE"):
        return allow(request.uid)
    if not _opted_in(obj, namespace_opted_in) or _controlled_pod(kind, obj):
        return allow(request.uid)
    if request.operation == "UPDATE" and _request_annotations(obj) == _request_annotations(
        request.old_object or {}
    ):
        return allow(request.uid)
    try:
        parse_flexibility(_annotations(obj), submit_at=now)
    except InputError as error:
        return deny(request.uid, rejection_message(error))
    return allow(request.uid)


def rejection_message(error: InputError) -> str:
    """What kubectl shows after "admission webhook ... denied the request:".

    ``carbon-kube: annotation carbon-kube.io/deadline: expected an RFC 3339 time such as
    2026-11-28T06:00:00Z, got 'tomorrow'``.
    """
    if error.field is None:
        return f"carbon-kube: {error.message}"
    return f"carbon-kube: annotation {error.field}: {error.message}"


def _held_kind(request: AdmissionRequest) -> WorkloadKind | None:
    if request.sub_resource:
        return None  # status, scale, ...: never the workload's own spec
    gvk = request.kind
    return kind_of(gvk.group, gvk.version, gvk.kind)


def _opted_in(obj: Mapping[str, Any], namespace_opted_in: bool) -> bool:
    labels = _mapping(_mapping(obj.get("metadata")).get("labels"))
    if FLEXIBLE_LABEL in labels:
        return is_opted_in({FLEXIBLE_LABEL: str(labels[FLEXIBLE_LABEL])})
    return namespace_opted_in


def _controlled_pod(kind: WorkloadKind, obj: Mapping[str, Any]) -> bool:
    if kind is not WorkloadKind.POD:
        return False
    owners = _mapping(obj.get("metadata")).get("ownerReferences")
    return isinstance(owners, list) and any(
        isinstance(owner, Mapping) and owner.get("controller") is True for owner in owners
    )


def _affinity_patch(
    obj: Mapping[str, Any],
    allowed_zones: tuple[Zone, ...],
    home_zone: Zone | None,
    regions: RegionZoneMap,
) -> JsonPatch:
    """Replace ``spec.affinity`` with one that keeps the pod in its allowed zones, if needed."""
    requirement = zone_requirement(allowed_zones, home_zone, regions)
    if requirement is None:
        return []
    current = _mapping(obj.get("spec")).get("affinity")
    merged = require_node_expression(current if isinstance(current, Mapping) else None, requirement)
    if merged == current:
        return []  # already there: admission ran twice
    # "add" on an existing member replaces it (RFC 6902 4.1).
    return [{"op": "add", "path": "/spec/affinity", "value": merged}]


def _controlled_pod_affinity(
    obj: Mapping[str, Any], home_zone: Zone | None, regions: RegionZoneMap
) -> JsonPatch:
    text = _annotations(obj).get(ALLOWED_ZONES)
    if text is None:
        return []
    try:
        allowed = parse_allowed_zones(text)
    except InputError:
        return []  # never refuse a controller's pod: its owner's annotations were checked
    return _affinity_patch(obj, allowed, home_zone, regions)


def _annotation_patch(
    obj: Mapping[str, Any], recorded: Mapping[str, str], *, remove: tuple[str, ...]
) -> JsonPatch:
    metadata = _mapping(obj.get("metadata"))
    existing = metadata.get("annotations")
    if not isinstance(existing, Mapping) or not existing:
        return [{"op": "add", "path": "/metadata/annotations", "value": dict(recorded)}]
    operations: JsonPatch = [
        {"op": "add", "path": f"/metadata/annotations/{_pointer(key)}", "value": value}
        for key, value in recorded.items()
    ]
    # A manifest copied from a released object must not look released already.
    operations += [
        {"op": "remove", "path": f"/metadata/annotations/{_pointer(key)}"}
        for key in remove
        if key in existing
    ]
    return operations


def _pointer(key: str) -> str:
    """RFC 6901 escaping: ``carbon-kube.io/reason`` -> ``carbon-kube.io~1reason``."""
    return key.replace("~", "~0").replace("/", "~1")


def _annotations(obj: Mapping[str, Any]) -> dict[str, str]:
    raw = _mapping(_mapping(obj.get("metadata")).get("annotations"))
    return {str(k): str(v) for k, v in raw.items()}


def _request_annotations(obj: Mapping[str, Any]) -> dict[str, str]:
    annotations = _annotations(obj)
    return {key: annotations[key] for key in _REQUEST_KEYS if key in annotations}


def _mapping(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}
