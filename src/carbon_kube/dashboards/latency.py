"""The "Job latency" dashboard: the delay carbon-awareness adds, per job class.

A job's added delay is its hold: the time from admission to release, recorded per workload
kind (Pod, Job, Spark, Flink), which is the job class here. The components' own latencies
(admission review, extender request) are shown too: they are added to every pod's path
whether or not it is held.
"""

from __future__ import annotations

from grafana_foundation_sdk.builders import dashboard as dashboard_builders
from prometheus_client.utils import floatToGoString

from carbon_kube.dashboards import series
from carbon_kube.dashboards.panels import Query, new_dashboard, query_variable, timeseries_panel
from carbon_kube.observability import metrics

UID = "carbon-kube-latency"
KIND = '{kind=~"$kind"}'
_RATE = "$__rate_interval"
_HOLD_SUM = series.histogram(metrics.HOLD_DURATION_SECONDS, "sum")
_HOLD_COUNT = series.histogram(metrics.HOLD_DURATION_SECONDS, "count")
_HOLD_BUCKET = series.histogram(metrics.HOLD_DURATION_SECONDS, "bucket")
_WEBHOOK_BUCKET = series.histogram(metrics.WEBHOOK_REQUEST_SECONDS, "bucket")
_EXTENDER_BUCKET = series.histogram(metrics.EXTENDER_REQUEST_SECONDS, "bucket")
_WEBHOOK_REQUESTS = series.counter(metrics.WEBHOOK_REQUESTS)
_EXTENDER_REQUESTS = series.counter(metrics.EXTENDER_REQUESTS)
# Hold-duration bucket bounds the "delayed more than" panel reads (they exist in metrics.py).
_ONE_HOUR_S = 3600
_EIGHT_HOURS_S = 28800


def _delayed_over(bound_s: int) -> str:
    # prometheus_client writes bucket bounds as Go floats ("3600.0"); match them exactly.
    le = floatToGoString(bound_s)  # type: ignore[no-untyped-call]  # untyped in prometheus_client
    within = f'sum by (kind) (rate({_HOLD_BUCKET}{{kind=~"$kind", le="{le}"}}[{_RATE}]))'
    everything = f"sum by (kind) (rate({_HOLD_COUNT}{KIND}[{_RATE}]))"
    return f"1 - {within} / {everything}"


def _quantile(bucket: str, label: str, q: float) -> str:
    return f"histogram_quantile({q}, sum by ({label}, le) (rate({bucket}[{_RATE}])))"


def build() -> dashboard_builders.Dashboard:
    return (
        new_dashboard(
            "Carbon-Kube: Job latency",
            UID,
            "Delay carbon-aware holds add per job class (workload kind), and the latency "
            "the webhook and the scheduler extender add to every pod.",
        )
        .with_variable(query_variable("kind", "Workload kind", _HOLD_COUNT, "kind"))
        .with_row(dashboard_builders.Row("Delay added by holds"))
        .with_panel(
            timeseries_panel(
                "Mean delay added per job",
                "Mean hold duration of the workloads released in each interval, per kind.",
                "s",
                [
                    Query(
                        f"sum by (kind) (rate({_HOLD_SUM}{KIND}[{_RATE}])) "
                        f"/ sum by (kind) (rate({_HOLD_COUNT}{KIND}[{_RATE}]))",
                        "{{kind}}",
                    )
                ],
            )
        )
        .with_panel(
            timeseries_panel(
                "p95 delay added per job",
                "95th percentile hold duration per kind (bucket-interpolated).",
                "s",
                [
                    Query(
                        f"histogram_quantile(0.95, sum by (kind, le) "
                        f"(rate({_HOLD_BUCKET}{KIND}[{_RATE}])))",
                        "{{kind}}",
                    )
                ],
            )
        )
        .with_panel(
            timeseries_panel(
                "Jobs delayed more than 1 h / 8 h",
                "Share of released workloads per kind whose hold exceeded one and eight hours.",
                "percentunit",
                [
                    Query(_delayed_over(_ONE_HOUR_S), "{{kind}} > 1h"),
                    Query(_delayed_over(_EIGHT_HOURS_S), "{{kind}} > 8h"),
                ],
                width=24,
            )
        )
        .with_row(dashboard_builders.Row("Latency the components add"))
        .with_panel(
            timeseries_panel(
                "Admission review latency",
                "p50 and p99 time to answer an admission review, per path (the apiserver "
                "waits for this on every opted-in create).",
                "s",
                [
                    Query(_quantile(_WEBHOOK_BUCKET, "path", 0.5), "{{path}} p50"),
                    Query(_quantile(_WEBHOOK_BUCKET, "path", 0.99), "{{path}} p99"),
                ],
            )
        )
        .with_panel(
            timeseries_panel(
                "Scheduler extender latency",
                "p50 and p99 time to answer filter/prioritize (goal: p99 under 5 ms).",
                "s",
                [
                    Query(_quantile(_EXTENDER_BUCKET, "verb", 0.5), "{{verb}} p50"),
                    Query(_quantile(_EXTENDER_BUCKET, "verb", 0.99), "{{verb}} p99"),
                ],
                red_from=0.005,
            )
        )
        .with_panel(
            timeseries_panel(
                "Admission reviews by outcome",
                "Reviews per second by path, HTTP code and outcome.",
                "reqps",
                [
                    Query(
                        f"sum by (path, code, outcome) (rate({_WEBHOOK_REQUESTS}[{_RATE}]))",
                        "{{path}} {{code}} {{outcome}}",
                    )
                ],
            )
        )
        .with_panel(
            timeseries_panel(
                "Extender requests by code",
                "Requests per second by verb and HTTP code.",
                "reqps",
                [
                    Query(
                        f"sum by (verb, code) (rate({_EXTENDER_REQUESTS}[{_RATE}]))",
                        "{{verb}} {{code}}",
                    )
                ],
            )
        )
    )
