"""``carbon-kube plan``: what Carbon-Kube would do with this job now.

The options are the annotations and requests a workload carries; they are put on a Job object
and read by the same code the webhook runs at admission (``planning.workloads``), planned by
the same ``PlanningService`` on the same signal path (``--source``, ``cli.planning``), and
printed as the webhook would record them. Like the webhook it never refuses work for lack of
data: when every source fails the plan is ``no-signal`` (release at the latest safe start) and
the exit code is 0.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from carbon_kube.cli import planning
from carbon_kube.cli.options import parse_instant
from carbon_kube.cli.output import OUTPUT, Answer, OutputFormat, emit
from carbon_kube.cli.schemas import CSV_COLUMNS
from carbon_kube.cli.settings_options import field_option
from carbon_kube.domain import annotations as keys
from carbon_kube.domain.annotations import plan_annotations
from carbon_kube.domain.clock import FixedClock
from carbon_kube.domain.errors import InputError
from carbon_kube.domain.instants import format_rfc3339
from carbon_kube.domain.limits import JOB_MEMORY_GIB, JOB_VCPUS
from carbon_kube.domain.workloads import WorkloadKind
from carbon_kube.planning import NO_SIGNAL, PlanningSettings
from carbon_kube.planning.service import ExplainedPlan
from carbon_kube.planning.workloads import workload_from_object


def plan_command(
    zone: str = field_option(
        PlanningSettings,
        "home_zone",
        "--zone",
        "-z",
        help="Grid zone of the cluster it is submitted to, e.g. DE, GB, US-CAL-CISO.",
    ),
    allowed_zones: str | None = typer.Option(
        None, "--allowed-zones", help="Other grid zones it may run in, e.g. FR,NO-NO1."
    ),
    expected_duration: str | None = typer.Option(
        None, "--expected-duration", help="How long it runs, e.g. 2h (default 1h, as the webhook)."
    ),
    max_delay: str | None = typer.Option(
        None, "--max-delay", help="How long it may wait after now, e.g. 6h."
    ),
    deadline: str | None = typer.Option(
        None, "--deadline", help="When it must be done (RFC 3339). Give this or --max-delay."
    ),
    cpus: float | None = typer.Option(
        None,
        "--cpus",
        min=0.001,
        max=JOB_VCPUS.high,
        help="vCPU it requests (default: the webhook's default).",
    ),
    memory_gib: float | None = typer.Option(
        None,
        "--memory-gib",
        min=0.0,
        max=JOB_MEMORY_GIB.high,
        help="GiB it requests (default: the webhook's default).",
    ),
    interruptible: bool = typer.Option(
        False,
        "--interruptible",
        help="It may be paused and resumed (carbon-kube.io/interruptible).",
    ),
    policy: str = planning.POLICY,
    forecast: str = planning.FORECAST,
    threshold_g_per_kwh: float = planning.THRESHOLD_G_PER_KWH,
    latency_risk: float = planning.LATENCY_RISK,
    source: planning.SignalSource = planning.SOURCE,
    intensity_file: Path | None = planning.INTENSITY_FILE,
    cache: Path | None = planning.CACHE,
    electricitymaps_url: str = planning.ELECTRICITYMAPS_URL,
    watttime_url: str = planning.WATTTIME_URL,
    ukcarbon_url: str = planning.UKCARBON_URL,
    entsoe_url: str = planning.ENTSOE_URL,
    watttime_region: str | None = planning.WATTTIME_REGION,
    signal_namespace: str = planning.SIGNAL_NAMESPACE,
    kubeconfig: Path | None = planning.KUBECONFIG,
    at: str | None = typer.Option(
        None, "--at", help="Decide as if it were this instant (RFC 3339); default: now."
    ),
    lab_state_dir: Path | None = planning.LAB_STATE_DIR,
    output: OutputFormat = OUTPUT,
) -> None:
    """Print the plan the webhook would write for a job with these annotations, decided now.

    Offline by default (the embedded data replayed on today's date); --source electricitymaps,
    ukcarbon or watttime plan on the live API (behind the cache, flagged stale when it fails).
    """
    if at is not None and lab_state_dir is not None:
        raise InputError("give --at or --lab-state-dir, not both", field="--at")
    service = planning.build_planner(
        home_zone=zone,
        policy=policy,
        forecast=forecast,
        source=planning.source_settings(
            source,
            intensity_file=intensity_file,
            cache=cache,
            electricitymaps_url=electricitymaps_url,
            watttime_url=watttime_url,
            ukcarbon_url=ukcarbon_url,
            entsoe_url=entsoe_url,
            watttime_region=watttime_region,
            signal_namespace=signal_namespace,
        ),
        lab_state_dir=lab_state_dir,
        kubeconfig=kubeconfig,
        clock=FixedClock(parse_instant(at, "--at")) if at else None,
        threshold_g_per_kwh=threshold_g_per_kwh,
        latency_risk=latency_risk,
    )
    settings, clock = service.settings, service.clock
    job = _job_object(
        allowed_zones=allowed_zones,
        expected_duration=expected_duration,
        max_delay=max_delay,
        deadline=deadline,
        cpus=cpus,
        memory_gib=memory_gib,
        interruptible=interruptible,
    )
    now = clock.now()
    workload, _ = workload_from_object(
        WorkloadKind.JOB, job, home_zone=settings.home, submit_at=now, namespace="default"
    )
    explained = service.explain(workload)
    report = plan_report(explained, decided_at=now, latest_start=workload.latest_start)
    emit(
        Answer(
            report,
            [report],
            lambda console: _print_table(console, report),
            columns=CSV_COLUMNS["plan"],
        ),
        output,
    )


def _job_object(
    *,
    allowed_zones: str | None,
    expected_duration: str | None,
    max_delay: str | None,
    deadline: str | None,
    cpus: float | None,
    memory_gib: float | None,
    interruptible: bool,
) -> dict[str, Any]:
    """The Job the options describe: annotations and requests exactly as a user writes them."""
    given = {
        keys.ALLOWED_ZONES: allowed_zones,
        keys.EXPECTED_DURATION: expected_duration,
        keys.MAX_DELAY: max_delay,
        keys.DEADLINE: deadline,
        keys.INTERRUPTIBLE: "true" if interruptible else None,
    }
    requests = {"cpu": None if cpus is None else f"{cpus:g}"}
    requests["memory"] = None if memory_gib is None else f"{memory_gib * 1024:g}Mi"
    container = {
        "name": "work",
        "resources": {"requests": {k: v for k, v in requests.items() if v is not None}},
    }
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {
            "name": "plan",
            "namespace": "default",
            "labels": {keys.FLEXIBLE_LABEL: "true"},
            "annotations": {k: v for k, v in given.items() if v is not None},
        },
        "spec": {"template": {"spec": {"containers": [container]}}},
    }


def plan_report(
    explained: ExplainedPlan, *, decided_at: datetime, latest_start: datetime
) -> dict[str, Any]:
    """The plan as one JSON-ready object: the decision, its signal and its expected CO2."""
    plan, expected = explained.plan, explained.expected
    signal = plan.signal
    return {
        "zone": str(plan.zone),
        "release_at": format_rfc3339(plan.start_at),
        "latest_start": format_rfc3339(latest_start),
        "decided_at": format_rfc3339(decided_at),
        "reason": plan.reason,
        "lever": plan.lever.value,
        "forecast_g_per_kwh": (
            None if plan.forecast_g_per_kwh is None else round(plan.forecast_g_per_kwh, 1)
        ),
        "source": None if signal is None else signal.source,
        "model": None if signal is None else signal.model,
        "stale": True if signal is None else signal.stale,
        "expected_co2_g": None if expected is None else round(expected.emissions_g, 3),
        "baseline_co2_g": None if expected is None else round(expected.counterfactual_g, 3),
        "annotations": plan_annotations(plan, decided_at=decided_at, latest_start=latest_start),
    }


def _print_table(console: Console, report: dict[str, Any]) -> None:
    table = Table(title="carbon-kube plan", show_header=False)
    table.add_column("what")
    table.add_column("value")
    for key, value in report.items():
        if key == "annotations":
            continue
        table.add_row(key.replace("_", " "), "-" if value is None else str(value))
    console.print(table)
    if report["reason"] == NO_SIGNAL:
        console.print(
            "[yellow]no signal:[/] no source answered; like the webhook, the plan releases the "
            "work by its latest safe start instead of refusing it."
        )
    elif report["stale"]:
        console.print("[yellow]stale:[/] the source failed; planned on its last cached data.")
