"""The plausible range of each physical quantity a user can give us.

A value outside these ranges is a typo or a unit mistake, never data: an intensity of 1e308
g/kWh overflowed the emissions of a later job to 0 next to a "2,564 kg saved" lever, and 1e300
vCPUs printed a 300-digit total. Each bound is generous (it must never refuse a real trace or
grid) and says where it comes from, so an error can name the field and the allowed range.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Limit:
    """``low <= value <= high`` (``low`` excluded when ``low_exclusive``), in ``unit``."""

    low: float
    high: float
    unit: str
    low_exclusive: bool = False
    meaning: str = ""

    def describe(self) -> str:
        low = "> " if self.low_exclusive else ">= "
        high = f"{self.high:,.0f}" if self.high >= 1_000 else f"{self.high:g}"
        text = f"a number {low}{self.low:g} and <= {high} {self.unit}"
        return f"{text} ({self.meaning})" if self.meaning else text


# The dirtiest grids on record average ~1,100 g/kWh (lignite, oil); hourly life-cycle values
# of small island grids reach ~1,600. Three times that is still no grid.
INTENSITY_G_PER_KWH = Limit(0.0, 5_000.0, "g/kWh")

# The largest cloud machines have ~900 vCPUs; a distributed job of a thousand of them is
# ~1e6. Per job, not per node.
JOB_VCPUS = Limit(0.0, 1_000_000.0, "vCPUs", low_exclusive=True)
JOB_MEMORY_GIB = Limit(0.0, 100_000_000.0, "GiB")

# A batch job that runs or waits longer than ten years is a unit mistake (ms for s).
TEN_YEARS_S = 10 * 366 * 24 * 3600.0
JOB_DURATION_S = Limit(0.0, TEN_YEARS_S, "s", low_exclusive=True, meaning="ten years")
JOB_DELAY_S = Limit(0.0, TEN_YEARS_S, "s", meaning="ten years")
