"""The "Carbon savings" dashboard: what carbon-aware scheduling saved, and by which lever.

Every figure is against the carbon-agnostic counterfactual the components record for each job
(start at submit, home zone). Counters cannot go down, so savings are ``avoided - excess``:
``excess`` is what jobs the forecast misled emitted above their baseline, and hiding it would
claim savings that did not happen. A side with no series yet counts as zero (``or vector(0)``
for totals, ``or ... * 0`` per lever), so a cluster with no misled job still shows its savings.
"""

from __future__ import annotations

from grafana_foundation_sdk.builders import dashboard as dashboard_builders

from carbon_kube.dashboards import series
from carbon_kube.dashboards.panels import (
    Query,
    bar_gauge_panel,
    new_dashboard,
    query_variable,
    stat_panel,
    timeseries_panel,
)
from carbon_kube.observability import metrics

UID = "carbon-kube-savings"
KIND = '{kind=~"$kind"}'
_BASELINE = series.counter(metrics.COUNTERFACTUAL_EMISSIONS)
_ACTUAL = series.histogram(metrics.JOB_EMISSIONS_GRAMS, "sum")
_AVOIDED = series.counter(metrics.AVOIDED_EMISSIONS)
_EXCESS = series.counter(metrics.EXCESS_EMISSIONS)
_ENERGY = series.histogram(metrics.JOB_ENERGY_KWH, "sum")


def _total(metric: str, window: str) -> str:
    return f"sum(increase({metric}{KIND}[{window}]))"


def _net_total(window: str) -> str:
    return f"({_total(_AVOIDED, window)} or vector(0)) - ({_total(_EXCESS, window)} or vector(0))"


def _by_lever(metric: str, window: str) -> str:
    return f"sum by (lever) (increase({metric}{KIND}[{window}]))"


def _net_by_lever(window: str) -> str:
    avoided, excess = _by_lever(_AVOIDED, window), _by_lever(_EXCESS, window)
    return f"({avoided} or {excess} * 0) - ({excess} or {avoided} * 0)"


def build() -> dashboard_builders.Dashboard:
    per_hour = "$__rate_interval"
    return (
        new_dashboard(
            "Carbon-Kube: Carbon savings",
            UID,
            "Baseline (carbon-agnostic) vs actual estimated emissions, and the grams each "
            "lever (time, region, hardware) avoided. Net of jobs that emitted more than "
            "their baseline.",
        )
        .with_variable(query_variable("kind", "Workload kind", _BASELINE, "kind"))
        .with_row(dashboard_builders.Row("Over the selected range"))
        .with_panel(
            stat_panel(
                "Net avoided emissions",
                "Grams avoided minus grams in excess of the baseline over the range.",
                "massg",
                Query(_net_total("$__range")),
            )
        )
        .with_panel(
            stat_panel(
                "Savings vs baseline",
                "Net avoided grams as a share of the carbon-agnostic baseline's grams.",
                "percentunit",
                Query(f"({_net_total('$__range')}) / {_total(_BASELINE, '$__range')}"),
            )
        )
        .with_panel(
            stat_panel(
                "Baseline emissions",
                "Had every job started at submit in its home zone (carbon-agnostic).",
                "massg",
                Query(_total(_BASELINE, "$__range")),
            )
        )
        .with_panel(
            stat_panel(
                "Actual emissions",
                "Estimated emissions of the jobs as planned: power x intensity over each run.",
                "massg",
                Query(_total(_ACTUAL, "$__range")),
            )
        )
        .with_row(dashboard_builders.Row("Over time"))
        .with_panel(
            timeseries_panel(
                "Baseline vs actual emissions",
                "Grams per hour: carbon-agnostic baseline against what the plans emit.",
                "suffix:g/h",
                [
                    Query(f"sum(rate({_BASELINE}{KIND}[{per_hour}])) * 3600", "baseline"),
                    Query(f"sum(rate({_ACTUAL}{KIND}[{per_hour}])) * 3600", "actual"),
                ],
            )
        )
        .with_panel(
            timeseries_panel(
                "Avoided grams by lever",
                "Per interval: grams avoided by each lever; excess grams drawn below zero.",
                "massg",
                [
                    Query(_by_lever(_AVOIDED, "$__interval"), "{{lever}}"),
                    Query(f"-{_by_lever(_EXCESS, '$__interval')}", "{{lever}} (excess)"),
                ],
                bars=True,
                stacked=True,
            )
        )
        .with_panel(
            bar_gauge_panel(
                "Net avoided by lever",
                "Over the range: avoided minus excess grams, per lever.",
                "massg",
                Query(_net_by_lever("$__range"), "{{lever}}"),
            )
        )
        .with_panel(
            timeseries_panel(
                "Emissions by kind",
                "Grams per hour by workload kind, from the per-job estimates.",
                "suffix:g/h",
                [
                    Query(
                        f"sum by (kind) (rate({_ACTUAL}{KIND}[{per_hour}])) * 3600",
                        "{{kind}}",
                    )
                ],
            )
        )
        .with_panel(
            timeseries_panel(
                "Estimated power by kind",
                "kWh of started jobs per hour (= average kW), from the power model; the "
                "energy is the same under every policy, only when and where it runs changes.",
                "kwatt",
                [
                    Query(
                        f"sum by (kind) (rate({_ENERGY}{KIND}[{per_hour}])) * 3600",
                        "{{kind}}",
                    )
                ],
            )
        )
    )
