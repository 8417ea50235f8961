"""Node labels and Karpenter NodePool weights, kept current from the carbon signal.

The node-label cache is filled by node watch events (:meth:`ZoneLabelling.observe_node`) and
read by the release loop (a release tightens a selector only towards a zone some node is in).
A new or changed node is labelled at once; :meth:`ZoneLabelling.refresh` re-reads every zone's
intensity and re-labels nodes and re-weighs NodePools. The label values and weights are
decided by the pure ``nodes`` and ``nodepools`` modules; this module only fetches and patches.
A provider error leaves a zone's intensity unknown rather than stopping the loop.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from functools import partial
from typing import Any

from carbon_kube.domain.errors import ProviderError
from carbon_kube.domain.zones import Zone
from carbon_kube.kube.client import NODES, KubeApiError, KubeClient
from carbon_kube.kube.resources import NODEPOOLS
from carbon_kube.observability.metrics import NODEPOOL_WEIGHT, ZONE_INTENSITY_G_PER_KWH
from carbon_kube.operator.executor import ApiExecutor
from carbon_kube.operator.nodepools import is_managed, pool_profile, weights_by_rate
from carbon_kube.operator.nodes import grid_zone_of, node_label_patch
from carbon_kube.operator.settings import ControllerSettings
from carbon_kube.providers.base import IntensityProvider

__all__ = ["ZoneLabelling"]

# The controller's logger, as before the split: log filters and dashboards keep working.
_log = logging.getLogger("carbon_kube.operator.controller")


class ZoneLabelling:
    """The node-label cache, zone intensities, and the patches that keep nodes labelled."""

    def __init__(
        self,
        client: KubeClient,
        settings: ControllerSettings,
        executor: ApiExecutor,
        provider: IntensityProvider | None,
    ) -> None:
        self._client = client
        self._settings = settings
        self._executor = executor
        self._provider = provider
        self._node_labels: dict[str, Mapping[str, str]] = {}
        self._intensity: dict[Zone, float | None] = {}

    def node_labels(self) -> list[Mapping[str, str]]:
        """The labels of every known node (a snapshot)."""
        return list(self._node_labels.values())

    def observe_node(self, node: Mapping[str, Any], deleted: bool) -> None:
        """Keep the node-label cache current; label a new or changed node at once."""
        meta = node.get("metadata") or {}
        name = str(meta.get("name", ""))
        if deleted:
            self._node_labels.pop(name, None)
            return
        labels = dict(meta.get("labels") or {})
        self._node_labels[name] = labels
        if self._settings.label_nodes:
            zone = grid_zone_of(labels, self._settings.regions)
            patch = node_label_patch(labels, zone, self._intensity.get(zone) if zone else None)
            if patch is not None:
                self._executor.spawn(self._patch_node(name, patch))

    async def refresh(self) -> None:
        """Re-read every known zone's intensity; re-label nodes and re-weigh NodePools."""
        zones = {
            zone
            for labels in self._node_labels.values()
            if (zone := grid_zone_of(labels, self._settings.regions)) is not None
        }
        pools: list[dict[str, Any]] = []
        if self._settings.nodepool_weights:
            pools = await self._list_nodepools()
            for pool in pools:
                profile = pool_profile(pool, self._settings.regions)
                if profile.zone is not None:
                    zones.add(profile.zone)
        for zone in zones:
            self._intensity[zone] = await self._latest(zone)
        if self._settings.label_nodes:
            for name, labels in list(self._node_labels.items()):
                zone = grid_zone_of(labels, self._settings.regions)
                patch = node_label_patch(labels, zone, self._intensity.get(zone) if zone else None)
                if patch is not None:
                    await self._patch_node(name, patch)
        if pools:
            await self._weigh_nodepools(pools)

    async def _latest(self, zone: Zone) -> float | None:
        provider = self._provider
        if provider is None:
            return None
        try:
            reading = await self._executor.call(lambda: provider.latest(zone))
        except ProviderError as error:
            _log.warning("no intensity for %s: %s", zone, error)
            return None
        ZONE_INTENSITY_G_PER_KWH.labels(zone, reading.provider).set(reading.intensity_g_per_kwh)
        return reading.intensity_g_per_kwh

    async def _patch_node(self, name: str, patch: dict[str, object]) -> None:
        try:
            updated = await self._executor.call(lambda: self._client.patch(NODES, name, patch))
        except KubeApiError as error:
            if not error.is_not_found:
                _log.warning("could not label node %s: %s", name, error)
            return
        self._node_labels[name] = dict((updated.get("metadata") or {}).get("labels") or {})

    async def _list_nodepools(self) -> list[dict[str, Any]]:
        try:
            return await self._executor.call(lambda: self._client.list(NODEPOOLS))
        except KubeApiError as error:
            if error.is_not_found:
                return []  # Karpenter is not installed: nothing to weigh
            raise

    async def _weigh_nodepools(self, pools: list[dict[str, Any]]) -> None:
        managed = [pool for pool in pools if is_managed(pool)]
        profiles = [pool_profile(pool, self._settings.regions) for pool in managed]
        weights = weights_by_rate(profiles, self._intensity.get)
        for pool in managed:
            name = str(pool["metadata"]["name"])
            weight = weights.get(name)
            if weight is None or (pool.get("spec") or {}).get("weight") == weight:
                continue
            patch = {"spec": {"weight": weight}}
            await self._executor.call(partial(self._client.patch, NODEPOOLS, name, patch))
            NODEPOOL_WEIGHT.labels(name).set(weight)
            _log.info("NodePool %s weight -> %d", name, weight)
