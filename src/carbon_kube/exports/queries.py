"""The series a metrics export holds: what the savings notebook draws, nothing more.

Raw series, never ``rate()`` or ``increase()``: a counter is exported as scraped, per
instance, so the reader can add up its increases exactly and restart at zero where a process
restart reset it (``files.counter_increase``). Names come from ``observability.metrics``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

from prometheus_client import Counter, Gauge, Histogram

from carbon_kube.observability import metrics

__all__ = ["QUERIES", "ExportedQuery"]


@dataclass(frozen=True, slots=True)
class ExportedQuery:
    """One PromQL query of the export and how to read its values."""

    name: str
    expr: str
    kind: Literal["counter", "gauge"]
    unit: str
    description: str


def _name(metric: Counter | Gauge | Histogram, suffix: str = "") -> str:
    # describe() returns the one family the collector exposes, named without suffixes.
    (family,) = metric.describe()
    return family.name + suffix


QUERIES: Final = (
    ExportedQuery(
        "baseline_grams",
        _name(metrics.COUNTERFACTUAL_EMISSIONS, "_total"),
        "counter",
        "gCO2eq",
        "Emissions had every job started at submit in its home zone (carbon-agnostic).",
    ),
    ExportedQuery(
        "carbon_aware_grams",
        _name(metrics.JOB_EMISSIONS_GRAMS, "_sum"),
        "counter",
        "gCO2eq",
        "Emissions of the jobs as Carbon-Kube planned them.",
    ),
    ExportedQuery(
        "avoided_grams",
        _name(metrics.AVOIDED_EMISSIONS, "_total"),
        "counter",
        "gCO2eq",
        "Grams saved against the baseline, by lever.",
    ),
    ExportedQuery(
        "excess_grams",
        _name(metrics.EXCESS_EMISSIONS, "_total"),
        "counter",
        "gCO2eq",
        "Grams emitted above the baseline (the forecast misled), by lever.",
    ),
    ExportedQuery(
        "zone_intensity_g_per_kwh",
        _name(metrics.ZONE_INTENSITY_G_PER_KWH),
        "gauge",
        "gCO2eq/kWh",
        "Latest carbon intensity of each grid zone.",
    ),
    ExportedQuery(
        "held_workloads",
        _name(metrics.HELD_WORKLOADS),
        "gauge",
        "workloads",
        "Workloads held by the controller, by kind.",
    ),
)
