"""End to end: one day of a real job trace through the lab, carbon-kube off and on.

The first day of GAIA's ``pai_1k`` trace (Alibaba PAI, 143 jobs), converted by the project's
converter (``carbon-kube traces convert``, GAIA slack: 6 h for jobs under 2 h, else 24 h),
is replayed on a virtual clock (speed-up 720: a day in two real minutes) against the embedded
2020 intensity of DE. Every job is submitted twice at its trace instant:

* **off**: a plain Job in one namespace: it starts at submission (the carbon-agnostic baseline);
* **on**: the same Job opted in, in another namespace: the real webhook (enforce-edge's
  ``make_webhook_app`` with the ``temporal`` policy and the oracle forecast) admits it
  suspended with a plan, and the real controller process releases it.

Start instants are what the system recorded on the virtual clock: the submission for "off" and
the controller's ``released-at`` for "on"; the test checks that the lab really started every
job right after it (Job ``startTime``, whole real seconds). Emissions are power x the integral
of the true intensity over [start, start + duration], with the simulator's power model; the
simulator's prediction for the same jobs and settings must match within 5 %.

Scaled to fit the lab: pod CPU requests are 100 m per trace vCPU (energy uses the trace's
vCPUs); run durations are real kwok delays on the virtual clock.
"""

from __future__ import annotations

import base64
import csv
import json
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from prometheus_client.parser import text_string_to_metric_families

from carbon_kube.domain.annotations import (
    DEADLINE,
    EXPECTED_DURATION,
    FLEXIBLE_LABEL,
    RELEASED_AT,
    format_duration,
    format_rfc3339,
    parse_rfc3339,
)
from carbon_kube.domain.intensity import to_epoch_s
from carbon_kube.domain.zones import Zone
from carbon_kube.energy.power import default_power_model
from carbon_kube.kube.client import JOBS, NAMESPACES, KubeApiError, KubeClient
from carbon_kube.kube.resources import MUTATING_WEBHOOKS
from carbon_kube.lab.clock import VirtualClock
from carbon_kube.lab.control_plane import wait_for
from carbon_kube.lab.processes import free_loopback_ports
from carbon_kube.lab.state import LabState
from carbon_kube.planning import PlanningService, PlanningSettings
from carbon_kube.policy.grids import IntensityGrid
from carbon_kube.providers.embedded import EmbeddedProvider, load_embedded_series
from carbon_kube.serving import BackgroundServer, TlsFiles, server_ssl_context
from carbon_kube.sim.engine import SimulationSettings, simulate
from carbon_kube.sim.job_trace import OnMissing, check_against_intensity, read_job_trace
from carbon_kube.webhook.server import make_webhook_app
from tests.integration.controller_process import ControllerProcess
from tests.integration.kube_objects import make_job
from tests.integration.tls import write_serving_cert

pytestmark = [pytest.mark.lab, pytest.mark.shared_data]

SPEEDUP = 720.0
ZONE = Zone("DE")
DAY_START = datetime(2020, 3, 2, tzinfo=UTC)
POLICY = "temporal"
# Real-time lag allowed between the recorded release and the Job's startTime (whole seconds).
START_LAG = timedelta(seconds=3)


def _convert_first_day(
    shared_data: Path, out: Path, *, start: datetime = DAY_START, zone: Zone = ZONE
) -> Path:
    """The first day of GAIA's pai_1k as a job trace submitted from ``start`` in ``zone``."""
    trace = shared_data / "gaia-job-traces" / "pai_1k.csv"
    full = out / "pai_1k-all.csv"
    args = ["traces", "convert", "--format", "gaia", "--input", str(trace), "--time-unit"]
    args += ["seconds", "--start", f"{start:%Y-%m-%d}", "--zone", str(zone)]
    cli = str(Path(sys.executable).parent / "carbon-kube")
    subprocess.run([cli, *args, "--out", str(full)], check=True, capture_output=True)  # noqa: S603
    next_day = f"{start + timedelta(days=1):%Y-%m-%d}"
    with full.open() as handle:
        first_day = sum(1 for row in csv.DictReader(handle) if row["submit_time"] < next_day)
    day = out / "pai_1k-day1.csv"
    subprocess.run(  # noqa: S603
        [cli, *args, "--limit", str(first_day), "--out", str(day)], check=True, capture_output=True
    )
    return day


@pytest.fixture
def webhook_for(kube: KubeClient, tmp_path: Path) -> Iterator[Any]:
    """Start the webhook on ``clock`` and register it for one namespace only."""
    registered: list[tuple[str, BackgroundServer]] = []

    def start(clock: VirtualClock, namespace: str, planner: PlanningService | None = None) -> None:
        """Without ``planner``: the embedded DE data with the oracle forecast, on ``clock``."""
        cert = write_serving_cert(tmp_path / "tls")
        if planner is None:
            settings = PlanningSettings(home_zone=str(ZONE), policy=POLICY, forecast="oracle")
            planner = PlanningService(EmbeddedProvider(clock), clock, settings)
        server = BackgroundServer(
            make_webhook_app(planner), ssl_context=server_ssl_context(TlsFiles(cert.cert, cert.key))
        ).start()
        name = f"carbon-kube-e2e-{uuid.uuid4().hex[:6]}"
        kube.create(
            MUTATING_WEBHOOKS,
            {
                "apiVersion": "admissionregistration.k8s.io/v1",
                "kind": "MutatingWebhookConfiguration",
                "metadata": {"name": name},
                "webhooks": [
                    {
                        "name": "e2e.carbon-kube.io",
                        "admissionReviewVersions": ["v1"],
                        "sideEffects": "None",
                        "failurePolicy": "Ignore",
                        "timeoutSeconds": 5,
                        "clientConfig": {
                            "url": f"{server.url}/mutate",
                            "caBundle": base64.b64encode(cert.ca_pem).decode(),
                        },
                        "namespaceSelector": {
                            "matchLabels": {"kubernetes.io/metadata.name": namespace}
                        },
                        "objectSelector": {"matchLabels": {FLEXIBLE_LABEL: "true"}},
                        "rules": [
                            {
                                "apiGroups": ["batch"],
                                "apiVersions": ["v1"],
                                "operations": ["CREATE"],
                                "resources": ["jobs"],
                            }
                        ],
                    }
                ],
            },
        )
        registered.append((name, server))
        probe = make_job("probe").build()
        probe["metadata"]["labels"] = {FLEXIBLE_LABEL: "true"}
        probe["metadata"]["annotations"] = {
            DEADLINE: format_rfc3339(clock.now() + timedelta(hours=9))
        }

        def suspended_by_webhook() -> bool:
            created = kube.request(
                "POST", JOBS.collection(namespace), body=probe, query={"dryRun": "All"}
            )
            return bool(created["spec"].get("suspend"))

        wait_for(suspended_by_webhook, timedelta(seconds=60), "the apiserver to call the webhook")

    yield start
    for name, server in registered:
        kube.delete(MUTATING_WEBHOOKS, name)
        server.stop()


@dataclass(frozen=True)
class ReportedOutcomes:
    """What the controller's /metrics says about the releases it estimated."""

    jobs: int
    baseline_g: float
    avoided_g: float


def _reported_outcomes(port: int) -> ReportedOutcomes:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        text = response.read().decode()
    totals: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.labels.get("kind") == "job":
                totals[sample.name] = totals.get(sample.name, 0.0) + sample.value
    return ReportedOutcomes(
        jobs=int(totals.get("carbon_kube_job_emissions_grams_count", 0)),
        baseline_g=totals.get("carbon_kube_counterfactual_emissions_grams_total", 0.0),
        avoided_g=totals.get("carbon_kube_avoided_emissions_grams_total", 0.0)
        - totals.get("carbon_kube_excess_emissions_grams_total", 0.0),
    )


def _wait_for_reported_outcomes(port: int, jobs: int) -> ReportedOutcomes:
    """The controller's totals once every release's estimate is in (they follow the patch)."""
    deadline = time.monotonic() + 30
    while True:
        reported = _reported_outcomes(port)
        if reported.jobs >= jobs or time.monotonic() > deadline:
            return reported
        time.sleep(0.5)


def _namespace(kube: KubeClient, name: str) -> str:
    kube.create(NAMESPACES, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}})
    return name


def _job(name: str, cpus: float, duration: timedelta, clock: VirtualClock) -> dict[str, Any]:
    job = make_job(name).running_for(duration, clock).build()
    container = job["spec"]["template"]["spec"]["containers"][0]
    container["resources"]["requests"]["cpu"] = f"{round(cpus * 100)}m"  # scaled to fit
    return job


def _submit_twice_and_wait(
    kube: KubeClient, jobs: Any, clock: VirtualClock, off_ns: str, on_ns: str
) -> tuple[list[str], np.ndarray]:
    """Submit each trace job at its instant, plain in ``off_ns`` and opted in in ``on_ns``; wait
    until every opted-in one was released and started. Names and submission epochs, by job."""
    n = len(jobs)
    submitted_s = np.zeros(n)
    names = [f"j{i:03d}" for i in range(n)]
    for i in np.argsort(jobs.submit_s, kind="stable"):
        submit = datetime.fromtimestamp(float(jobs.submit_s[i]), tz=UTC)
        delay = (clock.to_real(submit) - clock.real_now()).total_seconds()
        if delay > 0:
            time.sleep(delay)
        duration = timedelta(seconds=float(jobs.duration_s[i]))
        plain = _job(names[i], float(jobs.cpus[i]), duration, clock)
        flexible = _job(names[i], float(jobs.cpus[i]), duration, clock)
        flexible["metadata"]["labels"] = {FLEXIBLE_LABEL: "true"}
        flexible["metadata"]["annotations"] = {
            DEADLINE: format_rfc3339(datetime.fromtimestamp(float(jobs.deadline_s[i]), tz=UTC)),
            EXPECTED_DURATION: format_duration(duration),
        }
        kube.create(JOBS, plain, off_ns)
        submitted_s[i] = to_epoch_s(clock.now())
        kube.create(JOBS, flexible, on_ns)

    def all_started() -> bool:
        listed = kube.list(JOBS, on_ns)
        return len(listed) == n and all(j["status"].get("startTime") for j in listed)

    last_latest_start = datetime.fromtimestamp(float(jobs.latest_start_s.max()), tz=UTC)
    budget = clock.to_real(last_latest_start) - clock.real_now() + timedelta(minutes=2)
    wait_for(all_started, budget, "every opted-in job to be released and started")
    return names, submitted_s


def test_one_day_of_pai_jobs_emits_what_the_simulator_predicts_with_no_deadline_missed(
    lab: LabState,
    kube: KubeClient,
    shared_data: Path,
    webhook_for: Any,
    tmp_path: Path,
) -> None:
    jobs_csv = _convert_first_day(shared_data, tmp_path)
    truth = IntensityGrid({ZONE: load_embedded_series()[ZONE]})
    checked = check_against_intensity(
        read_job_trace(jobs_csv), truth.grid, OnMissing.ERROR, source=str(jobs_csv)
    )
    jobs = checked.jobs
    power = default_power_model()
    predicted = simulate(
        jobs, truth, SimulationSettings(policies=(POLICY,), power=power, forecast="oracle")
    )
    n = len(jobs)
    assert n > 100

    clock = VirtualClock.starting_now(SPEEDUP, virtual_epoch=DAY_START - timedelta(minutes=3))
    (metrics_port,) = free_loopback_ports(1)
    suffix = uuid.uuid4().hex[:6]
    off_ns = _namespace(kube, f"e2e-off-{suffix}")
    on_ns = _namespace(kube, f"e2e-on-{suffix}")
    webhook_for(clock, on_ns)
    controller = ControllerProcess(
        lab.state_dir,
        clock,
        f"e2e-{suffix}",
        tmp_path / "controller.log",
        identity="e2e",
        # Release 2 virtual minutes (0.17 real s) early: at speed-up 720 every real
        # millisecond of API latency is 0.7 virtual seconds, enough to miss a deadline that
        # the plan meets exactly at the latest safe start.
        # With a home zone the controller also reports each release's estimated emissions
        # against the baseline (the savings metrics); it re-plans with the webhook's policy
        # and the same oracle, so plans stay put.
        extra_args=(
            "--kinds",
            "job",
            "--no-label-nodes",
            "--release-lead",
            "2m",
            "--replan-home-zone",
            str(ZONE),
            "--replan-policy",
            POLICY,
            "--replan-forecast",
            "oracle",
            "--metrics-port",
            str(metrics_port),
        ),
    )
    try:
        kube.create(
            NAMESPACES,
            {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "carbon-kube"}},
        )
    except KubeApiError as error:
        if not error.is_conflict:
            raise
    controller.start()
    try:
        controller.wait_leading()
        names, submitted_s = _submit_twice_and_wait(kube, jobs, clock, off_ns, on_ns)
        reported = _wait_for_reported_outcomes(metrics_port, n)
    finally:
        controller.stop()

    on_jobs = {j["metadata"]["name"]: j for j in kube.list(JOBS, on_ns)}
    off_jobs = {j["metadata"]["name"]: j for j in kube.list(JOBS, off_ns)}
    released_s = np.zeros(n)
    lags_s = []
    for i, name in enumerate(names):
        job = on_jobs[name]
        released = parse_rfc3339(job["metadata"]["annotations"][RELEASED_AT], RELEASED_AT)
        released_s[i] = to_epoch_s(released)
        started = parse_rfc3339(job["status"]["startTime"], "startTime")
        lag = started - clock.to_real(released)
        lags_s.append(lag.total_seconds())
        assert lag <= START_LAG, f"{name} started {lag} (real) after its release"
        assert off_jobs[name]["status"].get("startTime"), f"baseline {name} never started"

    power_kw = predicted.baseline.power_w / 1000.0
    zone_index = np.zeros(n, dtype=np.int64)

    def grams(start_s: np.ndarray) -> float:
        return float(
            (
                power_kw * truth.integral_by_zone(zone_index, start_s, start_s + jobs.duration_s)
            ).sum()
        )

    measured_off_g = grams(submitted_s)
    measured_on_g = grams(released_s)
    predicted_off_g = float(predicted.baseline.co2_g.sum())
    predicted_on_g = float(predicted.outcomes[POLICY].co2_g.sum())
    late_s = released_s + jobs.duration_s - jobs.deadline_s
    misses_on = int((late_s > 0).sum())
    figures = {
        "jobs": n,
        "speedup": SPEEDUP,
        "measured_off_kg": measured_off_g / 1000,
        "measured_on_kg": measured_on_g / 1000,
        "predicted_off_kg": predicted_off_g / 1000,
        "predicted_on_kg": predicted_on_g / 1000,
        "measured_savings_pct": 100 * (1 - measured_on_g / measured_off_g),
        "predicted_savings_pct": 100 * (1 - predicted_on_g / predicted_off_g),
        "gap_on_pct": 100 * (measured_on_g / predicted_on_g - 1),
        "gap_off_pct": 100 * (measured_off_g / predicted_off_g - 1),
        "controller_estimated_savings_pct": 100 * reported.avoided_g / reported.baseline_g,
        "controller_estimated_jobs": reported.jobs,
        "deadline_misses_on": misses_on,
        "worst_finish_vs_deadline_virtual_s": float(late_s.max()),
        "release_to_start_lag_real_s_max": max(lags_s),
        "release_minus_plan_virtual_s_p50": float(
            np.median(released_s - predicted.outcomes[POLICY].schedule.start_s)
        ),
    }
    print("\nE2E figures:", json.dumps(figures, indent=2))
    (tmp_path / "figures.json").write_text(json.dumps(figures, indent=2))
    assert misses_on == 0
    assert abs(figures["gap_on_pct"]) <= 5.0
    assert abs(figures["gap_off_pct"]) <= 5.0
    assert measured_on_g < measured_off_g
    # The controller's own savings metrics tell the same story: its per-release estimates
    # (pod requests, creation instants) give the same saving as the test's accounting.
    assert reported.jobs == n
    assert abs(figures["controller_estimated_savings_pct"] - figures["measured_savings_pct"]) <= 1.0
    for ns in (on_ns, off_ns):
        kube.delete(NAMESPACES, ns)
