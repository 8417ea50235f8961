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
from carbon_kube.domain.zones import REGION_LABEL, RegionZoneMap, Zone
from carbon_kube.extender.wire import HostEntry, host_fragment

log = logging.getLogger(__name__)

INSTANCE_TYPE_LABEL = "node.kubernetes.io/instance-type"


@dataclass(frozen=True, slots=True)
class NodeInfo:
    """The facts scoring needs about one node."""

    name: str
    zone: Zone | None
    instance_type: str | None


GroupKey = tuple[Zone | None, str | None]
UNKNOWN_GROUP = 0


class _Entries(dict[str, HostEntry]):
    """Name -> entry; a missing name is answered as unknown (and not stored)."""

    def __missing__(self, name: str) -> HostEntry:
        return (UNKNOWN_GROUP, host_fragment(name))


@dataclass(frozen=True, slots=True)
class NodeGroups:
    """A consistent view for scoring: node name -> (group id, host fragment), group -> key.

    Nodes with the same grid zone and instance type score the same for a given pod, so the
    extender scores groups, not nodes; group ``UNKNOWN_GROUP`` is (no zone, no type), the
    group of every node the cache has not seen. Each node's ``wire.host_fragment`` (its name
    JSON-encoded) is computed here, once per node list, rather than on every prioritize.
    """

    entry_of: _Entries
    keys: tuple[GroupKey, ...]

    def entries(self, names: list[str]) -> list[HostEntry]:
        """The entry of each name, in order; a name the cache has not seen is unknown."""
        return list(map(self.entry_of.__getitem__, names))


class NodeCache:
    """Node name -> ``NodeInfo``; safe to read and update from several threads.

    Writers build new dictionaries and swap them in under a lock; readers take no lock and
    see either the old or the new view, never a half-updated one.
    """

    def __init__(self, regions: RegionZoneMap) -> None:
        self._regions = regions
        self._nodes: dict[str, NodeInfo] = {}
        self._groups = NodeGroups(_Entries(), ((None, None),))
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._nodes)

    def get(self, name: str) -> NodeInfo | None:
        return self._nodes.get(name)

    def groups(self) -> NodeGroups:
        """The current name -> group view (see ``NodeGroups``)."""
        return self._groups

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
            self._swap(fresh)

    def replace(self, nodes: Iterable[Mapping[str, Any]]) -> None:
        """Replace the whole cache with a full list (deleted nodes disappear)."""
        infos = [info for info in map(self.info_from_object, nodes) if info is not None]
        with self._lock:
            self._swap({info.name: info for info in infos})

    def _swap(self, nodes: dict[str, NodeInfo]) -> None:
        keys: dict[GroupKey, int] = {(None, None): UNKNOWN_GROUP}
        entry_of = _Entries()
        for name, info in nodes.items():
            key = (info.zone, info.instance_type)
            entry_of[name] = (keys.setdefault(key, len(keys)), host_fragment(name))
        self._nodes = nodes
        self._groups = NodeGroups(entry_of, tuple(keys))

    def _zone_of(self, region: str) -> Zone | None:
        try:
            return self._regions.zone_for(region)
        except InputError:
            return None
