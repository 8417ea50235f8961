"""A workload's allowed grid zones as a required node affinity (pure; no Kubernetes calls).

Why: ``carbon-kube.io/allowed-zones`` used to be enforced by the scheduler extender's
``filter`` verb, which costs every pod of the Carbon-Kube scheduler a second HTTP call in its
scheduling cycle. The same rule written once into the pod at admission is enforced by the
scheduler's in-tree NodeAffinity plugin at no per-pod cost, by any scheduler, so the extender
needs only ``prioritize``.

**Which label.** ``topology.kubernetes.io/region``, which the cloud provider sets when a node
registers, through the same region -> grid-zone table the extender uses. Not
``carbon-kube.io/grid-zone``: the controller writes that one after it sees a node (never, with
``labelNodes: false``), so a new node would be unmatched until then.

**Same semantics as the extender's filter.** A node is excluded exactly when its region maps to
a *known* grid zone outside the allowed zones plus the home zone. One requirement says that:
``region NotIn [known regions of the other zones]``. ``NotIn`` also matches a node without the
label and a region the table does not know, which the filter let through too (no data never
forbids). An empty ``allowed-zones`` restricts nothing, as in the filter.

**Merging with the user's affinity.** Required node-selector terms are ORed and the expressions
inside a term ANDed, so the requirement is added to *every* term; a term that already carries
it is left as it is (admission may run twice). An empty term matches no node and is kept empty:
adding the requirement to it would widen it to most of the cluster.

Edges: the forbidden regions are fixed at admission; a region added to the table later is not
forbidden to pods admitted before. When the allowed zones cover every known zone there is
nothing to forbid and no requirement (``None``).
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from typing import Any

from carbon_kube.domain.zones import REGION_LABEL, RegionZoneMap, Zone

__all__ = ["NodeSelectorRequirement", "require_node_expression", "zone_requirement"]

NodeSelectorRequirement = dict[str, Any]
"""``{"key": ..., "operator": ..., "values": [...]}`` in Kubernetes' wire format."""


def zone_requirement(
    allowed_zones: Iterable[Zone], home_zone: Zone | None, regions: RegionZoneMap
) -> NodeSelectorRequirement | None:
    """The node-selector requirement keeping a pod in ``allowed_zones`` and the home zone.

    None when there is nothing to restrict: no allowed zones listed, or no known region
    outside them.
    """
    listed = set(allowed_zones)
    if not listed:
        return None
    if home_zone is not None:
        listed.add(home_zone)
    forbidden = regions.regions_outside(listed)
    if not forbidden:
        return None
    return {"key": REGION_LABEL, "operator": "NotIn", "values": forbidden}


def require_node_expression(
    affinity: Mapping[str, Any] | None, requirement: NodeSelectorRequirement
) -> dict[str, Any]:
    """A copy of ``affinity`` whose required node affinity also demands ``requirement``.

    Pod (anti-)affinity and preferred node affinity are kept untouched; without any required
    node affinity, one term with just ``requirement`` is added (see the module docstring for
    how existing terms are merged).
    """
    merged: dict[str, Any] = copy.deepcopy(dict(affinity or {}))
    node_affinity = merged.get("nodeAffinity")
    node_affinity = dict(node_affinity) if isinstance(node_affinity, Mapping) else {}
    required = node_affinity.get("requiredDuringSchedulingIgnoredDuringExecution")
    terms = required.get("nodeSelectorTerms") if isinstance(required, Mapping) else None
    if isinstance(terms, list) and terms:
        new_terms = [_and(term, requirement) for term in terms]
    else:
        # No required node affinity (or no term, which the apiserver refuses anyway).
        new_terms = [{"matchExpressions": [copy.deepcopy(requirement)]}]
    node_affinity["requiredDuringSchedulingIgnoredDuringExecution"] = {
        **(dict(required) if isinstance(required, Mapping) else {}),
        "nodeSelectorTerms": new_terms,
    }
    merged["nodeAffinity"] = node_affinity
    return merged


def _and(term: object, requirement: NodeSelectorRequirement) -> object:
    if not isinstance(term, Mapping):
        return term  # not a term the apiserver would accept: leave it for it to refuse
    expressions = term.get("matchExpressions") or []
    if not expressions and not term.get("matchFields"):
        return dict(term)  # an empty term matches no node: keep it matching none
    if requirement in expressions:
        return dict(term)
    return {**term, "matchExpressions": [*expressions, copy.deepcopy(requirement)]}
