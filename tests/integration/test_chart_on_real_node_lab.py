"""The chart, running: ``helm install`` of the built images onto the lab's real node.

``make image``'s archives are imported into the real node; every component is scheduled
there by the chart's own ``nodeSelector``/``tolerations`` values and must become Ready by its
probes. Then the running pods do the work: the apiserver calls the webhook pods through the
Service's endpoints (TLS from the chart's generated CA) and they hold a Job on a kwok node;
the leader of the two controller replicas releases it by its latest safe start; from inside
each pod, one request outside its role is refused with 403; the API token in the Secret
reaches only the controller and no pod's log.
"""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from carbon_kube.cli.lab import default_bin_dir
from carbon_kube.domain.annotations import LATEST_START, RELEASE_AT
from carbon_kube.domain.instants import parse_rfc3339
from carbon_kube.kube.client import JOBS, NAMESPACES, PODS, KubeClient
from carbon_kube.kube.resources import DEPLOYMENTS, LEASES, SECRETS
from carbon_kube.lab.control_plane import run_down, run_up, wait_for
from carbon_kube.lab.real_node import NODE_NAME
from carbon_kube.lab.settings import LabSettings, RealNodeSettings, default_node_pools
from carbon_kube.lab.state import LabState
from tests.integration.conftest import LAB_TIMEOUT
from tests.integration.helm_chart import CHART, needs_helm, run_helm
from tests.integration.images import CARBON_KUBE, SCHEDULER, build, require_podman
from tests.integration.real_node import (
    ON_THE_REAL_NODE,
    chart_rolled_out,
    flexible_job,
    require_real_node,
)

pytestmark = [pytest.mark.lab, needs_helm]

RELEASE = "ck"
NAMESPACE = "carbon-kube"
TOKEN = "em-token-that-must-never-be-logged"  # noqa: S105 - a test value
COMPONENTS = ("controller", "webhook", "extender", "native-scheduler")
VALUES = (
    *ON_THE_REAL_NODE,
    "extender.enabled=true",
    "nativeScheduler.enabled=true",
    # Short Leases: a replica restart must not stall the release test for long.
    "controller.leaseDuration=6s",
    "controller.renewPeriod=2s",
)


@pytest.fixture(scope="module")
def chart_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabState]:
    require_real_node()
    require_podman()
    built = build()  # warm: seconds; the archives must be this commit's
    assert built.returncode == 0, built.stderr[-4000:]
    settings = LabSettings(
        bin_dir=default_bin_dir(),
        state_dir=tmp_path_factory.mktemp("chart-lab") / "state",
        node_pools=default_node_pools(zones=1, nodes_per_zone=2),
        real_node=RealNodeSettings(
            python=Path(sys.executable), images=(CARBON_KUBE.archive, SCHEDULER.archive)
        ),
        ready_timeout=LAB_TIMEOUT,
    )
    try:
        lab = run_up(settings)
        with lab.client() as kube:
            kube.create(NAMESPACES, {"apiVersion": "v1", "kind": "Namespace",
                                     "metadata": {"name": NAMESPACE}})  # fmt: skip
        installed = helm(lab, "install", *_sets(VALUES))
        assert installed.returncode == 0, installed.stderr
        yield lab
    finally:
        run_down(settings.state_dir)


def helm(lab: LabState, verb: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {"KUBECONFIG": str(lab.kubeconfig), "HELM_CACHE_HOME": str(lab.state_dir / "helm")}
    return run_helm(verb, RELEASE, str(CHART), "--namespace", NAMESPACE, *args, env=env)


def _sets(values: tuple[str, ...]) -> list[str]:
    return [arg for value in values for arg in ("--set", value)]


def _available(kube: KubeClient) -> bool:
    return chart_rolled_out(kube, NAMESPACE, len(COMPONENTS))


def _pods(kube: KubeClient, component: str) -> list[dict[str, Any]]:
    return [
        pod
        for pod in kube.list(PODS, NAMESPACE)
        if pod["metadata"]["name"].startswith(f"{RELEASE}-carbon-kube-{component}-")
    ]


def kubectl(lab: LabState, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - the lab's kubectl, fixed arguments
        [str(default_bin_dir() / "kubectl"), f"--kubeconfig={lab.kubeconfig}", *args],
        capture_output=True, text=True, check=False, timeout=120,
    )  # fmt: skip


def test_every_component_runs_on_the_real_node_and_is_ready_by_its_probes(
    chart_lab: LabState,
) -> None:
    with chart_lab.client() as kube:
        wait_for(lambda: _available(kube), timedelta(minutes=3), "every Deployment Available")
        pods = kube.list(PODS, NAMESPACE)
        lease = kube.get(LEASES, f"{RELEASE}-carbon-kube-controller", NAMESPACE)

    assert len(pods) == 7  # controller x2, webhook x2, native scheduler x2, extender
    for pod in pods:
        assert pod["spec"]["nodeName"] == NODE_NAME, pod["metadata"]["name"]
        status = pod["status"]["containerStatuses"][0]
        assert status["ready"], pod["metadata"]["name"]
        assert status["containerID"].startswith("containerd://")
    holder = lease["spec"]["holderIdentity"]
    assert any(holder.startswith(p["metadata"]["name"]) for p in pods), holder


def test_the_webhook_pods_hold_a_job_and_the_leading_controller_releases_it(
    chart_lab: LabState,
) -> None:
    """A Job whose latest safe start is 90 s away: held, then released by then."""
    name = f"held-{uuid.uuid4().hex[:6]}"
    job = flexible_job(name)
    with chart_lab.client() as kube:
        wait_for(lambda: _available(kube), timedelta(minutes=3), "every Deployment Available")
        kube.create(JOBS, job, namespace="default")
        held = kube.get(JOBS, name, namespace="default")
        assert held["spec"]["suspend"] is True, "the in-cluster webhook did not hold the Job"
        annotations = held["metadata"]["annotations"]
        assert RELEASE_AT in annotations
        assert LATEST_START in annotations

        def released() -> bool:
            return kube.get(JOBS, name, namespace="default")["spec"].get("suspend") is False

        wait_for(released, timedelta(minutes=3), "the in-cluster controller to release the Job")
        released_at = datetime.now(UTC)

    # Never past the latest safe start (a poll's half second and a release PATCH of slack).
    latest_start = parse_rfc3339(annotations[LATEST_START], LATEST_START)
    assert released_at <= latest_start + timedelta(seconds=3)


# The native scheduler's image is one static binary with no interpreter to probe from; what its
# ServiceAccount may do is checked by tests/integration/test_chart_rbac_lab.py.
@pytest.mark.parametrize("component", ["controller", "webhook", "extender"])
def test_from_inside_each_pod_a_request_outside_its_role_is_refused(
    chart_lab: LabState, component: str
) -> None:
    """Its own ServiceAccount token, the in-cluster address: listing Secrets is a 403."""
    probe = (
        "import os, ssl, urllib.request, urllib.error\n"
        "sa = '/var/run/secrets/kubernetes.io/serviceaccount/'\n"
        "context = ssl.create_default_context(cafile=sa + 'ca.crt')\n"
        "env = os.environ\n"
        "api = env['KUBERNETES_SERVICE_HOST'] + ':' + env['KUBERNETES_SERVICE_PORT']\n"
        "request = urllib.request.Request(\n"
        f"    'https://' + api + '/api/v1/namespaces/{NAMESPACE}/secrets',\n"
        "    headers={'Authorization': 'Bearer ' + open(sa + 'token').read()})\n"
        "try:\n"
        "    urllib.request.urlopen(request, context=context, timeout=10)\n"
        "    print(200)\n"
        "except urllib.error.HTTPError as error:\n"
        "    print(error.code)\n"
    )
    with chart_lab.client() as kube:
        wait_for(lambda: _available(kube), timedelta(minutes=3), "every Deployment Available")
        pod = _pods(kube, component)[0]["metadata"]["name"]
    result = kubectl(
        chart_lab, "exec", "-n", NAMESPACE, pod, "--",
        "/usr/bin/python3", "-c", probe,
    )  # fmt: skip

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "403"


def test_the_api_token_reaches_only_the_controller_and_no_log(chart_lab: LabState) -> None:
    """A live provider with its key in a Secret: only the poller mounts it; logs stay clean."""
    with chart_lab.client() as kube:
        kube.create(
            SECRETS,
            {
                "apiVersion": "v1",
                "kind": "Secret",
                "metadata": {"name": "carbon-keys"},
                "data": {"ELECTRICITYMAPS_TOKEN": base64.b64encode(TOKEN.encode()).decode()},
            },
            namespace=NAMESPACE,
        )
    upgraded = helm(
        chart_lab, "upgrade", *_sets(VALUES),
        *_sets(("api.provider=electricitymaps", "api.existingSecret=carbon-keys",
                # Nothing listens there: the controller polls, fails and logs it.
                "api.urls.electricityMaps=http://10.88.0.1:9/v3", "forecast=provider")),
    )  # fmt: skip
    assert upgraded.returncode == 0, upgraded.stderr
    with chart_lab.client() as kube:
        wait_for(lambda: _available(kube), timedelta(minutes=3), "the upgrade rolled out")
        deployments = {d["metadata"]["name"]: d for d in kube.list(DEPLOYMENTS, NAMESPACE)}
    using_secret = {
        name.removeprefix(f"{RELEASE}-carbon-kube-")
        for name, deployment in deployments.items()
        if "carbon-keys" in json.dumps(deployment["spec"]["template"])
    }
    assert using_secret == {"controller"}
    logs = "".join(
        kubectl(chart_lab, "logs", "-n", NAMESPACE, f"deployment/{RELEASE}-carbon-kube-{c}",
                "--all-containers", "--tail=-1").stdout
        for c in COMPONENTS
    )  # fmt: skip
    assert "electricitymaps" in logs.lower() or "10.88.0.1" in logs, "the poll was not logged"
    assert TOKEN not in logs
