"""The few panel shapes Carbon-Kube's dashboards use, built with grafana-foundation-sdk.

Why a layer over the SDK: every panel of ours reads the same Prometheus data source variable,
states its unit and explains itself in a description, and the four dashboards share their
header (tags, UTC, crosshair, refresh). Putting those choices here keeps each dashboard module
a readable list of questions and PromQL answers.

Nothing here knows a metric name; the dashboard modules pass expressions in.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from grafana_foundation_sdk.builders import bargauge, heatmap, prometheus, stat, timeseries
from grafana_foundation_sdk.builders import common as common_builders
from grafana_foundation_sdk.builders import dashboard as dashboard_builders
from grafana_foundation_sdk.models import common
from grafana_foundation_sdk.models.dashboard import (
    DashboardCursorSync,
    DataSourceRef,
    Threshold,
    ThresholdsMode,
)
from grafana_foundation_sdk.models.prometheus import PromQueryFormat

__all__ = [
    "DATASOURCE",
    "TAG",
    "Query",
    "bar_gauge_panel",
    "heatmap_panel",
    "new_dashboard",
    "query_variable",
    "stat_panel",
    "timeseries_panel",
]

TAG = "carbon-kube"
# Every panel reads the data source picked in the dashboard's ``datasource`` variable, so
# the same JSON works in any Grafana whatever its Prometheus data source is called.
DATASOURCE = DataSourceRef(type_val="prometheus", uid="${datasource}")
_GREEN = "green"


@dataclass(frozen=True)
class Query:
    """One PromQL expression and the legend of the series it returns."""

    expr: str
    legend: str = "__auto"


def new_dashboard(title: str, uid: str, description: str) -> dashboard_builders.Dashboard:
    """A dashboard with Carbon-Kube's header: tags, UTC, crosshair, data source variable."""
    return (
        dashboard_builders.Dashboard(title)
        .uid(uid)
        .description(description)
        .tags([TAG])
        .timezone("utc")
        .time("now-24h", "now")
        .refresh("1m")
        .tooltip(DashboardCursorSync.CROSSHAIR)
        .with_variable(
            dashboard_builders.DatasourceVariable("datasource")
            .label("Data source")
            .type("prometheus")
        )
    )


def query_variable(
    name: str, label: str, metric: str, label_name: str
) -> dashboard_builders.QueryVariable:
    """A multi-select variable over one label's values; ``All`` matches ``.*``."""
    return (
        dashboard_builders.QueryVariable(name)
        .label(label)
        .datasource(DATASOURCE)
        .query(f"label_values({metric}, {label_name})")
        .multi(True)
        .include_all(True)
        .all_value(".*")
    )


def timeseries_panel(
    title: str,
    description: str,
    unit: str,
    queries: Sequence[Query],
    *,
    width: int = 12,
    height: int = 8,
    bars: bool = False,
    stacked: bool = False,
    red_from: float | None = None,
) -> timeseries.Panel:
    """A time series; ``bars`` for per-interval amounts, ``red_from`` draws a threshold line."""
    panel = (
        timeseries.Panel()
        .title(title)
        .description(description)
        .datasource(DATASOURCE)
        .unit(unit)
        .span(width)
        .height(height)
        .legend(
            common_builders.VizLegendOptions()
            .display_mode(common.LegendDisplayMode.TABLE)
            .placement(common.LegendPlacement.BOTTOM)
            .show_legend(True)
            .calcs(["mean", "max", "lastNotNull"])
        )
    )
    if bars:
        panel = panel.draw_style(common.GraphDrawStyle.BARS).fill_opacity(80)
    if stacked:
        panel = panel.stacking(common_builders.StackingConfig().mode(common.StackingMode.NORMAL))
    if red_from is not None:
        panel = panel.thresholds(_red_from(red_from)).thresholds_style(
            common_builders.GraphThresholdsStyleConfig().mode(common.GraphThresholdsStyleMode.LINE)
        )
    for ref, query in zip(_ref_ids(), queries, strict=False):
        panel = panel.with_target(_target(query, ref))
    return panel


def stat_panel(
    title: str,
    description: str,
    unit: str,
    query: Query,
    *,
    width: int = 6,
    height: int = 4,
    red_from: float | None = None,
) -> stat.Panel:
    """One number: the last value of an instant-style expression over the dashboard range."""
    panel = (
        stat.Panel()
        .title(title)
        .description(description)
        .datasource(DATASOURCE)
        .unit(unit)
        .span(width)
        .height(height)
        .graph_mode(common.BigValueGraphMode.NONE)
        .reduce_options(common_builders.ReduceDataOptions().calcs(["lastNotNull"]))
        .with_target(_target(query, "A"))
    )
    if red_from is not None:
        panel = panel.thresholds(_red_from(red_from)).color_mode(common.BigValueColorMode.VALUE)
    return panel


def bar_gauge_panel(
    title: str, description: str, unit: str, query: Query, *, width: int = 12, height: int = 8
) -> bargauge.Panel:
    """Horizontal bars, one per series (e.g. net avoided grams per lever over the range)."""
    return (
        bargauge.Panel()
        .title(title)
        .description(description)
        .datasource(DATASOURCE)
        .unit(unit)
        .span(width)
        .height(height)
        .orientation(common.VizOrientation.HORIZONTAL)
        .display_mode(common.BarGaugeDisplayMode.GRADIENT)
        .reduce_options(common_builders.ReduceDataOptions().calcs(["lastNotNull"]))
        .with_target(_target(query, "A"))
    )


def heatmap_panel(
    title: str, description: str, unit: str, query: Query, *, width: int = 12, height: int = 8
) -> heatmap.Panel:
    """A heatmap of a Prometheus histogram's buckets (``query`` sums by ``le``)."""
    target = _target(query, "A").format(PromQueryFormat.HEATMAP).legend_format("{{le}}")
    return (
        heatmap.Panel()
        .title(title)
        .description(description)
        .datasource(DATASOURCE)
        .unit(unit)
        .span(width)
        .height(height)
        .calculate(False)
        .with_target(target)
    )


def _target(query: Query, ref: str) -> prometheus.Dataquery:
    return prometheus.Dataquery().expr(query.expr).legend_format(query.legend).ref_id(ref)


def _ref_ids() -> Sequence[str]:
    return [chr(ord("A") + i) for i in range(26)]


def _red_from(value: float) -> dashboard_builders.ThresholdsConfig:
    return (
        dashboard_builders.ThresholdsConfig()
        .mode(ThresholdsMode.ABSOLUTE)
        .steps([Threshold(value=None, color=_GREEN), Threshold(value=value, color="red")])
    )
