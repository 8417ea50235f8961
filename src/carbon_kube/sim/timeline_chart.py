"""The per-zone timeline chart: baseline vs a carbon-aware policy, one small panel per zone.

Drawn on a ``matplotlib.figure.Figure`` with the Agg canvas (no pyplot, no display) and returned
as PNG bytes, like ``sim.plots``.
"""

from __future__ import annotations

import io
import math
from datetime import timedelta

import pandas as pd

from carbon_kube.sim.timelines import zone_emissions_kg

BASELINE_COLOUR = "#c44e52"
POLICY_COLOUR = "#55a868"


def render_zone_timelines(
    jobs: pd.DataFrame, baseline: str, policy: str, step: timedelta, *, columns: int = 2
) -> bytes:
    """Plot cumulative kg CO2eq in each zone under ``baseline`` and ``policy``; PNG bytes.

    Cumulative lines (summed over ``step`` bins) stay readable over a year of sparse jobs,
    where per-bin lines are mostly spikes. Every zone either policy used gets a panel, so work
    moved *into* a zone shows as a green line rising above the baseline's. Panels share the
    time axis and the y scale.
    """
    before = zone_emissions_kg(jobs, baseline, step)
    after = zone_emissions_kg(jobs, policy, step)
    zones = sorted(set(before.columns) | set(after.columns))
    rows = max(1, math.ceil(len(zones) / columns))
    from matplotlib.figure import Figure  # imported when drawing: ~0.3 s otherwise

    figure = Figure(figsize=(11, 1.9 * rows + 0.8), layout="constrained")
    axes = figure.subplots(rows, columns, sharex=True, sharey=True, squeeze=False).ravel()
    for axis, zone in zip(axes, zones, strict=False):
        if zone in before:
            axis.plot(
                before.index,
                before[zone].cumsum(),
                color=BASELINE_COLOUR,
                linewidth=0.8,
                label=baseline,
            )
        if zone in after:
            axis.plot(
                after.index, after[zone].cumsum(), color=POLICY_COLOUR, linewidth=0.8, label=policy
            )
        total_before = float(before[zone].sum()) if zone in before else 0.0
        total_after = float(after[zone].sum()) if zone in after else 0.0
        axis.set_title(
            f"{zone}: {total_before:,.2f} -> {total_after:,.2f} kg", fontsize=9, loc="left"
        )
        axis.grid(alpha=0.3)
        axis.tick_params(labelsize=7)
    # Set once all panels are drawn: setting it per panel would freeze the shared top early.
    top_kg = max([float(before[z].sum()) for z in before] + [float(after[z].sum()) for z in after])
    axes[0].set_ylim(0, max(top_kg, 1e-9) * 1.05)
    for axis in axes[len(zones) :]:
        axis.set_visible(False)
    if zones:
        axes[0].legend(fontsize=7, loc="upper right")
    figure.supylabel("cumulative kg CO2eq", fontsize=9)
    figure.suptitle(f"Emissions per grid zone: {baseline} vs {policy}", fontsize=10)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100)
    return buffer.getvalue()
