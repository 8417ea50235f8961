"""Default power coefficients from Cloud Carbon Footprint (CCF).

Source: Cloud Carbon Footprint methodology (cloudcarbonfootprint.org/docs/methodology, Apache-2.0),
"Compute", "Memory" and "Power Usage Effectiveness" sections: per-cloud average min/max watts per
vCPU across the microarchitectures each cloud runs, 0.392 W per GiB of memory, and per-cloud PUE.
Average power per vCPU is ``min + utilisation x (max - min)``; CCF assumes 50 % utilisation
when none is measured.

Per-family numbers use CCF's per-microarchitecture min/max watts; the family -> microarchitecture
table below covers common AWS families and is deliberately small: an unknown family falls back
to the cloud average, which is what CCF itself does.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Cloud(StrEnum):
    AWS = "aws"
    GCP = "gcp"
    AZURE = "azure"


@dataclass(frozen=True, slots=True)
class CpuWatts:
    """Watts per vCPU at idle (``min_w``) and at full load (``max_w``)."""

    min_w: float
    max_w: float

    def at_utilisation(self, utilisation: float) -> float:
        """Linear interpolation, CCF's model of CPU power against utilisation."""
        if not 0.0 <= utilisation <= 1.0:
            raise ValueError(f"utilisation must be within [0, 1], got {utilisation}")
        return self.min_w + utilisation * (self.max_w - self.min_w)


CLOUD_CPU_WATTS: dict[Cloud, CpuWatts] = {
    Cloud.AWS: CpuWatts(0.74, 3.5),
    Cloud.GCP: CpuWatts(0.71, 4.26),
    Cloud.AZURE: CpuWatts(0.78, 3.76),
}

CLOUD_PUE: dict[Cloud, float] = {
    Cloud.AWS: 1.135,
    Cloud.GCP: 1.1,
    Cloud.AZURE: 1.185,
}

MEMORY_WATTS_PER_GIB = 0.392
DEFAULT_UTILISATION = 0.5

MICROARCHITECTURE_CPU_WATTS: dict[str, CpuWatts] = {
    "AWS Graviton": CpuWatts(0.47, 1.69),
    "AWS Graviton2": CpuWatts(0.47, 1.69),
    "EPYC 1st Gen": CpuWatts(0.82, 2.55),
    "EPYC 2nd Gen": CpuWatts(0.47, 1.64),
    "EPYC 3rd Gen": CpuWatts(0.45, 2.02),
    "Cascade Lake": CpuWatts(0.64, 3.97),
    "Skylake": CpuWatts(0.65, 4.26),
    "Broadwell": CpuWatts(0.71, 3.69),
    "Haswell": CpuWatts(1.0, 4.74),
}

# AWS instance family -> the microarchitecture CCF lists for it (first that applies).
AWS_FAMILY_MICROARCHITECTURE: dict[str, str] = {
    "a1": "AWS Graviton",
    "m6g": "AWS Graviton2",
    "c6g": "AWS Graviton2",
    "r6g": "AWS Graviton2",
    "t4g": "AWS Graviton2",
    "m5a": "EPYC 1st Gen",
    "c5a": "EPYC 2nd Gen",
    "m6a": "EPYC 3rd Gen",
    "c6a": "EPYC 3rd Gen",
    "m5": "Cascade Lake",
    "c5": "Cascade Lake",
    "r5": "Cascade Lake",
    "m4": "Broadwell",
    "c4": "Haswell",
}


def instance_family(instance_type: str) -> str:
    """``m6g.xlarge`` -> ``m6g``."""
    return instance_type.split(".", 1)[0]
