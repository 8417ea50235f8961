"""Debian's Prometheus scrapes the real webhook, extender and controller in the lab.

The webhook (``carbon-kube webhook serve``, HTTPS) is registered with the lab's apiserver and
admits real Pods and a Job; the extender (``carbon-kube extender serve``) lists the lab's Nodes
and answers prioritize requests shaped like the scheduler's. Both run on the lab's virtual
clock with an intensity file that covers only a zone the lab does not have, so every lookup
of a real zone fails over from the file to the embedded data (DE) or fails altogether (IE,
which the embedded data lack): the real fallback chain counts real provider errors. A few
malformed requests make real 4xx answers.

Prometheus scrapes both every second, evaluates deploy/prometheus/rules.yaml every second,
and the test reads the results through its HTTP API: the recorded error ratios, the pending
alerts (their ``for:`` is minutes, so "pending" is the proof the expression matched), and the
health of every rule. Counters are created by their first increment and ``rate()`` ignores
a series' first sample, so traffic comes in two phases with scrapes in between.

The controller (``carbon-kube controller run --metrics-port``) starts only in the second
test, once the first test's namespace is gone, so it never releases the webhook's holds and
every count it exports is one the test caused: it releases workloads whose plan is due and
keeps two held for days; the recorded held, release and hold-time series must match.

Savings series (``carbon_kube:*emissions*``) are covered by the promtool unit tests only:
no component records job outcomes yet (``record_job_outcome`` has no caller).
"""

from __future__ import annotations

import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from typer.testing import CliRunner

from carbon_kube.cli.app import app
from carbon_kube.domain.annotations import (
    DEADLINE,
    EXPECTED_DURATION,
    FLEXIBLE_LABEL,
    LATEST_START,
    MAX_DELAY,
    RELEASE_AT,
    SCHEDULING_GATE,
    format_rfc3339,
)
from carbon_kube.exports.files import read_metrics_export
from carbon_kube.kube.client import JOBS, NAMESPACES, PODS, KubeApiError, KubeClient
from carbon_kube.lab.clock import VirtualClock
from carbon_kube.lab.control_plane import wait_for
from carbon_kube.lab.processes import (
    RunningProcess,
    free_loopback_ports,
    stop_process,
    tail_log,
)
from carbon_kube.lab.state import LabState
from tests.integration.controller_process import ControllerProcess
from tests.integration.kube_objects import make_job, make_pod
from tests.integration.servers import (
    MUTATING,
    https_client,
    start_server,
    webhook_configuration,
)
from tests.integration.tls import write_serving_cert
from tests.prometheus_tools import RULES, require_binary

pytestmark = pytest.mark.lab

CARBON_KUBE = Path(sys.executable).parent / "carbon-kube"
START_TIMEOUT = timedelta(seconds=120)
RULE_GROUPS = {
    "carbon-kube-savings",
    "carbon-kube-health",
    "carbon-kube-holds",
    "carbon-kube-alerts",
}
RULE_COUNT = 23
SPEEDUP = 60.0
LEASE_NAMESPACE = "carbon-kube"
# With a home zone the controller also estimates each release's emissions and the baseline's
# (embedded DE data): the savings series. Pods without a deadline are never re-planned.
CONTROLLER_ARGS = ("--kinds", "pod,job", "--no-label-nodes", "--replan-home-zone", "DE")
# Every component labels its series with the domain kind ("pod", "job"), so decisions,
# holds and releases of one kind join in PromQL.
POD, JOB = "pod", "job"
HOUR = timedelta(hours=1)
BAD_BODY = b'{"not": "an admission review"}'


@dataclass(frozen=True)
class Components:
    webhook_url: str
    extender_url: str
    controller_port: int
    prometheus_url: str
    ca_file: Path
    log_dir: Path

    def logs(self) -> str:
        return "\n".join(
            f"--- {path.name}\n{tail_log(path, lines=15)}"
            for path in sorted(self.log_dir.glob("*.log"))
        )


@pytest.fixture(scope="module")
def components(
    lab: LabState, kube: KubeClient, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Components]:
    prometheus = require_binary("prometheus")
    work = tmp_path_factory.mktemp("prometheus-lab")
    cert = write_serving_cert(work / "tls")
    ca_file = work / "tls" / "ca.pem"
    ca_file.write_bytes(cert.ca_pem)
    # Only a zone the lab has no nodes in: real zones fail over from the file to the
    # embedded data, and the chain counts each failure.
    intensity = work / "intensity.csv"
    intensity.write_text(
        "timestamp,zone,g_per_kwh\n"
        + "".join(f"2020-01-01T{hour:02d}:00:00Z,XX,{100 + hour}\n" for hour in range(24))
    )
    webhook_port, extender_port, controller_port, prometheus_port = free_loopback_ports(4)
    planning = [
        "--home-zone", "DE", "--policy", "temporal", "--forecast", "oracle",
        "--intensity-file", str(intensity), "--lab-state-dir", str(lab.state_dir),
    ]  # fmt: skip
    logs = work / "logs"
    started: list[RunningProcess] = []
    try:
        webhook_url = f"https://127.0.0.1:{webhook_port}"
        started.append(
            start_server(
                CARBON_KUBE,
                "webhook",
                ["webhook", "serve", "--host", "127.0.0.1", "--port", str(webhook_port),
                 "--tls-cert", str(cert.cert), "--tls-key", str(cert.key), *planning],
                logs, f"{webhook_url}/healthz", ca_file,
            )
        )  # fmt: skip
        extender_url = f"http://127.0.0.1:{extender_port}"
        started.append(
            start_server(
                CARBON_KUBE,
                "extender",
                ["extender", "serve", "--host", "127.0.0.1", "--port", str(extender_port),
                 "--kubeconfig", str(lab.kubeconfig), "--node-refresh-seconds", "1", *planning],
                logs, f"{extender_url}/healthz", None,
            )
        )  # fmt: skip
        config = work / "prometheus.yml"
        scraped = _prometheus_config(webhook_port, extender_port, controller_port, ca_file)
        config.write_text(yaml.safe_dump(scraped))
        prometheus_url = f"http://127.0.0.1:{prometheus_port}"
        started.append(
            start_server(
                prometheus,
                "prometheus",
                [f"--config.file={config}", f"--storage.tsdb.path={work / 'tsdb'}",
                 f"--web.listen-address=127.0.0.1:{prometheus_port}", "--log.level=warn"],
                logs, f"{prometheus_url}/-/ready", None,
            )
        )  # fmt: skip
        name = f"carbon-kube-prom-{uuid.uuid4().hex[:6]}"
        kube.create(MUTATING, webhook_configuration(name, webhook_url, cert.ca_pem))
        try:
            yield Components(
                webhook_url, extender_url, controller_port, prometheus_url, ca_file, logs
            )
        finally:
            kube.delete(MUTATING, name)
    finally:
        for process in reversed(started):
            stop_process(process)


def _prometheus_config(
    webhook_port: int, extender_port: int, controller_port: int, ca_file: Path
) -> dict[str, Any]:
    """Scrape and evaluate every second; the controller's target is down until it starts."""
    return {
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "rule_files": [str(RULES)],
        "scrape_configs": [
            {
                "job_name": "carbon-kube-webhook",
                "scheme": "https",
                "tls_config": {"ca_file": str(ca_file)},
                "static_configs": [{"targets": [f"127.0.0.1:{webhook_port}"]}],
            },
            {
                "job_name": "carbon-kube-extender",
                "static_configs": [{"targets": [f"127.0.0.1:{extender_port}"]}],
            },
            {
                "job_name": "carbon-kube-controller",
                "static_configs": [{"targets": [f"127.0.0.1:{controller_port}"]}],
            },
        ],
    }


# -- traffic --------------------------------------------------------------------------------


def _flexible_pod(name: str) -> dict[str, Any]:
    pod = make_pod(name).annotated(MAX_DELAY, "6h").build()
    pod["metadata"]["labels"][FLEXIBLE_LABEL] = "true"
    return pod


def _create_flexible_pod(kube: KubeClient, namespace: str, name: str) -> bool:
    return bool(kube.create(PODS, _flexible_pod(name), namespace)["spec"].get("schedulingGates"))


def _webhook_is_called(kube: KubeClient, namespace: str) -> bool:
    """A dry-run create: the apiserver picks webhook configurations up asynchronously."""
    probe = kube.request(
        "POST", PODS.collection(namespace), body=_flexible_pod("probe"), query={"dryRun": "All"}
    )
    return bool(probe["spec"].get("schedulingGates"))


def _create_flexible_job(kube: KubeClient, namespace: str, name: str) -> bool:
    job = make_job(name).build()
    job["metadata"]["labels"] = {FLEXIBLE_LABEL: "true"}
    job["metadata"]["annotations"] = {MAX_DELAY: "6h"}
    return bool(kube.create(JOBS, job, namespace)["spec"].get("suspend"))


def _prioritize(components: Components, nodes: list[str]) -> int:
    args = {"Pod": make_pod(f"s-{uuid.uuid4().hex[:6]}").build(), "NodeNames": nodes}
    with httpx.Client(timeout=10) as client:
        return client.post(f"{components.extender_url}/prioritize", json=args).status_code


def _bad_requests(components: Components, count: int) -> list[int]:
    codes = []
    headers = {"Content-Type": "application/json"}
    with https_client(components.ca_file) as https, httpx.Client(timeout=10) as http:
        for _ in range(count):
            codes.append(
                https.post(
                    f"{components.webhook_url}/mutate", content=BAD_BODY, headers=headers
                ).status_code
            )
            codes.append(
                http.post(
                    f"{components.extender_url}/prioritize", content=b"[", headers=headers
                ).status_code
            )
    return codes


# -- reading Prometheus ---------------------------------------------------------------------


def _query(components: Components, expr: str) -> list[dict[str, Any]]:
    with httpx.Client(timeout=10) as client:
        answer = client.get(f"{components.prometheus_url}/api/v1/query", params={"query": expr})
    answer.raise_for_status()
    body = answer.json()
    assert body["status"] == "success", body
    result: list[dict[str, Any]] = body["data"]["result"]
    return result


def _values(components: Components, expr: str, label: str | None = None) -> dict[str, float]:
    return {
        (sample["metric"].get(label, "") if label else ""): float(sample["value"][1])
        for sample in _query(components, expr)
    }


def _eventually(components: Components, expr: str, what: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []

    def present() -> bool:
        nonlocal found
        found = _query(components, expr)
        return bool(found)

    try:
        wait_for(present, timedelta(seconds=90), what)
    except TimeoutError as error:
        raise AssertionError(f"{error}; component logs:\n{components.logs()}") from error
    return found


def _eventually_true(check: Any, components: Components, what: str) -> None:
    try:
        wait_for(check, timedelta(seconds=90), what)
    except TimeoutError as error:
        raise AssertionError(f"{error}; component logs:\n{components.logs()}") from error


def _eventually_equal(
    components: Components, expr: str, label: str, expected: dict[str, float], what: str
) -> None:
    seen: dict[str, float] = {}

    def equal() -> bool:
        nonlocal seen
        seen = _values(components, expr, label)
        return seen == expected

    try:
        wait_for(equal, timedelta(seconds=90), what)
    except TimeoutError as error:
        raise AssertionError(
            f"{error}: last saw {seen}, wanted {expected}; logs:\n{components.logs()}"
        ) from error


# -- the test -------------------------------------------------------------------------------


def test_prometheus_scrapes_the_components_and_the_rules_produce_their_series(
    lab: LabState, kube: KubeClient, namespace: str, components: Components
) -> None:
    nodes = list(lab.nodes)
    # Phase 1: every counter series comes into existence (rate() ignores its first sample).
    wait_for(
        lambda: _webhook_is_called(kube, namespace),
        timedelta(seconds=60),
        "the apiserver to call the webhook",
    )
    assert _create_flexible_pod(kube, namespace, "p0")
    assert _prioritize(components, nodes) == 200
    assert set(_bad_requests(components, 1)) == {400}
    _eventually(
        components,
        'carbon_kube_webhook_requests_total{outcome="bad-request"}',
        "the webhook's bad-request counter to be scraped",
    )
    _eventually(
        components,
        'carbon_kube_extender_requests_total{code="400"}',
        "the extender's 400 counter to be scraped",
    )
    time.sleep(3)  # a few more scrapes of the phase-1 values

    # Phase 2: the traffic the rules should see as rates.
    created = [_create_flexible_pod(kube, namespace, f"p{i}") for i in range(1, 4)]
    created.append(_create_flexible_job(kube, namespace, "j"))
    assert all(created), "the webhook must hold every opted-in object"
    assert [_prioritize(components, nodes) for _ in range(3)] == [200] * 3
    assert set(_bad_requests(components, 2)) == {400}

    # The recorded error ratios: 2 bad of 6 webhook reviews, 2 bad of 5 extender requests
    # (rate() extrapolates per series, so a range rather than the exact fraction).
    webhook_ratio = _eventually(
        components,
        "carbon_kube:webhook_requests:error_ratio_rate5m > 0.05",
        "the webhook error ratio to be recorded above 5 %",
    )
    extender_ratio = _eventually(
        components,
        "carbon_kube:extender_requests:error_ratio_rate5m > 0.05",
        "the extender error ratio to be recorded above 5 %",
    )
    assert 0.05 < float(webhook_ratio[0]["value"][1]) < 1
    assert 0.05 < float(extender_ratio[0]["value"][1]) < 1

    # The alerts on them are pending (their for: is 10 minutes).
    for alert in ("CarbonKubeWebhookErrors", "CarbonKubeExtenderErrors"):
        _eventually(
            components,
            f'ALERTS{{alertname="{alert}", alertstate="pending"}}',
            f"{alert} to be pending",
        )

    # Provider errors: the file link failed for every real zone the webhook planned in.
    failing = _eventually(
        components,
        'ALERTS{alertname="CarbonKubeProviderFailing", alertstate="pending"}',
        "CarbonKubeProviderFailing to be pending",
    )
    assert {sample["metric"]["provider"] for sample in failing}

    # The scraped counters are exactly what the test caused.
    assert _values(components, 'sum(carbon_kube_webhook_requests_total{code="400"})') == {"": 3.0}
    assert _values(components, 'sum(carbon_kube_extender_requests_total{code="400"})') == {"": 3.0}
    assert (
        _values(
            components,
            'sum by (kind) (carbon_kube_decisions_total{component="webhook"})',
            "kind",
        ).get("job")
        == 1.0
    )

    # Decisions by reason: the recorded rates carry exactly the (kind, reason) pairs the
    # webhook counted, and pods, planned in both phases, have a positive rate.
    def kinds_and_reasons(expr: str) -> set[tuple[str, str]]:
        return {(s["metric"]["kind"], s["metric"]["reason"]) for s in _query(components, expr)}

    counted = kinds_and_reasons('carbon_kube_decisions_total{component="webhook"}')
    assert {kind for kind, _ in counted} == {"pod", "job"}
    _eventually_true(
        lambda: kinds_and_reasons('carbon_kube:decisions:rate5m{component="webhook"}') == counted,
        components,
        "the recorded decision rates to cover every (kind, reason) counted",
    )
    pod_rate = _values(components, 'sum(carbon_kube:decisions:rate5m{kind="pod"})')
    assert pod_rate[""] > 0

    # The extender's view of the signal: intensity and data age for the lab's zones.
    intensities = _values(components, "carbon_kube_zone_intensity_g_per_kwh", "zone")
    # The lab's regions map to IE (no embedded data: no value) and DE (embedded data).
    assert set(intensities) == {"DE"}
    assert intensities["DE"] > 0
    ages = _values(components, "carbon_kube_provider_data_age_seconds", "zone")
    assert set(ages) == set(intensities)
    assert all(0 <= age < 2 * 3600 for age in ages.values())
    _eventually(
        components,
        'carbon_kube:extender_request_seconds:p99_rate5m{verb="prioritize"}',
        "the extender's p99 latency to be recorded",
    )

    # Every rule loaded and evaluates without error against the real series.
    with httpx.Client(timeout=10) as client:
        rules = client.get(f"{components.prometheus_url}/api/v1/rules").json()["data"]["groups"]
    assert {group["name"] for group in rules} == RULE_GROUPS
    unhealthy = [
        (rule["name"], rule.get("lastError"))
        for group in rules
        for rule in group["rules"]
        if rule["health"] != "ok"
    ]
    assert unhealthy == []
    assert sum(len(group["rules"]) for group in rules) == RULE_COUNT


# -- the controller -------------------------------------------------------------------------


def _ensure_namespace(kube: KubeClient, name: str) -> None:
    try:
        kube.create(
            NAMESPACES, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}
        )
    except KubeApiError as error:
        if not error.is_conflict:
            raise


def _other_test_namespaces(kube: KubeClient, mine: str) -> list[str]:
    names = [ns["metadata"]["name"] for ns in kube.list(NAMESPACES)]
    return [name for name in names if name.startswith("t-") and name != mine]


def _due_pod(name: str, release_at: str, latest_start: str) -> dict[str, Any]:
    return (
        make_pod(name)
        .gated(SCHEDULING_GATE)
        .annotated(RELEASE_AT, release_at)
        .annotated(LATEST_START, latest_start)
        .build()
    )


def _estimated_pod(name: str, release_at: str, latest_start: datetime) -> dict[str, Any]:
    """A due pod whose size and run the controller can estimate (deadline, duration)."""
    pod = _due_pod(name, release_at, format_rfc3339(latest_start))
    pod["metadata"]["annotations"].update(_run_annotations(latest_start))
    return pod


def _run_annotations(latest_start: datetime) -> dict[str, str]:
    return {DEADLINE: format_rfc3339(latest_start + HOUR), EXPECTED_DURATION: "1h"}


def _due_job(name: str, release_at: str, latest_start: datetime) -> dict[str, Any]:
    job = make_job(name).suspended().build()
    job["metadata"]["labels"] = {FLEXIBLE_LABEL: "true"}
    job["metadata"]["annotations"] = {
        RELEASE_AT: release_at,
        LATEST_START: format_rfc3339(latest_start),
        **_run_annotations(latest_start),
    }
    return job


def test_prometheus_scrapes_the_controller_and_the_hold_rules_match_what_it_did(
    lab: LabState, kube: KubeClient, namespace: str, components: Components, tmp_path: Path
) -> None:
    # Other tests' holds (the webhook's, above) must be gone, or the controller would
    # release them too and the counts would not be the test's alone.
    wait_for(
        lambda: not _other_test_namespaces(kube, namespace),
        timedelta(seconds=120),
        "the other tests' namespaces to be deleted",
    )
    _ensure_namespace(kube, LEASE_NAMESPACE)
    clock = VirtualClock.starting_now(SPEEDUP)
    controller = ControllerProcess(
        lab.state_dir,
        clock,
        f"lease-{uuid.uuid4().hex[:8]}",
        tmp_path / "controller.log",
        extra_args=(*CONTROLLER_ARGS, "--metrics-port", str(components.controller_port)),
        identity="metrics",
    )
    controller.start()
    try:
        controller.wait_leading()
        _hold_and_release(kube, namespace, components, clock)
        _export_sees_the_held_pods(components, tmp_path / "export")
    except AssertionError as error:
        raise AssertionError(f"{error}\n--- controller\n{controller.output()[-3000:]}") from error
    finally:
        controller.stop()


def _hold_and_release(
    kube: KubeClient, namespace: str, components: Components, clock: VirtualClock
) -> None:
    now = clock.now().replace(microsecond=0)
    due = format_rfc3339(now)
    days_away = format_rfc3339(now + timedelta(days=3))
    safe = now + HOUR
    started_real_s = time.monotonic()

    # Phase 1: one pod due now, two held for days; every series comes into existence.
    kube.create(PODS, _estimated_pod("a0", due, safe), namespace)
    for name in ("h0", "h1"):
        kube.create(PODS, _due_pod(name, days_away, days_away), namespace)
    _eventually_equal(
        components,
        "sum by (trigger) (carbon_kube_releases_total)",
        "trigger",
        {"planned": 1.0},
        "the controller's first release to be scraped",
    )
    _eventually_equal(
        components,
        "carbon_kube:held_workloads:max",
        "kind",
        {POD: 2.0, JOB: 0.0},
        "the recorded held workloads to count the two pods held for days",
    )
    time.sleep(3)  # a few more scrapes of the phase-1 values

    # Phase 2: two more pods and a Job due now.
    for name in ("a1", "a2"):
        kube.create(PODS, _estimated_pod(name, due, safe), namespace)
    kube.create(JOBS, _due_job("j", due, safe), namespace)
    _eventually_equal(
        components,
        'sum by (kind) (carbon_kube_releases_total{trigger="planned"})',
        "kind",
        {POD: 3.0, JOB: 1.0},
        "every due workload's release to be scraped",
    )
    elapsed_virtual_s = (time.monotonic() - started_real_s + 2) * SPEEDUP

    # The recorded series agree with what the controller did.
    _eventually_equal(
        components,
        "carbon_kube:held_workloads:max",
        "kind",
        {POD: 2.0, JOB: 0.0},
        "the held workloads to stay at the two pods held for days",
    )
    held = kube.list(PODS, namespace)
    gated = {
        pod["metadata"]["name"]
        for pod in held
        if any(g["name"] == SCHEDULING_GATE for g in pod["spec"].get("schedulingGates") or [])
    }
    assert gated == {"h0", "h1"}
    # Two of the three Pod releases came after the series' first sample: a positive rate,
    # once the rule has evaluated on the phase-2 scrape.
    _eventually(
        components,
        f'carbon_kube:releases:rate5m{{trigger="planned", kind="{POD}"}} > 0',
        "a positive recorded release rate for Pods",
    )
    assert _values(
        components, "sum by (kind) (carbon_kube_hold_duration_seconds_count)", "kind"
    ) == {POD: 3.0, JOB: 1.0}
    # Mean hold time of the pods released in phase 2 (rate() skips a0's first sample): held
    # from creation to release, so within the virtual time the test took.
    mean_s = _eventually(
        components,
        # ">= 0" drops the NaN of phase 1, when the count had not moved yet
        f'carbon_kube:hold_duration_seconds:mean_rate1h{{kind="{POD}"}} >= 0',
        "the recorded mean hold time",
    )
    assert 0 <= float(mean_s[0]["value"][1]) <= elapsed_virtual_s
    up = _values(components, 'up{job="carbon-kube-controller"}')
    assert up == {"": 1.0}
    _savings_rules_follow_the_estimates(components)


def _savings_rules_follow_the_estimates(components: Components) -> None:
    """Every release was estimated; the savings rules see a baseline and ~no saving.

    The workloads were released at creation, so their runs and the baseline's coincide up to
    the second-resolution creation instant: the recorded saving ratio is ~0, not made up.
    """
    _eventually_equal(
        components,
        "sum by (kind) (carbon_kube_job_emissions_grams_count)",
        "kind",
        {POD: 3.0, JOB: 1.0},
        "an estimate for every release",
    )
    _eventually(
        components,
        f'carbon_kube:counterfactual_emissions_grams:rate5m{{kind="{POD}"}} > 0',
        "a positive recorded baseline emission rate",
    )
    ratio = _eventually(
        components, "carbon_kube:savings:ratio1h >= -1", "the recorded savings ratio"
    )
    assert abs(float(ratio[0]["value"][1])) < 0.02


def _export_sees_the_held_pods(components: Components, out: Path) -> None:
    """``carbon-kube metrics export`` on this Prometheus: the held gauge ends at 2 Pods."""
    end = datetime.now(UTC)
    args = ["metrics", "export", "--prometheus", components.prometheus_url,
            "--start", (end - timedelta(minutes=5)).isoformat(), "--end", end.isoformat(),
            "--step", "1s", "--out", str(out)]  # fmt: skip
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    held = read_metrics_export(out).of("held_workloads")
    last = held.sort_values("timestamp").groupby("kind")["value"].last().to_dict()
    assert last == {POD: 2.0, JOB: 0.0}
