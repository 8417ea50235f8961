"""Karpenter NodePool weights from grid intensity and hardware efficiency (pure).

Karpenter tries NodePools in descending ``spec.weight`` (1..100) when it provisions nodes. We
rank the pools Carbon-Kube manages by their expected emission rate per vCPU::

    rate_g_per_vcpu_h = intensity(grid zone) x watts_per_vcpu(instance types) / 1000

and map the lowest rate to 100 and the highest to 1, linearly in between; pools with equal
rates get equal weights. A pool is managed only when it opts in (annotation
``carbon-kube.io/manage-weight: "true"``) and is not static (Karpenter refuses a weight when
``spec.replicas`` is set).

A pool's grid zone is its ``carbon-kube.io/grid-zone`` requirement or annotation, else the one
region it requires (``topology.kubernetes.io/region In [r]``) through the region table. Its
power per vCPU is the mean over the instance types it requires
(``node.kubernetes.io/instance-type In [...]``), else by architecture (arm64: Graviton2), else
the cloud average. A pool whose zone has no intensity keeps its weight: without data we neither
reward nor punish it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from carbon_kube.domain.annotations import GRID_ZONE_LABEL, PREFIX
from carbon_kube.domain.errors import InputError
from carbon_kube.domain.zones import RegionZoneMap, Zone
from carbon_kube.energy.coefficients import DEFAULT_UTILISATION, MICROARCHITECTURE_CPU_WATTS
from carbon_kube.energy.power import default_power_model

__all__ = [
    "MANAGE_WEIGHT_ANNOTATION",
    "PoolProfile",
    "is_managed",
    "pool_profile",
    "weights_by_rate",
]

MANAGE_WEIGHT_ANNOTATION = PREFIX + "manage-weight"
MIN_WEIGHT = 1
MAX_WEIGHT = 100
_INSTANCE_TYPE = "node.kubernetes.io/instance-type"
_ARCH = "kubernetes.io/arch"
_REGION = "topology.kubernetes.io/region"


@dataclass(frozen=True, slots=True)
class PoolProfile:
    """What the weight depends on: the pool's grid zone and power per vCPU."""

    name: str
    zone: Zone | None
    watts_per_vcpu: float


def is_managed(pool: Mapping[str, Any]) -> bool:
    """True for pools that opted in and are not static."""
    annotations = (pool.get("metadata") or {}).get("annotations") or {}
    if annotations.get(MANAGE_WEIGHT_ANNOTATION, "").lower() != "true":
        return False
    return (pool.get("spec") or {}).get("replicas") is None


def _requirements(pool: Mapping[str, Any]) -> dict[str, list[str]]:
    template_spec = ((pool.get("spec") or {}).get("template") or {}).get("spec") or {}
    found: dict[str, list[str]] = {}
    for requirement in template_spec.get("requirements") or []:
        if requirement.get("operator") == "In":
            found[str(requirement.get("key"))] = [str(v) for v in requirement.get("values") or []]
    return found


def pool_profile(pool: Mapping[str, Any], regions: RegionZoneMap) -> PoolProfile:
    """The grid zone and watts per vCPU of ``pool`` (see the module docstring)."""
    meta = pool.get("metadata") or {}
    requirements = _requirements(pool)
    zone: Zone | None = None
    explicit = requirements.get(GRID_ZONE_LABEL) or [
        (meta.get("annotations") or {}).get(GRID_ZONE_LABEL, "")
    ]
    if len(explicit) == 1 and explicit[0]:
        zone = Zone(explicit[0])
    elif len(requirements.get(_REGION, [])) == 1:
        try:
            zone = regions.zone_for(requirements[_REGION][0])
        except InputError:
            zone = None
    types = requirements.get(_INSTANCE_TYPE) or []
    if types:
        watts = sum(default_power_model(instance_type=t).watts_per_vcpu for t in types) / len(types)
    elif requirements.get(_ARCH) == ["arm64"]:
        graviton = MICROARCHITECTURE_CPU_WATTS["AWS Graviton2"]
        watts = graviton.at_utilisation(DEFAULT_UTILISATION)
    else:
        watts = default_power_model().watts_per_vcpu
    return PoolProfile(str(meta.get("name", "")), zone, watts)


def weights_by_rate(
    profiles: list[PoolProfile], intensity_of: Callable[[Zone], float | None]
) -> dict[str, int]:
    """Weight per pool name for pools whose zone has an intensity; the others are left out."""
    rates: dict[str, float] = {}
    for profile in profiles:
        if profile.zone is None:
            continue
        intensity = intensity_of(profile.zone)
        if intensity is None:
            continue
        rates[profile.name] = intensity * profile.watts_per_vcpu / 1000.0
    if not rates:
        return {}
    low, high = min(rates.values()), max(rates.values())
    if high - low < 1e-12:
        return dict.fromkeys(rates, MAX_WEIGHT)
    span = MAX_WEIGHT - MIN_WEIGHT
    return {
        name: MIN_WEIGHT + round(span * (high - rate) / (high - low))
        for name, rate in rates.items()
    }
