"""The "Signal" dashboard: the carbon intensity the decisions were made on, and its health.

Intensity and forecast per grid zone, provider errors, and the age of the newest value used.
A provider failing shows twice here: as errors, and, once the cache serves stale values, as
a growing data age (stale data is served with a flag rather than blocking decisions).
"""

from __future__ import annotations

from grafana_foundation_sdk.builders import dashboard as dashboard_builders

from carbon_kube.dashboards import series
from carbon_kube.dashboards.panels import (
    Query,
    new_dashboard,
    query_variable,
    stat_panel,
    timeseries_panel,
)
from carbon_kube.observability import metrics

UID = "carbon-kube-signal"
ZONE = '{zone=~"$zone"}'
# Hourly data are normal; two hours without a newer value means the provider is not keeping
# up (the StaleCarbonData alert in deploy/prometheus/rules.yaml uses the same bound).
STALE_AFTER_S = 7200
_INTENSITY = series.gauge(metrics.ZONE_INTENSITY_G_PER_KWH)
_FORECAST = series.gauge(metrics.ZONE_FORECAST_G_PER_KWH)
_AGE = series.gauge(metrics.PROVIDER_DATA_AGE_SECONDS)
_ERRORS = series.counter(metrics.PROVIDER_ERRORS)
_WEIGHT = series.gauge(metrics.NODEPOOL_WEIGHT)
_STALE = series.gauge(metrics.SIGNAL_STALE)
_IN_USE = series.gauge(metrics.SIGNAL_IN_USE)
_PUBLISHES = series.counter(metrics.SIGNAL_PUBLISHES)


def build() -> dashboard_builders.Dashboard:
    return (
        new_dashboard(
            "Carbon-Kube: Signal",
            UID,
            "Grid carbon intensity and forecasts per zone as the components see them, "
            "provider errors and the age of the data decisions are made on.",
        )
        .with_variable(query_variable("zone", "Grid zone", _INTENSITY, "zone"))
        .with_row(dashboard_builders.Row("Intensity"))
        .with_panel(
            timeseries_panel(
                "Carbon intensity per zone",
                "Latest intensity of each grid zone (gCO2eq/kWh), by the provider that gave it.",
                "suffix:g/kWh",
                [Query(f"avg by (zone, provider) ({_INTENSITY}{ZONE})", "{{zone}} ({{provider}})")],
                width=24,
            )
        )
        .with_panel(
            timeseries_panel(
                "Forecast per zone",
                "Forecast mean intensity over the next horizon, by forecast model and horizon.",
                "suffix:g/kWh",
                [
                    Query(
                        f"avg by (zone, forecast, horizon) ({_FORECAST}{ZONE})",
                        "{{zone}} {{forecast}} {{horizon}}",
                    )
                ],
                width=24,
            )
        )
        .with_row(dashboard_builders.Row("Health"))
        .with_panel(
            stat_panel(
                "Oldest data in use",
                "Age of the stalest zone's newest value (red from two hours).",
                "s",
                Query(f"max({_AGE}{ZONE})"),
                red_from=STALE_AFTER_S,
            )
        )
        .with_panel(
            stat_panel(
                "Provider errors",
                "Failed provider requests over the range (fallbacks to other links or to "
                "the cache included).",
                "short",
                Query(f"sum(increase({_ERRORS}[$__range])) or vector(0)"),
                red_from=1,
            )
        )
        .with_panel(
            timeseries_panel(
                "Data age per zone",
                "Age of the newest intensity value used per zone and provider.",
                "s",
                [Query(f"max by (zone, provider) ({_AGE}{ZONE})", "{{zone}} ({{provider}})")],
                red_from=STALE_AFTER_S,
            )
        )
        .with_panel(
            timeseries_panel(
                "Provider errors",
                "Failed requests per second by provider, operation and error class "
                "(temporary: retried or fallen back; permanent: retrying will not help).",
                "reqps",
                [
                    Query(
                        f"sum by (provider, operation, error_class) "
                        f"(rate({_ERRORS}[$__rate_interval]))",
                        "{{provider}} {{operation}} {{error_class}}",
                    )
                ],
            )
        )
        .with_row(dashboard_builders.Row("Published signal"))
        .with_panel(
            stat_panel(
                "Zones with a stale signal",
                "Zones whose published signal came from the cache (the source failing) or "
                "could not be published (the SignalStale alert fires after 15 minutes).",
                "short",
                Query(f"sum({_STALE}{ZONE}) or vector(0)"),
                red_from=1,
            )
        )
        .with_panel(
            timeseries_panel(
                "Source and model in use",
                "The source and forecast model each zone's published signal came from.",
                "short",
                [
                    Query(
                        f"max by (zone, source, model) ({_IN_USE}{ZONE})",
                        "{{zone}} {{source}} {{model}}",
                    )
                ],
            )
        )
        .with_panel(
            timeseries_panel(
                "Signal polls by outcome",
                "Published zone signals per second by outcome (fresh, stale, no-data, "
                "write-failed).",
                "reqps",
                [
                    Query(
                        f"sum by (zone, outcome) (rate({_PUBLISHES}{ZONE}[$__rate_interval]))",
                        "{{zone}} {{outcome}}",
                    )
                ],
                width=24,
            )
        )
        .with_panel(
            timeseries_panel(
                "Karpenter NodePool weights",
                "spec.weight Carbon-Kube set on each NodePool (higher: provisioned first).",
                "short",
                [Query(f"max by (nodepool) ({_WEIGHT})", "{{nodepool}}")],
                width=24,
            )
        )
    )
