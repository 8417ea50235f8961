"""Every Prometheus metric Carbon-Kube exports, in one module, all prefixed ``carbon_kube_``.

Why one module: names, labels and units are reviewed in one place and no component invents a
second spelling of the same quantity. Components import the metric objects and update them;
this module does no I/O (``exposition()`` only renders text for an HTTP handler) and imports
nothing from the rest of the package, so every layer may use it.

Labels are kept to bounded sets (zone, kind, verb, reason, provider): never a workload name,
which would grow a series per job. Per-job quantities are therefore histograms and counters
whose sums give totals (``sum(rate(carbon_kube_job_emissions_grams_sum[1h]))``).

Counters never go down, so avoided emissions are split: ``avoided`` counts the grams a plan
saved against the carbon-agnostic baseline, ``excess`` the grams it cost when the forecast was
wrong; ``avoided - excess`` is the net saving.
"""

from __future__ import annotations

from typing import Final

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    generate_latest,
)

__all__ = [
    "AVOIDED_EMISSIONS",
    "CONTENT_TYPE",
    "COUNTERFACTUAL_EMISSIONS",
    "DEADLINE_MISSES",
    "DECISIONS",
    "EXCESS_EMISSIONS",
    "EXTENDER_FILTERED_NODES",
    "EXTENDER_REQUESTS",
    "EXTENDER_REQUEST_SECONDS",
    "FORECAST_ONLINE_MAPE",
    "GATE_RELEASE_LAG_SECONDS",
    "HELD_WORKLOADS",
    "HOLD_DURATION_SECONDS",
    "JOB_EMISSIONS_GRAMS",
    "JOB_ENERGY_KWH",
    "NODEPOOL_WEIGHT",
    "PROVIDER_DATA_AGE_SECONDS",
    "PROVIDER_ERRORS",
    "PUBLISHED_SIGNAL_ERRORS",
    "REGISTRY",
    "RELEASES",
    "REPLANS",
    "SIGNAL_IN_USE",
    "SIGNAL_PUBLISHES",
    "SIGNAL_STALE",
    "WEBHOOK_REQUESTS",
    "WEBHOOK_REQUEST_SECONDS",
    "ZONE_FORECAST_G_PER_KWH",
    "ZONE_INTENSITY_G_PER_KWH",
    "exposition",
    "record_job_outcome",
]

PREFIX: Final = "carbon_kube_"
CONTENT_TYPE: Final = CONTENT_TYPE_LATEST

# Our own registry (not prometheus_client's global one): tests and the three processes
# (controller, webhook, extender) expose exactly these metrics plus process/platform ones.
REGISTRY: Final = CollectorRegistry(auto_describe=True)
ProcessCollector(registry=REGISTRY)
PlatformCollector(registry=REGISTRY)

# Hold durations span minutes to two days (max-delay annotations of up to 48 h are common).
_HOLD_BUCKETS_S = (60, 300, 900, 1800, 3600, 7200, 14400, 28800, 43200, 86400, 172800)
# The extender sits in the scheduling hot path: its goal is p99 < 5 ms at 5,000 nodes.
_LATENCY_BUCKETS_S = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0, 5.0)
# Gate-release lag: goal p99 < 5 s for 10,000 held pods.
_LAG_BUCKETS_S = (0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 300.0)
_ENERGY_BUCKETS_KWH = (0.001, 0.01, 0.1, 0.5, 1.0, 5.0, 10.0, 50.0, 100.0, 1000.0)
_EMISSIONS_BUCKETS_G = (1, 10, 100, 500, 1000, 5000, 10_000, 50_000, 100_000, 1_000_000)

# -- signal ---------------------------------------------------------------------------------

ZONE_INTENSITY_G_PER_KWH: Final = Gauge(
    PREFIX + "zone_intensity_g_per_kwh",
    "Latest carbon intensity of a grid zone (gCO2eq/kWh) as seen by this component.",
    ["zone", "provider"],
    registry=REGISTRY,
)
ZONE_FORECAST_G_PER_KWH: Final = Gauge(
    PREFIX + "zone_forecast_g_per_kwh",
    "Forecast mean carbon intensity of a grid zone over the next horizon (gCO2eq/kWh).",
    ["zone", "forecast", "horizon"],
    registry=REGISTRY,
)
PROVIDER_ERRORS: Final = Counter(
    PREFIX + "provider_errors",
    "Failed requests to a carbon-intensity provider, by operation and error class "
    "(temporary: retried or fallen back; permanent: retrying will not help).",
    ["provider", "operation", "error_class"],
    registry=REGISTRY,
)
PROVIDER_DATA_AGE_SECONDS: Final = Gauge(
    PREFIX + "provider_data_age_seconds",
    "Age of the newest intensity value used for a zone (stale data served from the cache "
    "shows up here as a growing age).",
    ["zone", "provider"],
    registry=REGISTRY,
)

# -- decisions and holds -------------------------------------------------------------------

SIGNAL_PUBLISHES: Final = Counter(
    PREFIX + "signal_publishes",
    "Zone signals the leading controller published (fresh, stale: the source failed and the "
    "cache answered) or could not (no-data, write-failed).",
    ["zone", "outcome"],
    registry=REGISTRY,
)
SIGNAL_STALE: Final = Gauge(
    PREFIX + "signal_stale",
    "1 while a zone's signal is stale (its source failing, or its document too old), else 0.",
    ["zone"],
    registry=REGISTRY,
)
PUBLISHED_SIGNAL_ERRORS: Final = Counter(
    PREFIX + "published_signal_errors",
    "Published zone-signal objects a reader could not decode and skipped.",
    registry=REGISTRY,
)
FORECAST_ONLINE_MAPE: Final = Gauge(
    PREFIX + "forecast_online_mape_pct",
    "Day-ahead MAPE over the last day of a zone's published forecast model and of persistence "
    "(the baseline it must beat), against what then happened.",
    ["zone", "model"],
    registry=REGISTRY,
)
SIGNAL_IN_USE: Final = Gauge(
    PREFIX + "signal_in_use",
    "1 for the source and forecast model a zone's published signal came from.",
    ["zone", "source", "model"],
    registry=REGISTRY,
)
DECISIONS: Final = Counter(
    PREFIX + "decisions",
    "Plans made, by the component that made them, workload kind and reason.",
    ["component", "kind", "reason"],
    registry=REGISTRY,
)
HELD_WORKLOADS: Final = Gauge(
    PREFIX + "held_workloads",
    "Workloads currently held (gated Pods, suspended Jobs/SparkApplications/FlinkDeployments).",
    ["kind"],
    registry=REGISTRY,
)
HOLD_DURATION_SECONDS: Final = Histogram(
    PREFIX + "hold_duration_seconds",
    "How long a workload was held before release (virtual seconds in the lab).",
    ["kind"],
    buckets=_HOLD_BUCKETS_S,
    registry=REGISTRY,
)
RELEASES: Final = Counter(
    PREFIX + "releases",
    "Workloads released, by trigger (planned, latest-safe-start, no-signal, ...).",
    ["kind", "trigger"],
    registry=REGISTRY,
)
REPLANS: Final = Counter(
    PREFIX + "replans",
    "Held workloads re-planned because the forecast moved materially.",
    ["kind"],
    registry=REGISTRY,
)
PAUSES: Final = Counter(
    PREFIX + "pauses",
    "Running interruptible workloads paused at the end of a planned segment.",
    ["kind"],
    registry=REGISTRY,
)
RESUMES: Final = Counter(
    PREFIX + "resumes",
    "Paused workloads resumed, by trigger (next-segment, deadline-guard, plan-exhausted).",
    ["kind", "trigger"],
    registry=REGISTRY,
)
PAUSED_SECONDS: Final = Counter(
    PREFIX + "paused_seconds",
    "Virtual seconds workloads spent paused, counted when they resume.",
    ["kind"],
    registry=REGISTRY,
)
PAUSE_LOST_WORK_SECONDS: Final = Counter(
    PREFIX + "pause_lost_work_seconds",
    "Work redone after resumes (each resume counts its checkpoint-interval): the energy cost "
    "of pausing, at the workload's power.",
    ["kind"],
    registry=REGISTRY,
)
GATE_RELEASE_LAG_SECONDS: Final = Histogram(
    PREFIX + "gate_release_lag_seconds",
    "Real seconds between a workload's release-at and the update that released it.",
    ["kind"],
    buckets=_LAG_BUCKETS_S,
    registry=REGISTRY,
)
DEADLINE_MISSES: Final = Counter(
    PREFIX + "deadline_misses",
    "Workloads released after their latest safe start (their deadline is at risk or missed).",
    ["kind"],
    registry=REGISTRY,
)
NODEPOOL_WEIGHT: Final = Gauge(
    PREFIX + "nodepool_weight",
    "Karpenter NodePool spec.weight set by Carbon-Kube.",
    ["nodepool"],
    registry=REGISTRY,
)

# -- estimated energy and emissions per job -------------------------------------------------

JOB_ENERGY_KWH: Final = Histogram(
    PREFIX + "job_energy_kwh",
    "Estimated facility energy of one job (kWh), from its requests and the power model.",
    ["kind"],
    buckets=_ENERGY_BUCKETS_KWH,
    registry=REGISTRY,
)
JOB_EMISSIONS_GRAMS: Final = Histogram(
    PREFIX + "job_emissions_grams",
    "Estimated emissions of one job as planned (gCO2eq): power x intensity over its run.",
    ["kind"],
    buckets=_EMISSIONS_BUCKETS_G,
    registry=REGISTRY,
)
COUNTERFACTUAL_EMISSIONS: Final = Counter(
    PREFIX + "counterfactual_emissions_grams",
    "Estimated emissions had each job started at submit in its home zone (carbon-agnostic).",
    ["kind"],
    registry=REGISTRY,
)
AVOIDED_EMISSIONS: Final = Counter(
    PREFIX + "avoided_emissions_grams",
    "Grams saved against the carbon-agnostic counterfactual (jobs that emitted less).",
    ["kind", "lever"],
    registry=REGISTRY,
)
EXCESS_EMISSIONS: Final = Counter(
    PREFIX + "excess_emissions_grams",
    "Grams emitted above the carbon-agnostic counterfactual (jobs the forecast misled).",
    ["kind", "lever"],
    registry=REGISTRY,
)

# -- adapters ------------------------------------------------------------------------------

EXTENDER_REQUEST_SECONDS: Final = Histogram(
    PREFIX + "extender_request_seconds",
    "Time to answer one scheduler-extender request (parse, decide, encode).",
    ["verb"],
    buckets=_LATENCY_BUCKETS_S,
    registry=REGISTRY,
)
EXTENDER_REQUESTS: Final = Counter(
    PREFIX + "extender_requests",
    "Scheduler-extender requests by verb and HTTP status code.",
    ["verb", "code"],
    registry=REGISTRY,
)
EXTENDER_FILTERED_NODES: Final = Counter(
    PREFIX + "extender_filtered_nodes",
    "Nodes removed by the extender's filter because a workload's policy forbids them.",
    ["reason"],
    registry=REGISTRY,
)
WEBHOOK_REQUEST_SECONDS: Final = Histogram(
    PREFIX + "webhook_request_seconds",
    "Time to answer one admission review (parse, plan, patch).",
    ["path"],
    buckets=_LATENCY_BUCKETS_S,
    registry=REGISTRY,
)
WEBHOOK_REQUESTS: Final = Counter(
    PREFIX + "webhook_requests",
    "Admission reviews by path, HTTP status code and outcome "
    "(mutated, unchanged, rejected, bad-request).",
    ["path", "code", "outcome"],
    registry=REGISTRY,
)


def record_job_outcome(
    *,
    kind: str,
    lever: str,
    energy_kwh: float,
    emissions_g: float,
    counterfactual_g: float,
) -> None:
    """Record one job's estimates: energy, emissions, the baseline's, and the difference."""
    JOB_ENERGY_KWH.labels(kind).observe(energy_kwh)
    JOB_EMISSIONS_GRAMS.labels(kind).observe(emissions_g)
    COUNTERFACTUAL_EMISSIONS.labels(kind).inc(counterfactual_g)
    saved_g = counterfactual_g - emissions_g
    if saved_g >= 0:
        AVOIDED_EMISSIONS.labels(kind, lever).inc(saved_g)
    else:
        EXCESS_EMISSIONS.labels(kind, lever).inc(-saved_g)


def record_pause_outcome(*, kind: str, avoided_g: float) -> None:
    """Record what one pause saved (or cost) as the ``pause`` lever's share.

    The baseline was counted at the release; this moves grams between the release's estimate
    and the run as it happened (``planning.outcomes.pause_avoided_g``).
    """
    if avoided_g >= 0:
        AVOIDED_EMISSIONS.labels(kind, "pause").inc(avoided_g)
    else:
        EXCESS_EMISSIONS.labels(kind, "pause").inc(-avoided_g)


def exposition() -> bytes:
    """The text format of every metric in ``REGISTRY``, for a ``/metrics`` handler."""
    return bytes(generate_latest(REGISTRY))
