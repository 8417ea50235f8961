"""The extender's decisions: ``serve_filter`` and ``serve_prioritize`` as plain functions.

``serve_prioritize`` scores every candidate node by ``intensity(zone(node)) x energy(node
type, pod request)`` through ``policy.scoring.score_nodes`` (0..10; the lowest-emission node
10). Nodes whose zone has no data score neutral (5): carbon never blocks or decides scheduling
without data. Scores depend only on (grid zone, instance type), so nodes are grouped by that
pair (``NodeCache.groups``) and scored once per group: thousands of nodes cost a dictionary
lookup each, and the answer stays by group (``Priorities``) until it is encoded.

``serve_filter`` removes only nodes a workload's policy forbids: a pod annotated
``carbon-kube.io/allowed-zones`` may run in those grid zones and the cluster's home zone;
nodes in another *known* grid zone fail with a reason. Nodes with no known grid zone pass
(no data never forbids), and an unparsable annotation filters nothing (the webhook rejects it
at admission; the scheduler must not strand a pod over it). Holding work is never done by
failing a filter: that is what scheduling gates and suspend are for.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from carbon_kube.domain.annotations import ALLOWED_ZONES, EXPECTED_DURATION, parse_allowed_zones
from carbon_kube.domain.durations import parse_duration
from carbon_kube.domain.errors import InputError
from carbon_kube.domain.instants import floor_to_hour
from carbon_kube.domain.workloads import WorkloadKind
from carbon_kube.domain.zones import Zone
from carbon_kube.energy.power import PowerModel, default_power_model
from carbon_kube.extender.nodes import NodeCache
from carbon_kube.extender.wire import ExtenderArgs, ExtenderFilterResult, NodeList, Priorities
from carbon_kube.observability.metrics import EXTENDER_FILTERED_NODES
from carbon_kube.planning.service import PlanningService
from carbon_kube.planning.workloads import object_size
from carbon_kube.policy.scoring import NodeEnergy, score_nodes

log = logging.getLogger(__name__)

# Without an expected-duration annotation a pod is scored as running an hour: only the ratio
# between nodes matters to the score, so the choice does not change the ranking.
DEFAULT_SCORED_DURATION = timedelta(hours=1)
FILTER_REASON = "outside-allowed-zones"


class ZoneIntensities:
    """Current intensity per zone, refreshed when the planner's hour turns or ``ttl`` passes.

    Scoring runs on every scheduling cycle; asking the provider each time would put its
    latency (possibly an HTTP call) in the scheduler's hot path. Hourly data change on the
    hour, so the cache follows the planner's clock (virtual in the lab) and a real-time TTL.
    """

    def __init__(self, planner: PlanningService, ttl: timedelta = timedelta(seconds=30)) -> None:
        self._planner = planner
        self._ttl_s = ttl.total_seconds()
        self._lock = threading.Lock()
        self._values: dict[Zone, float] = {}
        self._asked: frozenset[Zone] = frozenset()
        self._hour: datetime | None = None
        self._refreshed_s = float("-inf")

    def current(self, zones: Iterable[Zone]) -> Mapping[Zone, float]:
        wanted = frozenset(zones)
        hour = floor_to_hour(self._planner.clock.now())
        stale = (
            hour != self._hour
            or time.monotonic() - self._refreshed_s > self._ttl_s
            or not wanted <= self._asked
        )
        if stale:
            with self._lock:
                asked = self._asked | wanted
                self._values = self._planner.intensities_now(asked)
                self._asked, self._hour = asked, hour
                self._refreshed_s = time.monotonic()
        return self._values


@dataclass
class ExtenderContext:
    """What the extender decides with: nodes, current intensities and the home zone."""

    nodes: NodeCache
    intensities: ZoneIntensities
    home_zone: Zone | None = None


def serve_filter(args: ExtenderArgs, context: ExtenderContext) -> ExtenderFilterResult:
    """Pass every node except those in a known grid zone the pod's policy forbids."""
    _learn_nodes(args, context)
    names = args.candidate_names()
    allowed = _allowed_zones(args.pod, context.home_zone)
    failed: dict[str, str] = {}
    if allowed is not None:
        for name in names:
            info = context.nodes.get(name)
            if info is not None and info.zone is not None and info.zone not in allowed:
                failed[name] = (
                    f"carbon-kube: node is in grid zone {info.zone}, not in "
                    f"{ALLOWED_ZONES}={','.join(sorted(allowed))}"
                )
        if failed:
            EXTENDER_FILTERED_NODES.labels(FILTER_REASON).inc(len(failed))
    passing = [name for name in names if name not in failed]
    if args.node_names is not None:
        return ExtenderFilterResult(node_names=passing, failed_nodes=failed)
    items = args.nodes.items if args.nodes is not None else []
    kept = [node for node in items if _name(node) not in failed]
    return ExtenderFilterResult(nodes=NodeList(items=kept), failed_nodes=failed)


def serve_prioritize(args: ExtenderArgs, context: ExtenderContext) -> Priorities:
    """0..10 per node, lower expected emissions scoring higher (see module docstring)."""
    _learn_nodes(args, context)
    names = args.candidate_names()
    cpus, memory_gib = object_size(WorkloadKind.POD, args.pod)
    hours = _scored_duration(args.pod) / timedelta(hours=1)
    view = context.nodes.groups()
    entries = view.entries(names)
    used = sorted({group for group, _ in entries})
    candidates = [
        NodeEnergy(
            node=str(group),
            zone=view.keys[group][0],
            energy_kwh=_power_model(view.keys[group][1]).energy_kwh(cpus, memory_gib, hours),
        )
        for group in used
    ]
    zones = [view.keys[group][0] for group in used]
    intensities = context.intensities.current(zone for zone in zones if zone is not None)
    score_of_group = [0] * len(view.keys)
    for group, score in zip(used, score_nodes(candidates, intensities), strict=True):
        score_of_group[group] = score
    return Priorities(hosts=names, entries=entries, score_of_group=score_of_group)


def _learn_nodes(args: ExtenderArgs, context: ExtenderContext) -> None:
    # A scheduler that is not node-cache capable sends whole Nodes: learn from them.
    if args.nodes is not None and args.nodes.items:
        context.nodes.update(args.nodes.items)


@functools.cache
def _power_model(instance_type: str | None) -> PowerModel:
    """CCF's model refined by the instance family (Arm Graviton draws less per vCPU)."""
    return default_power_model(instance_type=instance_type)


def _annotations(pod: Mapping[str, Any]) -> dict[str, str]:
    metadata = pod.get("metadata")
    raw = metadata.get("annotations") if isinstance(metadata, Mapping) else None
    return {str(k): str(v) for k, v in raw.items()} if isinstance(raw, Mapping) else {}


def _allowed_zones(pod: Mapping[str, Any], home_zone: Zone | None) -> frozenset[Zone] | None:
    """The zones the pod may run in, or None when it does not restrict zones (or is invalid)."""
    annotations = _annotations(pod)
    if ALLOWED_ZONES not in annotations:
        return None
    try:
        listed = parse_allowed_zones(annotations[ALLOWED_ZONES])
    except InputError as error:
        log.info("ignoring pod zone restriction: %s", error.render())
        return None
    if not listed:
        return None
    zones = set(listed)
    if home_zone is not None:
        zones.add(home_zone)
    return frozenset(zones)


def _scored_duration(pod: Mapping[str, Any]) -> timedelta:
    text = _annotations(pod).get(EXPECTED_DURATION)
    if text is None:
        return DEFAULT_SCORED_DURATION
    try:
        duration = parse_duration(text, EXPECTED_DURATION)
    except InputError:
        return DEFAULT_SCORED_DURATION
    return duration if duration > timedelta(0) else DEFAULT_SCORED_DURATION


def _name(node: Mapping[str, Any]) -> str | None:
    metadata = node.get("metadata")
    name = metadata.get("name") if isinstance(metadata, Mapping) else None
    return name if isinstance(name, str) else None
