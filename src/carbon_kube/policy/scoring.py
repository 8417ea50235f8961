"""Node scoring for the scheduler extender: lower expected emissions, higher score.

``emission_g = intensity_g_per_kwh(zone(node)) x energy_kwh(node, pod)``, mapped linearly onto
``0..max_score`` (10 for an extender, 100 for a framework plugin): the lowest-emission node
scores ``max_score``, the highest 0, and when all nodes with data tie they all score
``max_score``. A node whose zone has no intensity data (or no zone label) gets the neutral
middle score: carbon must never block or decide scheduling without data.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from carbon_kube.domain.zones import Zone

EXTENDER_MAX_SCORE = 10
FRAMEWORK_MAX_SCORE = 100


@dataclass(frozen=True, slots=True)
class NodeEnergy:
    """A candidate node, its grid zone (if labelled) and the pod's energy on it."""

    node: str
    zone: Zone | None
    energy_kwh: float

    def __post_init__(self) -> None:
        if not (self.energy_kwh >= 0 and math.isfinite(self.energy_kwh)):
            raise ValueError(f"node {self.node}: energy must be finite and >= 0 kWh")


def neutral_score(max_score: int = EXTENDER_MAX_SCORE) -> int:
    """The score of a node without data: the middle of the range."""
    return max_score // 2


def score_nodes(
    nodes: Sequence[NodeEnergy],
    intensity_g_per_kwh: Mapping[Zone, float],
    max_score: int = EXTENDER_MAX_SCORE,
) -> list[int]:
    """Scores in ``nodes`` order (see module docstring)."""
    if max_score <= 0:
        raise ValueError("max_score must be positive")
    emissions: list[float | None] = []
    for node in nodes:
        intensity = intensity_g_per_kwh.get(node.zone) if node.zone is not None else None
        if intensity is None or not math.isfinite(intensity) or intensity < 0:
            # No usable data for this zone: neutral score, so carbon never blocks scheduling.
            emissions.append(None)
        else:
            emissions.append(intensity * node.energy_kwh)
    known = [e for e in emissions if e is not None]
    if not known:
        return [neutral_score(max_score)] * len(nodes)
    low, high = min(known), max(known)
    scores = []
    for emission in emissions:
        if emission is None:
            scores.append(neutral_score(max_score))
        elif high == low:
            scores.append(max_score)
        else:
            scores.append(math.floor(max_score * (high - emission) / (high - low) + 0.5))
    return scores
