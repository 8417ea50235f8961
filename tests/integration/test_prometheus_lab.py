"""Debian's Prometheus scrapes the real webhook and extender in the lab; the rules evaluate.

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

Savings series (``carbon_kube:*emissions*``) are covered by the promtool unit tests only:
no component records job outcomes yet (the controller will, via ``record_job_outcome``).
"""

from __future__ import annotations

import base64
import ssl
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from carbon_kube.domain.annotations import FLEXIBLE_LABEL, MAX_DELAY
from carbon_kube.kube.client import JOBS, PODS, KubeClient, ResourcePath
from carbon_kube.lab.control_plane import LabState, wait_for
from carbon_kube.lab.processes import (
    RunningProcess,
    free_loopback_ports,
    start_process,
    stop_process,
    tail_log,
    wait_until_ready,
)
from tests.integration.kube_objects import make_job, make_pod
from tests.integration.tls import write_serving_cert
from tests.prometheus_tools import RULES, require_binary

pytestmark = pytest.mark.lab

MUTATING = ResourcePath(
    "apis/admissionregistration.k8s.io/v1", "mutatingwebhookconfigurations", namespaced=False
)
CARBON_KUBE = Path(sys.executable).parent / "carbon-kube"
START_TIMEOUT = timedelta(seconds=120)
RULE_GROUPS = {"carbon-kube-savings", "carbon-kube-health", "carbon-kube-alerts"}
BAD_BODY = b'{"not": "an admission review"}'


@dataclass(frozen=True)
class Components:
    webhook_url: str
    extender_url: str
    prometheus_url: str
    ca_file: Path
    log_dir: Path

    def logs(self) -> str:
        return "\n".join(
            f"--- {path.name}\n{tail_log(path, lines=15)}"
            for path in sorted(self.log_dir.glob("*.log"))
        )


def _https_client(ca_file: Path) -> httpx.Client:
    return httpx.Client(verify=ssl.create_default_context(cafile=str(ca_file)), timeout=10)


def _start(
    binary: Path, name: str, args: list[str], log_dir: Path, health_url: str, ca: Path | None
) -> RunningProcess:
    process = start_process(name, binary, args, log_dir)

    def healthy() -> bool:
        try:
            client = _https_client(ca) if ca is not None else httpx.Client(timeout=5)
            with client:
                return client.get(health_url).status_code == 200
        except httpx.HTTPError:
            return False

    wait_until_ready(process, healthy, START_TIMEOUT, what="serving")
    return process


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
    webhook_port, extender_port, prometheus_port = free_loopback_ports(3)
    planning = [
        "--home-zone", "DE", "--policy", "temporal", "--forecast", "oracle",
        "--intensity-file", str(intensity), "--lab-state-dir", str(lab.state_dir),
    ]  # fmt: skip
    logs = work / "logs"
    started: list[RunningProcess] = []
    try:
        webhook_url = f"https://127.0.0.1:{webhook_port}"
        started.append(
            _start(
                CARBON_KUBE,
                "webhook",
                ["webhook", "serve", "--host", "127.0.0.1", "--port", str(webhook_port),
                 "--tls-cert", str(cert.cert), "--tls-key", str(cert.key), *planning],
                logs, f"{webhook_url}/healthz", ca_file,
            )
        )  # fmt: skip
        extender_url = f"http://127.0.0.1:{extender_port}"
        started.append(
            _start(
                CARBON_KUBE,
                "extender",
                ["extender", "serve", "--host", "127.0.0.1", "--port", str(extender_port),
                 "--kubeconfig", str(lab.kubeconfig), "--node-refresh-seconds", "1", *planning],
                logs, f"{extender_url}/healthz", None,
            )
        )  # fmt: skip
        config = work / "prometheus.yml"
        config.write_text(yaml.safe_dump(_prometheus_config(webhook_port, extender_port, ca_file)))
        prometheus_url = f"http://127.0.0.1:{prometheus_port}"
        started.append(
            _start(
                prometheus,
                "prometheus",
                [f"--config.file={config}", f"--storage.tsdb.path={work / 'tsdb'}",
                 f"--web.listen-address=127.0.0.1:{prometheus_port}", "--log.level=warn"],
                logs, f"{prometheus_url}/-/ready", None,
            )
        )  # fmt: skip
        name = f"carbon-kube-prom-{uuid.uuid4().hex[:6]}"
        kube.create(MUTATING, _webhook_configuration(name, webhook_url, cert.ca_pem))
        try:
            yield Components(webhook_url, extender_url, prometheus_url, ca_file, logs)
        finally:
            kube.delete(MUTATING, name)
    finally:
        for process in reversed(started):
            stop_process(process)


def _prometheus_config(webhook_port: int, extender_port: int, ca_file: Path) -> dict[str, Any]:
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
        ],
    }


def _webhook_configuration(name: str, url: str, ca_pem: bytes) -> dict[str, Any]:
    return {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "MutatingWebhookConfiguration",
        "metadata": {"name": name},
        "webhooks": [
            {
                "name": "mutate.carbon-kube.io",
                "admissionReviewVersions": ["v1"],
                "sideEffects": "None",
                "failurePolicy": "Ignore",
                "timeoutSeconds": 10,
                "clientConfig": {
                    "url": f"{url}/mutate",
                    "caBundle": base64.b64encode(ca_pem).decode(),
                },
                "objectSelector": {"matchLabels": {FLEXIBLE_LABEL: "true"}},
                "rules": [
                    {"apiGroups": [""], "apiVersions": ["v1"], "operations": ["CREATE"],
                     "resources": ["pods"]},
                    {"apiGroups": ["batch"], "apiVersions": ["v1"], "operations": ["CREATE"],
                     "resources": ["jobs"]},
                ],
            }
        ],
    }  # fmt: skip


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
    with _https_client(components.ca_file) as https, httpx.Client(timeout=10) as http:
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
    assert sum(len(group["rules"]) for group in rules) == 17
