"""Smoke tests: the lab is a real control plane that holds, releases and places work.

Everything here goes through the real kube-apiserver, kube-controller-manager (Job
controller), kube-scheduler (with the recording extender) and kwok; nothing is mocked.
Timeouts are generous (minutes) because the assertions are about behaviour, not speed.
"""

from __future__ import annotations

import random
import time
from collections import Counter
from datetime import timedelta
from typing import Any

import pytest

from carbon_kube.kube.client import JOBS, NODES, PODS, KubeClient
from carbon_kube.lab.control_plane import wait_for
from carbon_kube.lab.nodes import LAB_NODE_LABEL
from carbon_kube.lab.state import LabState
from tests.integration.conftest import LAB_TIMEOUT
from tests.integration.extender_stub import PREFER_NODE_ANNOTATION, RecordingExtender
from tests.integration.kube_objects import condition, job_is_complete, make_job, make_pod

pytestmark = pytest.mark.lab

# How long "nothing happens" must hold before we believe it: several scheduler and Job
# controller sync rounds, not a race against them.
QUIET_PERIOD = timedelta(seconds=8)


def _pods_of_job(kube: KubeClient, namespace: str, job: str) -> list[dict[str, Any]]:
    return kube.list(PODS, namespace, label_selector=f"batch.kubernetes.io/job-name={job}")


def test_lab_has_three_zones_of_ten_ready_nodes_with_topology_labels(
    lab: LabState, kube: KubeClient
) -> None:
    nodes = kube.list(NODES, label_selector=f"{LAB_NODE_LABEL[0]}={LAB_NODE_LABEL[1]}")

    zones = Counter(n["metadata"]["labels"]["topology.kubernetes.io/zone"] for n in nodes)
    assert sorted(zones.values()) == [10, 10, 10]
    for node in nodes:
        labels = node["metadata"]["labels"]
        assert labels["topology.kubernetes.io/region"]
        assert labels["node.kubernetes.io/instance-type"]
        assert labels["kubernetes.io/arch"] in {"amd64", "arm64"}
        assert (condition(node, "Ready") or {}).get("status") == "True"
    assert kube.server_version()["gitVersion"] == "v1.36.3"


def test_fifty_jobs_run_their_declared_duration_and_complete(
    lab: LabState, kube: KubeClient, namespace: str
) -> None:
    clock = lab.clock()  # speed-up 60: one virtual minute is one real second
    names = [f"job-{i:02d}" for i in range(50)]
    for name in names:
        kube.create(
            JOBS, make_job(name).running_for(timedelta(minutes=2), clock).build(), namespace
        )

    def all_complete() -> bool:
        jobs = kube.list(JOBS, namespace)
        return len(jobs) == 50 and all(job_is_complete(j) for j in jobs)

    wait_for(all_complete, LAB_TIMEOUT, "50 Jobs to complete", poll=timedelta(seconds=2))
    pods = kube.list(PODS, namespace)
    assert len(pods) == 50
    assert all(p["status"]["phase"] == "Succeeded" for p in pods)
    assert all(p["spec"].get("nodeName") for p in pods)


def test_gated_pod_stays_scheduling_gated_until_the_gate_is_removed(
    kube: KubeClient, namespace: str
) -> None:
    kube.create(
        PODS, make_pod("gated").gated("carbon-kube.dev/wait-for-clean-power").build(), namespace
    )

    time.sleep(QUIET_PERIOD.total_seconds())
    pod = kube.get(PODS, "gated", namespace)
    scheduled = condition(pod, "PodScheduled")
    assert scheduled is not None
    assert (scheduled["status"], scheduled["reason"]) == ("False", "SchedulingGated")
    assert not pod["spec"].get("nodeName")

    kube.patch(
        PODS,
        "gated",
        [{"op": "remove", "path": "/spec/schedulingGates"}],
        namespace,
        patch_type="json",
    )

    def is_running() -> bool:
        current = kube.get(PODS, "gated", namespace)
        return bool(current["spec"].get("nodeName")) and current["status"].get("phase") == "Running"

    wait_for(is_running, LAB_TIMEOUT, "the released pod to be bound and Running")


def test_suspended_job_creates_no_pods_until_resumed(
    lab: LabState, kube: KubeClient, namespace: str
) -> None:
    job = (
        make_job("held")
        .suspended()
        .with_parallelism(3)
        .running_for(timedelta(minutes=1), lab.clock())
    )
    kube.create(JOBS, job.build(), namespace)

    time.sleep(QUIET_PERIOD.total_seconds())
    assert _pods_of_job(kube, namespace, "held") == []
    assert (condition(kube.get(JOBS, "held", namespace), "Suspended") or {}).get("status") == "True"

    kube.patch(JOBS, "held", {"spec": {"suspend": False}}, namespace)

    wait_for(
        lambda: len(_pods_of_job(kube, namespace, "held")) == 3, LAB_TIMEOUT, "3 pods after resume"
    )
    wait_for(
        lambda: job_is_complete(kube.get(JOBS, "held", namespace)),
        LAB_TIMEOUT,
        "the resumed Job to complete",
    )


def test_real_scheduler_calls_the_extender_and_its_scores_decide_placement(
    kube: KubeClient, namespace: str, recording_extender: RecordingExtender
) -> None:
    nodes = sorted(
        n["metadata"]["name"] for n in kube.list(NODES, label_selector=f"{LAB_NODE_LABEL[0]}=true")
    )
    # Five different target nodes: by chance the default scorers would pick each with ~1/30.
    want_nodes = random.Random(20260527).sample(nodes, 5)
    for index, target in enumerate(want_nodes):
        kube.create(
            PODS,
            make_pod(f"placed-{index}").annotated(PREFER_NODE_ANNOTATION, target).build(),
            namespace,
        )

    def all_bound() -> bool:
        return all(
            kube.get(PODS, f"placed-{i}", namespace)["spec"].get("nodeName") for i in range(5)
        )

    wait_for(all_bound, LAB_TIMEOUT, "5 pods to be bound")

    for index, want_node in enumerate(want_nodes):
        pod_key = f"{namespace}/placed-{index}"
        assert recording_extender.calls_for(pod_key, "filter"), (
            f"extender filter not called for {pod_key}"
        )
        prioritize_calls = recording_extender.calls_for(pod_key, "prioritize")
        assert prioritize_calls, f"extender prioritize not called for {pod_key}"
        assert (
            max(prioritize_calls[-1].scores, key=prioritize_calls[-1].scores.__getitem__)
            == want_node
        )
        assert kube.get(PODS, f"placed-{index}", namespace)["spec"]["nodeName"] == want_node
