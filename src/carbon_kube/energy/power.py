"""Power models: facility power (W) of a workload from its vCPU and memory request."""

from __future__ import annotations

from dataclasses import dataclass

from carbon_kube.energy.coefficients import (
    AWS_FAMILY_MICROARCHITECTURE,
    CLOUD_CPU_WATTS,
    CLOUD_PUE,
    DEFAULT_UTILISATION,
    MEMORY_WATTS_PER_GIB,
    MICROARCHITECTURE_CPU_WATTS,
    Cloud,
    instance_family,
)


@dataclass(frozen=True, slots=True)
class PowerModel:
    """``power_w = (cpus x watts_per_vcpu + memory_gib x watts_per_gib) x pue``.

    ``watts_per_vcpu`` is the average at the modelled utilisation (CCF: 50 %); PUE scales IT
    power up to what the facility draws from the grid.
    """

    watts_per_vcpu: float
    watts_per_gib: float = MEMORY_WATTS_PER_GIB
    pue: float = CLOUD_PUE[Cloud.AWS]

    def __post_init__(self) -> None:
        if self.watts_per_vcpu < 0 or self.watts_per_gib < 0:
            raise ValueError("power coefficients must be >= 0 W")
        if self.pue < 1.0:
            raise ValueError(f"PUE must be >= 1.0, got {self.pue}")

    def power_w(self, cpus: float, memory_gib: float) -> float:
        """Facility power in watts while the workload runs."""
        return (cpus * self.watts_per_vcpu + memory_gib * self.watts_per_gib) * self.pue

    def energy_kwh(self, cpus: float, memory_gib: float, hours: float) -> float:
        """Energy over ``hours`` of running, in kWh."""
        return self.power_w(cpus, memory_gib) * hours / 1000.0


def default_power_model(
    cloud: Cloud = Cloud.AWS,
    *,
    instance_type: str | None = None,
    utilisation: float = DEFAULT_UTILISATION,
) -> PowerModel:
    """CCF's model for ``cloud``, refined by the instance family's microarchitecture if known."""
    cpu = CLOUD_CPU_WATTS[cloud]
    if cloud is Cloud.AWS and instance_type is not None:
        micro = AWS_FAMILY_MICROARCHITECTURE.get(instance_family(instance_type))
        if micro is not None:
            cpu = MICROARCHITECTURE_CPU_WATTS[micro]
    return PowerModel(
        watts_per_vcpu=cpu.at_utilisation(utilisation),
        watts_per_gib=MEMORY_WATTS_PER_GIB,
        pue=CLOUD_PUE[cloud],
    )
