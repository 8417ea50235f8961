"""The "Held work" dashboard: what is held now, for how long, and how it was released.

"Hold durations vs deadlines" is read from three series side by side: hold-duration
quantiles, the share of releases forced by the latest safe start (work that waited until its
deadline allowed no more), and deadline misses (released after the latest safe start). A
rising forced share with misses is the sign to loosen the policy or the deadlines.
"""

from __future__ import annotations

from grafana_foundation_sdk.builders import dashboard as dashboard_builders

from carbon_kube.dashboards import series
from carbon_kube.dashboards.panels import (
    Query,
    heatmap_panel,
    new_dashboard,
    query_variable,
    stat_panel,
    timeseries_panel,
)
from carbon_kube.observability import metrics

UID = "carbon-kube-held"
KIND = '{kind=~"$kind"}'
# The release trigger the controller uses when a workload's latest safe start arrives.
LATEST_SAFE_START = "latest-safe-start"
_HELD = series.gauge(metrics.HELD_WORKLOADS)
_HOLD_BUCKET = series.histogram(metrics.HOLD_DURATION_SECONDS, "bucket")
_RELEASES = series.counter(metrics.RELEASES)
_REPLANS = series.counter(metrics.REPLANS)
_MISSES = series.counter(metrics.DEADLINE_MISSES)
_DECISIONS = series.counter(metrics.DECISIONS)
_LAG_BUCKET = series.histogram(metrics.GATE_RELEASE_LAG_SECONDS, "bucket")
_RATE = "$__rate_interval"


def _hold_quantile(q: float) -> str:
    return f"histogram_quantile({q}, sum by (kind, le) (rate({_HOLD_BUCKET}{KIND}[{_RATE}])))"


def build() -> dashboard_builders.Dashboard:
    forced = f'{{kind=~"$kind", trigger="{LATEST_SAFE_START}"}}'
    return (
        new_dashboard(
            "Carbon-Kube: Held work",
            UID,
            "Workloads held for a greener window (scheduling gates, suspended Jobs, Spark "
            "and Flink), how long they wait against their deadlines, and what released them.",
        )
        .with_variable(query_variable("kind", "Workload kind", _HELD, "kind"))
        .with_row(dashboard_builders.Row("Now"))
        .with_panel(
            stat_panel(
                "Held now",
                "Gated Pods and suspended Jobs/SparkApplications/FlinkDeployments.",
                "short",
                Query(f"sum({_HELD}{KIND})"),
            )
        )
        .with_panel(
            stat_panel(
                "Deadline misses",
                "Workloads released after their latest safe start over the range.",
                "short",
                Query(f"sum(increase({_MISSES}{KIND}[$__range])) or vector(0)"),
                red_from=1,
            )
        )
        .with_panel(
            stat_panel(
                "Forced by the latest safe start",
                "Share of releases over the range that waited until the deadline allowed "
                "no more (no greener window came in time).",
                "percentunit",
                Query(
                    f"sum(increase({_RELEASES}{forced}[$__range])) "
                    f"/ sum(increase({_RELEASES}{KIND}[$__range]))"
                ),
            )
        )
        .with_panel(
            stat_panel(
                "Release lag p99",
                "Real seconds between a workload's release-at and the update that released "
                "it (goal: under 5 s).",
                "s",
                Query(
                    f"histogram_quantile(0.99, sum by (le) (rate({_LAG_BUCKET}{KIND}[$__range])))"
                ),
                red_from=5,
            )
        )
        .with_row(dashboard_builders.Row("Holds"))
        .with_panel(
            timeseries_panel(
                "Held workloads by kind",
                "How many workloads of each kind are held at each instant.",
                "short",
                [Query(f"sum by (kind) ({_HELD}{KIND})", "{{kind}}")],
                stacked=True,
            )
        )
        .with_panel(
            timeseries_panel(
                "Hold duration by kind",
                "Median and 95th percentile of how long released workloads were held.",
                "s",
                [
                    Query(_hold_quantile(0.5), "{{kind}} p50"),
                    Query(_hold_quantile(0.95), "{{kind}} p95"),
                ],
            )
        )
        .with_panel(
            heatmap_panel(
                "Hold durations",
                "Distribution of hold durations of released workloads per interval.",
                "s",
                Query(f"sum by (le) (increase({_HOLD_BUCKET}{KIND}[$__interval]))"),
            )
        )
        .with_panel(
            timeseries_panel(
                "Deadline misses and re-plans",
                "Per interval: workloads released after their latest safe start, and held "
                "workloads re-planned because the forecast moved.",
                "short",
                [
                    Query(f"sum by (kind) (increase({_MISSES}{KIND}[$__interval]))", "miss"),
                    Query(f"sum by (kind) (increase({_REPLANS}{KIND}[$__interval]))", "re-plan"),
                ],
                bars=True,
            )
        )
        .with_row(dashboard_builders.Row("Decisions and releases"))
        .with_panel(
            timeseries_panel(
                "Releases by trigger",
                "Per interval: releases by what triggered them (planned window, latest safe "
                "start, no signal, ...).",
                "short",
                [
                    Query(
                        f"sum by (trigger) (increase({_RELEASES}{KIND}[$__interval]))",
                        "{{trigger}}",
                    )
                ],
                bars=True,
                stacked=True,
            )
        )
        .with_panel(
            timeseries_panel(
                "Decisions by reason",
                "Per interval: plans made by the webhook and the controller, by reason.",
                "short",
                [
                    Query(
                        f"sum by (component, reason) (increase({_DECISIONS}{KIND}[$__interval]))",
                        "{{component}}: {{reason}}",
                    )
                ],
                bars=True,
                stacked=True,
            )
        )
    )
