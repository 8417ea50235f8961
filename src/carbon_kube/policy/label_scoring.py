"""Node scores from node labels alone: the reference the native scheduler plugin must match.

The native kube-scheduler plugin (``scheduler-plugin/``, Go) scores nodes without the
HTTP extender's round trip, from three labels the controller writes on every node:
``carbon-kube.io/intensity-g-per-kwh`` and the facility power coefficients
``carbon-kube.io/watts-per-vcpu`` and ``carbon-kube.io/watts-per-gib`` (the energy model's
coefficients x PUE). This module is that computation in Python, through the same
``score_nodes`` the extender uses, so the plugin needs no tables of its own and a fixture
generated from here (``scripts/native_score_fixture.py``) pins the Go code to it.

Relative to the extender the inputs differ only by rounding: the intensity label holds whole
g/kWh and the power labels micro-watts; the hour count and the 1/1000 are common to every
node and cannot change a ranking. A node missing any of the three labels, or with a value that
is not a plain non-negative decimal, scores neutral, as a node without data does in the
extender.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence

from carbon_kube.domain.annotations import (
    INTENSITY_LABEL,
    WATTS_PER_GIB_LABEL,
    WATTS_PER_VCPU_LABEL,
)
from carbon_kube.domain.zones import Zone
from carbon_kube.energy.power import PowerModel
from carbon_kube.policy.scoring import FRAMEWORK_MAX_SCORE, NodeEnergy, score_nodes

__all__ = ["format_label_decimal", "parse_label_decimal", "power_labels", "score_labelled_nodes"]

# Label values the plugin accepts: what format_label_decimal writes (and whole numbers).
_DECIMAL = re.compile(r"^[0-9]+(\.[0-9]+)?$")
_LABEL_DECIMALS = 6


def format_label_decimal(value: float) -> str:
    """``1.3279500000000001`` -> ``"1.32795"``: a valid label value, at most 6 decimals."""
    if not (math.isfinite(value) and value >= 0):
        raise ValueError(f"a label decimal must be finite and >= 0, got {value}")
    text = f"{value:.{_LABEL_DECIMALS}f}".rstrip("0").rstrip(".")
    return text or "0"


def parse_label_decimal(raw: str | None) -> float | None:
    """The value of a plain decimal label (``"312"``, ``"1.32795"``), else None."""
    if raw is None or _DECIMAL.match(raw) is None:
        return None
    value = float(raw)
    return value if math.isfinite(value) else None


def power_labels(model: PowerModel) -> dict[str, str]:
    """The two power labels for a node whose power ``model`` is known (PUE folded in)."""
    return {
        WATTS_PER_VCPU_LABEL: format_label_decimal(model.watts_per_vcpu * model.pue),
        WATTS_PER_GIB_LABEL: format_label_decimal(model.watts_per_gib * model.pue),
    }


def score_labelled_nodes(
    nodes: Sequence[tuple[str, Mapping[str, str]]],
    cpus: float,
    memory_gib: float,
    max_score: int = FRAMEWORK_MAX_SCORE,
) -> list[int]:
    """Scores of ``(name, labels)`` nodes for a pod of ``cpus`` vCPU and ``memory_gib`` GiB.

    Each node is its own "zone" for ``score_nodes``: the intensity comes from the node's own
    label, not from a table keyed by grid zone, exactly as the plugin reads it.
    """
    candidates: list[NodeEnergy] = []
    intensities: dict[Zone, float] = {}
    for name, labels in nodes:
        intensity = parse_label_decimal(labels.get(INTENSITY_LABEL))
        per_vcpu = parse_label_decimal(labels.get(WATTS_PER_VCPU_LABEL))
        per_gib = parse_label_decimal(labels.get(WATTS_PER_GIB_LABEL))
        if intensity is None or per_vcpu is None or per_gib is None:
            candidates.append(NodeEnergy(node=name, zone=None, energy_kwh=0.0))
            continue
        model = PowerModel(watts_per_vcpu=per_vcpu, watts_per_gib=per_gib, pue=1.0)
        candidates.append(
            NodeEnergy(
                node=name, zone=Zone(name), energy_kwh=model.energy_kwh(cpus, memory_gib, 1.0)
            )
        )
        intensities[Zone(name)] = intensity
    return score_nodes(candidates, intensities, max_score)
