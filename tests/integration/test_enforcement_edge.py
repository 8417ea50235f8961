"""The webhook and the extender against the lab's real apiserver and a real kube-scheduler.

The webhook is registered with the apiserver through real Mutating/ValidatingWebhook
configurations (HTTPS on 127.0.0.1, a throwaway CA in caBundle, failurePolicy Ignore). The
extender serves a *second* kube-scheduler process whose only profile is
``carbon-kube-scheduler``: extenders are global to a scheduler process in
KubeSchedulerConfiguration, so a second process is how one profile gets them, and it is the
pattern that works on managed control planes (see docs/enforcement.md).
"""

from __future__ import annotations

import base64
import time
import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import yaml

from carbon_kube.cli.lab import default_bin_dir
from carbon_kube.domain.annotations import (
    ALLOWED_ZONES,
    DEADLINE,
    FLEXIBLE_LABEL,
    MAX_DELAY,
    PLAN_ZONE,
    REASON,
    RELEASE_AT,
    SCHEDULING_GATE,
)
from carbon_kube.domain.workloads import WorkloadKind
from carbon_kube.domain.zones import Zone
from carbon_kube.energy.power import default_power_model
from carbon_kube.extender.nodes import INSTANCE_TYPE_LABEL, NodeCache
from carbon_kube.extender.scheduling import ExtenderContext, ZoneIntensities
from carbon_kube.extender.server import NodeCacheRefresher, make_extender_app
from carbon_kube.kube.client import (
    JOBS,
    NAMESPACES,
    NODES,
    PODS,
    KubeApiError,
    KubeClient,
    ResourcePath,
)
from carbon_kube.lab.control_plane import wait_for
from carbon_kube.lab.processes import free_loopback_ports, start_process, stop_process
from carbon_kube.lab.state import LabState
from carbon_kube.operator.workloads import release_patch
from carbon_kube.planning import PlanningService, PlanningSettings
from carbon_kube.providers.embedded import EmbeddedProvider
from carbon_kube.providers.regions import load_region_zone_map
from carbon_kube.serving import BackgroundServer, TlsFiles, server_ssl_context
from carbon_kube.webhook.server import make_webhook_app
from tests.integration.conftest import LAB_TIMEOUT
from tests.integration.crd_install import install_crds, remove_crds
from tests.integration.kube_objects import condition, make_job, make_pod
from tests.integration.tls import write_serving_cert

pytestmark = pytest.mark.lab

MUTATING = ResourcePath(
    "apis/admissionregistration.k8s.io/v1", "mutatingwebhookconfigurations", namespaced=False
)
VALIDATING = ResourcePath(
    "apis/admissionregistration.k8s.io/v1", "validatingwebhookconfigurations", namespaced=False
)
CRDS = ResourcePath("apis/apiextensions.k8s.io/v1", "customresourcedefinitions", namespaced=False)
SPARK = ResourcePath("apis/sparkoperator.k8s.io/v1beta2", "sparkapplications")
FLINK = ResourcePath("apis/flink.apache.org/v1beta1", "flinkdeployments")
SCHEDULER_NAME = "carbon-kube-scheduler"
EXTENDER_WEIGHT = 100
DEAD_WEBHOOK_LABEL = "lab-test.carbon-kube.dev/dead-webhook"
SHORT = timedelta(seconds=60)


# -- fixtures ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def planner(lab: LabState) -> PlanningService:
    """Embedded data replayed on the lab's virtual clock; the cluster's home grid is IE."""
    clock = lab.clock()
    settings = PlanningSettings(home_zone="IE", policy="temporal", forecast="oracle")
    return PlanningService(EmbeddedProvider(clock), clock, settings)


def _rules(operations: list[str]) -> list[dict[str, Any]]:
    return [
        {"apiGroups": [""], "apiVersions": ["v1"], "operations": operations, "resources": ["pods"]},
        {
            "apiGroups": ["batch"],
            "apiVersions": ["v1"],
            "operations": operations,
            "resources": ["jobs"],
        },
        {
            "apiGroups": ["sparkoperator.k8s.io"],
            "apiVersions": ["v1beta2"],
            "operations": operations,
            "resources": ["sparkapplications"],
        },
        {
            "apiGroups": ["flink.apache.org"],
            "apiVersions": ["v1beta1"],
            "operations": operations,
            "resources": ["flinkdeployments"],
        },
    ]


def webhook_entries(
    name: str, url: str, ca_pem: bytes, operations: list[str], path: str
) -> list[dict[str, Any]]:
    """The two entries of docs/enforcement.md: object opt-in and namespace opt-in."""
    common = {
        "admissionReviewVersions": ["v1"],
        "sideEffects": "None",
        "failurePolicy": "Ignore",
        "timeoutSeconds": 5,
        "rules": _rules(operations),
    }
    ca_bundle = base64.b64encode(ca_pem).decode()
    return [
        {
            **common,
            "name": f"{name}.carbon-kube.io",
            "clientConfig": {"url": f"{url}/{path}", "caBundle": ca_bundle},
            "objectSelector": {"matchLabels": {FLEXIBLE_LABEL: "true"}},
        },
        {
            **common,
            "name": f"{name}-namespace.carbon-kube.io",
            "clientConfig": {"url": f"{url}/{path}/namespace", "caBundle": ca_bundle},
            "namespaceSelector": {"matchLabels": {FLEXIBLE_LABEL: "true"}},
            "objectSelector": {
                "matchExpressions": [{"key": FLEXIBLE_LABEL, "operator": "DoesNotExist"}]
            },
        },
    ]


@pytest.fixture(scope="module")
def crds(kube: KubeClient) -> Iterator[None]:
    """The lab's stand-in Spark and Flink CRDs (one helper for every module that needs them)."""
    names = install_crds(kube, SHORT)
    yield
    remove_crds(kube, names)


@pytest.fixture(scope="module")
def webhook(
    kube: KubeClient,
    planner: PlanningService,
    crds: None,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[str]:
    """Our webhook on https://127.0.0.1:<port>, registered with the apiserver."""
    cert = write_serving_cert(tmp_path_factory.mktemp("webhook-tls"))
    server = BackgroundServer(
        make_webhook_app(planner), ssl_context=server_ssl_context(TlsFiles(cert.cert, cert.key))
    ).start()
    name = f"carbon-kube-test-{uuid.uuid4().hex[:6]}"
    kube.create(
        MUTATING,
        {
            "apiVersion": "admissionregistration.k8s.io/v1",
            "kind": "MutatingWebhookConfiguration",
            "metadata": {"name": name},
            "webhooks": webhook_entries("mutate", server.url, cert.ca_pem, ["CREATE"], "mutate"),
        },
    )
    kube.create(
        VALIDATING,
        {
            "apiVersion": "admissionregistration.k8s.io/v1",
            "kind": "ValidatingWebhookConfiguration",
            "metadata": {"name": name},
            "webhooks": webhook_entries(
                "validate", server.url, cert.ca_pem, ["CREATE", "UPDATE"], "validate"
            ),
        },
    )
    # A webhook pointing at a port nobody listens on: "webhook down" for labelled objects.
    (dead_port,) = free_loopback_ports(1)
    dead = webhook_entries(
        "dead", f"https://127.0.0.1:{dead_port}", cert.ca_pem, ["CREATE"], "mutate"
    )[0]
    dead["objectSelector"] = {"matchLabels": {DEAD_WEBHOOK_LABEL: "true"}}
    kube.create(
        MUTATING,
        {
            "apiVersion": "admissionregistration.k8s.io/v1",
            "kind": "MutatingWebhookConfiguration",
            "metadata": {"name": f"{name}-dead"},
            "webhooks": [dead],
        },
    )
    _wait_until_webhook_is_active(kube)
    yield server.url
    kube.delete(MUTATING, name)
    kube.delete(MUTATING, f"{name}-dead")
    kube.delete(VALIDATING, name)
    server.stop()


def _wait_until_webhook_is_active(kube: KubeClient) -> None:
    """The apiserver picks configurations up asynchronously: probe with dry-run creates."""
    probe = make_pod("probe").build()
    probe["metadata"]["labels"][FLEXIBLE_LABEL] = "true"
    probe["metadata"]["annotations"][MAX_DELAY] = "1h"

    def gated() -> bool:
        created = kube.request(
            "POST", PODS.collection("default"), body=probe, query={"dryRun": "All"}
        )
        return bool(created["spec"].get("schedulingGates"))

    wait_for(gated, SHORT, "the apiserver to call the webhook")


@pytest.fixture
def flexible_namespace(kube: KubeClient, namespace: str, webhook: str) -> str:
    """The test's namespace, opted in as a whole.

    The apiserver matches namespaceSelectors against its own informer's copy of the
    namespace, which lags the patch by a moment: probe with dry-run creates until an
    unlabelled pod in the namespace is gated, so tests never race that lag.
    """
    del webhook
    kube.patch(NAMESPACES, namespace, {"metadata": {"labels": {FLEXIBLE_LABEL: "true"}}})
    probe = make_pod("namespace-probe").annotated(MAX_DELAY, "1h").build()

    def gated() -> bool:
        created = kube.request(
            "POST", PODS.collection(namespace), body=probe, query={"dryRun": "All"}
        )
        return bool(created["spec"].get("schedulingGates"))

    wait_for(gated, SHORT, "the apiserver to see the namespace's opt-in label")
    return namespace


def flexible_pod(name: str, **annotations: str) -> dict[str, Any]:
    pod = make_pod(name).build()
    pod["metadata"]["labels"][FLEXIBLE_LABEL] = "true"
    pod["metadata"]["annotations"].update(annotations)
    return pod


# -- webhook -----------------------------------------------------------------------------------


def test_opted_in_pod_is_created_scheduling_gated_with_its_plan(
    kube: KubeClient, namespace: str, webhook: str
) -> None:
    created = kube.create(PODS, flexible_pod("p", **{MAX_DELAY: "6h"}), namespace)

    assert {"name": SCHEDULING_GATE} in created["spec"]["schedulingGates"]
    annotations = created["metadata"]["annotations"]
    assert annotations[PLAN_ZONE] == "IE"
    assert RELEASE_AT in annotations
    assert REASON in annotations

    def shows_scheduling_gated() -> bool:
        scheduled = condition(kube.get(PODS, "p", namespace), "PodScheduled")
        return scheduled is not None and scheduled.get("reason") == "SchedulingGated"

    wait_for(shows_scheduling_gated, SHORT, "the pod to show SchedulingGated")
    assert not kube.get(PODS, "p", namespace)["spec"].get("nodeName")


def test_opted_in_job_is_created_suspended_and_makes_no_pods(
    kube: KubeClient, namespace: str, webhook: str
) -> None:
    job = make_job("j").build()
    job["metadata"]["labels"] = {FLEXIBLE_LABEL: "true"}
    job["metadata"]["annotations"] = {MAX_DELAY: "6h"}

    created = kube.create(JOBS, job, namespace)

    assert created["spec"]["suspend"] is True
    assert created["metadata"]["annotations"][PLAN_ZONE] == "IE"
    time.sleep(3)
    assert kube.list(PODS, namespace) == []


def test_pods_of_a_released_job_in_an_opted_in_namespace_are_not_gated_again(
    kube: KubeClient, flexible_namespace: str, webhook: str
) -> None:
    namespace = flexible_namespace
    job = make_job("j").build()
    job["metadata"]["annotations"] = {MAX_DELAY: "6h"}
    assert kube.create(JOBS, job, namespace)["spec"]["suspend"] is True

    # What the controller does at release-at.
    kube.patch(JOBS, "j", {"spec": {"suspend": False}}, namespace)

    def pod_bound() -> bool:
        pods = kube.list(PODS, namespace)
        return len(pods) == 1 and bool(pods[0]["spec"].get("nodeName"))

    wait_for(pod_bound, LAB_TIMEOUT, "the released Job's pod to be scheduled")
    assert not kube.list(PODS, namespace)[0]["spec"].get("schedulingGates")


def test_namespace_opt_in_gates_an_unlabelled_pod(
    kube: KubeClient, flexible_namespace: str, webhook: str
) -> None:
    pod = make_pod("p").annotated(MAX_DELAY, "2h").build()
    created = kube.create(PODS, pod, flexible_namespace)
    assert {"name": SCHEDULING_GATE} in created["spec"]["schedulingGates"]


def test_spark_application_and_flink_deployment_are_created_suspended(
    kube: KubeClient, namespace: str, webhook: str
) -> None:
    metadata = {"labels": {FLEXIBLE_LABEL: "true"}, "annotations": {MAX_DELAY: "4h"}}
    spark = kube.create(
        SPARK,
        {
            "apiVersion": "sparkoperator.k8s.io/v1beta2",
            "kind": "SparkApplication",
            "metadata": {"name": "pi", **metadata},
            "spec": {"type": "Scala", "driver": {"cores": 1}, "executor": {"instances": 2}},
        },
        namespace,
    )
    flink = kube.create(
        FLINK,
        {
            "apiVersion": "flink.apache.org/v1beta1",
            "kind": "FlinkDeployment",
            "metadata": {"name": "wordcount", **metadata},
            "spec": {"job": {"jarURI": "local:///wc.jar", "upgradeMode": "savepoint"}},
        },
        namespace,
    )
    assert spark["spec"]["suspend"] is True
    assert flink["spec"]["job"]["state"] == "suspended"
    assert PLAN_ZONE in spark["metadata"]["annotations"]
    assert PLAN_ZONE in flink["metadata"]["annotations"]


def test_invalid_annotations_are_rejected_with_the_annotation_and_format(
    kube: KubeClient, namespace: str, webhook: str
) -> None:
    with pytest.raises(KubeApiError) as rejected:
        kube.create(PODS, flexible_pod("bad", **{DEADLINE: "next tuesday"}), namespace)

    assert 400 <= rejected.value.status < 500
    assert DEADLINE in rejected.value.body
    assert "RFC 3339" in rejected.value.body


def test_an_update_to_an_invalid_annotation_is_rejected_by_the_validating_path(
    kube: KubeClient, namespace: str, webhook: str
) -> None:
    kube.create(PODS, flexible_pod("p", **{MAX_DELAY: "6h"}), namespace)

    with pytest.raises(KubeApiError) as rejected:
        kube.patch(PODS, "p", {"metadata": {"annotations": {ALLOWED_ZONES: "eu west"}}}, namespace)

    assert ALLOWED_ZONES in rejected.value.body
    assert "validate" in rejected.value.body


def test_objects_that_do_not_opt_in_are_untouched(
    kube: KubeClient, namespace: str, webhook: str
) -> None:
    pod = make_pod("plain").annotated(MAX_DELAY, "6h").build()
    created = kube.create(PODS, pod, namespace)
    assert not created["spec"].get("schedulingGates")
    assert PLAN_ZONE not in created["metadata"]["annotations"]


def test_with_the_webhook_down_workloads_are_still_admitted_and_scheduled(
    kube: KubeClient, namespace: str, webhook: str
) -> None:
    pod = make_pod("orphan").build()
    pod["metadata"]["labels"][DEAD_WEBHOOK_LABEL] = "true"

    created = kube.create(PODS, pod, namespace)

    assert not created["spec"].get("schedulingGates")
    wait_for(
        lambda: bool(kube.get(PODS, "orphan", namespace)["spec"].get("nodeName")),
        LAB_TIMEOUT,
        "the pod admitted past a dead webhook to be scheduled",
    )


# -- extender ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def extender(kube: KubeClient, planner: PlanningService) -> Iterator[BackgroundServer]:
    context = ExtenderContext(
        nodes=NodeCache(load_region_zone_map()),
        intensities=ZoneIntensities(planner),
        home_zone=planner.settings.home,
    )
    assert NodeCacheRefresher(kube, context, timedelta(seconds=30)).refresh() >= 30
    server = BackgroundServer(make_extender_app(context)).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def carbon_scheduler(
    lab: LabState, extender: BackgroundServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A second kube-scheduler: one profile, ``carbon-kube-scheduler``, with our extender.

    Prioritize only, the default of docs/enforcement.md: allowed-zones is node affinity.
    """
    directory = tmp_path_factory.mktemp("carbon-scheduler")
    config = {
        "apiVersion": "kubescheduler.config.k8s.io/v1",
        "kind": "KubeSchedulerConfiguration",
        "clientConnection": {"kubeconfig": str(lab.kubeconfig)},
        "leaderElection": {"leaderElect": False},
        "profiles": [{"schedulerName": SCHEDULER_NAME}],
        "extenders": [
            {
                "urlPrefix": extender.url,
                "prioritizeVerb": "prioritize",
                "weight": EXTENDER_WEIGHT,
                "nodeCacheCapable": True,
                "ignorable": True,
                "httpTimeout": "5s",
            }
        ],
    }
    config_path = directory / "config.yaml"
    config_path.write_text(yaml.safe_dump(config))
    (port,) = free_loopback_ports(1)
    process = start_process(
        "carbon-kube-scheduler",
        default_bin_dir() / "kube-scheduler",
        [f"--config={config_path}", "--bind-address=127.0.0.1", f"--secure-port={port}"],
        directory,
    )
    yield SCHEDULER_NAME
    stop_process(process)


def _zone_power(kube: KubeClient) -> dict[str, tuple[Zone | None, str]]:
    regions = load_region_zone_map()
    result = {}
    for node in kube.list(NODES, label_selector="topology.kubernetes.io/region"):
        labels = node["metadata"]["labels"]
        result[node["metadata"]["name"]] = (
            regions.zone_for(labels["topology.kubernetes.io/region"]),
            labels[INSTANCE_TYPE_LABEL],
        )
    return result


def _wait_bound(kube: KubeClient, namespace: str, names: list[str]) -> dict[str, str]:
    def all_bound() -> bool:
        return all(kube.get(PODS, n, namespace)["spec"].get("nodeName") for n in names)

    wait_for(all_bound, LAB_TIMEOUT, f"{len(names)} pods to be bound by {SCHEDULER_NAME}")
    return {n: kube.get(PODS, n, namespace)["spec"]["nodeName"] for n in names}


def test_pods_of_the_carbon_scheduler_land_on_the_lowest_emission_nodes(
    kube: KubeClient, namespace: str, planner: PlanningService, carbon_scheduler: str
) -> None:
    nodes = _zone_power(kube)
    intensities = planner.intensities_now({zone for zone, _ in nodes.values() if zone})
    # Want: the (grid zone, instance type) with the least intensity x power for this pod.
    emission = {
        node: intensities[zone] * default_power_model(instance_type=itype).power_w(1.0, 1.0)
        for node, (zone, itype) in nodes.items()
        if zone in intensities
    }
    want_min = min(emission.values())
    names = [f"p{i}" for i in range(5)]
    for name in names:
        pod = make_pod(name).build()
        pod["spec"]["schedulerName"] = carbon_scheduler
        pod["spec"]["containers"][0]["resources"]["requests"] = {"cpu": "1", "memory": "1Gi"}
        kube.create(PODS, pod, namespace)

    placed = _wait_bound(kube, namespace, names)

    for name, node in placed.items():
        assert emission[node] == pytest.approx(want_min), (
            f"{name} on {node} {nodes[node]}: {emission[node]:.1f}, best {want_min:.1f}"
        )


def _release(kube: KubeClient, namespace: str, name: str, planner: PlanningService) -> None:
    """What the controller does at release-at; no node carries a grid-zone label to tighten to."""
    pod = kube.get(PODS, name, namespace)
    patch = release_patch(WorkloadKind.POD, pod, released_at=planner.clock.now(), reason="test")
    assert patch.zone is None
    kube.patch(PODS, name, patch.body, namespace, patch_type=patch.patch_type)


def _affinity_pod(
    name: str, scheduler: str, user_terms: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    pod = flexible_pod(name, **{MAX_DELAY: "6h", ALLOWED_ZONES: "IE"})  # home IE: IE only
    pod["spec"]["schedulerName"] = scheduler
    if user_terms is not None:
        pod["spec"]["affinity"] = {
            "nodeAffinity": {
                "requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": user_terms}
            }
        }
    return pod


def test_allowed_zones_keep_a_pod_there_with_a_prioritize_only_extender(
    kube: KubeClient,
    namespace: str,
    webhook: str,
    planner: PlanningService,
    carbon_scheduler: str,
) -> None:
    nodes = _zone_power(kube)
    created = kube.create(PODS, _affinity_pod("pinned", carbon_scheduler), namespace)
    (term,) = created["spec"]["affinity"]["nodeAffinity"][
        "requiredDuringSchedulingIgnoredDuringExecution"
    ]["nodeSelectorTerms"]
    assert term["matchExpressions"][0]["key"] == "topology.kubernetes.io/region"
    assert "eu-central-1" in term["matchExpressions"][0]["values"]

    _release(kube, namespace, "pinned", planner)
    placed = _wait_bound(kube, namespace, ["pinned"])

    assert nodes[placed["pinned"]][0] == "IE"


def test_the_zone_affinity_is_anded_into_each_of_the_users_terms(
    kube: KubeClient,
    namespace: str,
    webhook: str,
    planner: PlanningService,
    carbon_scheduler: str,
) -> None:
    """The user allows DE (any type) or m6g (IE only here): only IE m6g nodes may take it.

    Without the webhook's expression the DE nodes would fit, and the extender (weight 100)
    may well prefer them; with the filter verb gone only node affinity can keep it out.
    """
    nodes = _zone_power(kube)
    in_de = {"key": "topology.kubernetes.io/region", "operator": "In", "values": ["eu-central-1"]}
    graviton = {"key": INSTANCE_TYPE_LABEL, "operator": "In", "values": ["m6g.2xlarge"]}
    either = [{"matchExpressions": [in_de]}, {"matchExpressions": [graviton]}]
    kube.create(PODS, _affinity_pod("either", carbon_scheduler, either), namespace)
    kube.create(PODS, _affinity_pod("de-only", carbon_scheduler, either[:1]), namespace)

    _release(kube, namespace, "either", planner)
    _release(kube, namespace, "de-only", planner)
    placed = _wait_bound(kube, namespace, ["either"])

    assert nodes[placed["either"]] == ("IE", "m6g.2xlarge")

    def unschedulable() -> bool:
        scheduled = condition(kube.get(PODS, "de-only", namespace), "PodScheduled")
        return scheduled is not None and scheduled.get("reason") == "Unschedulable"

    wait_for(unschedulable, SHORT, "the DE-only pod allowed only IE to be Unschedulable")
    message = condition(kube.get(PODS, "de-only", namespace), "PodScheduled") or {}
    assert "affinity" in str(message.get("message")), message
    assert not kube.get(PODS, "de-only", namespace)["spec"].get("nodeName")


def test_with_the_extender_down_pods_are_still_scheduled(
    kube: KubeClient, namespace: str, extender: BackgroundServer, carbon_scheduler: str
) -> None:
    extender.stop()  # last test of the module: the extender stays down
    pod = make_pod("after").build()
    pod["spec"]["schedulerName"] = carbon_scheduler
    kube.create(PODS, pod, namespace)

    assert _wait_bound(kube, namespace, ["after"])["after"]
