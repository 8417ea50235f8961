"""What the savings notebook shows, computed from a metrics export (no drawing here).

Totals are counter increases over the export's range (``files.counter_increase``), so they
count only grams recorded between its first and last instant, resets included.
"""

from __future__ import annotations

import pandas as pd

from carbon_kube.exports.files import MetricsExport, counter_increase, cumulative_increase

__all__ = [
    "cumulative_kg",
    "net_saved_by_lever_kg",
    "savings_by_kind",
    "total_increase",
    "zone_intensity",
]

_G_PER_KG = 1000.0


def total_increase(export: MetricsExport, query: str, by: str) -> pd.Series:
    """Increase of a counter query over the whole export, summed per value of label ``by``."""
    samples = export.of(query)
    if samples.empty:
        return pd.Series(dtype=float)
    increases = counter_increase(samples)
    return increases.groupby(by)["increase"].sum()


def savings_by_kind(export: MetricsExport) -> pd.DataFrame:
    """Per workload kind: baseline and carbon-aware kg, the saving and its share."""
    baseline = total_increase(export, "baseline_grams", "kind") / _G_PER_KG
    aware = total_increase(export, "carbon_aware_grams", "kind") / _G_PER_KG
    table = pd.DataFrame({"baseline_kg": baseline, "carbon_aware_kg": aware}).fillna(0.0)
    table["saved_kg"] = table["baseline_kg"] - table["carbon_aware_kg"]
    share = table["saved_kg"] / table["baseline_kg"].where(table["baseline_kg"] > 0)
    table["savings_pct"] = 100 * share
    table.index.name = "kind"
    return table.sort_index()


def net_saved_by_lever_kg(export: MetricsExport) -> pd.Series:
    """Avoided minus excess kg per lever (time, region, time+region, hardware, pause)."""
    avoided = total_increase(export, "avoided_grams", "lever")
    excess = total_increase(export, "excess_grams", "lever")
    net = avoided.sub(excess, fill_value=0.0) / _G_PER_KG
    net.index.name = "lever"
    return net.sort_index()


def cumulative_kg(export: MetricsExport, query: str) -> pd.Series:
    """A counter query's increase summed over every series, accumulated over time (kg)."""
    samples = export.of(query)
    if samples.empty:
        return pd.Series(dtype=float)
    return cumulative_increase(samples, "query").sum(axis=1) / _G_PER_KG


def zone_intensity(export: MetricsExport) -> pd.DataFrame:
    """Intensity per zone over time (mean over the components that reported it)."""
    samples = export.of("zone_intensity_g_per_kwh")
    if samples.empty:
        return pd.DataFrame()
    return samples.pivot_table(index="timestamp", columns="zone", values="value", aggfunc="mean")
