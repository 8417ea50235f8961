"""What the extender knows about nodes: grid zone and instance type per node name.

With ``nodeCacheCapable: true`` the scheduler sends node *names* only, so the extender keeps
its own cache, filled from Node objects: those the scheduler sends when it is not node-cache
capable, and a periodic list through ``carbon_kube.kube`` (``NodeCacheRefresher``).

A node's grid zone comes from its cloud region label (``topology.kubernetes.io/region``)
through the region -> grid-zone table (``providers.regions``); carbon intensity belongs to a
grid, not to an availability zone. A node without a region label, or in a region the table
does not know, has no grid zone: it scores neutral and is never filtered out.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from carbon_kube.domain.errors import InputError
from carbon_kube.domain.zones import RegionZoneMap, Zone

log = logging.getLogger(__name__)

REGION_LABEL = "topology.kubernetes.io/region"
INSTANCE_TYPE_LABEL = "node.kubernetes.io/instance-type"


@dataclass(frozen=True, slots=True)
class NodeInfo:
    """The facts scoring needs about one node."""

    name: str
    zone: Zone | None
    instance_type: str | None


class NodeCache:
    """Node name -> ``NodeInfo``; safe to read and update from several threads."""

    def __init__(self, regions: RegionZoneMap) -> None:
        self._regions = regions
        self._nodes: dict[str, NodeInfo] = {}
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._nodes)

    def get(self, name: str) -> NodeInfo | None:
        return self._nodes.get(name)

    def info_from_object(self, node: Mapping[str, Any]) -> NodeInfo | None:
        """The cache entry a Node object gives (None when it has no name)."""
        metadata = node.get("metadata")
        if not isinstance(metadata, Mapping) or not isinstance(metadata.get("name"), str):
            return None
        labels = metadata.get("labels")
        labels = labels if isinstance(labels, Mapping) else {}
        region = labels.get(REGION_LABEL)
        instance_type = labels.get(INSTANCE_TYPE_LABEL)
        return NodeInfo(
            name=metadata["name"],
            zone=self._zone_of(region) if isinstance(region, str) else None,
            instance_type=instance_type if isinstance(instance_type, str) else None,
        )

    def update(self, nodes: Iterable[Mapping[str, Any]]) -> None:
        """Add or refresh the given Node objects."""
        infos = [info for info in map(self.info_from_object, nodes) if info is not None]
        with self._lock:
            fresh = dict(self._nodes)
            fresh.update((info.name, info) for info in infos)
            self._nodes = fresh

    def replace(self, nodes: Iterable[Mapping[str, Any]]) -> None:
        """Replace the whole cache with a full list (deleted nodes disappear)."""
        infos = [info for info in map(self.info_from_object, nodes) if info is not None]
        with self._lock:
            self._nodes = {info.name: info for info in infos}

    def _zone_of(self, region: str) -> Zone | None:
        try:
            return self._regions.zone_for(region)
        except InputError:
            return None
