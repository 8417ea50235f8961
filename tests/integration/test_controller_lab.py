"""The controller against the lab's real control plane: release, pin, restart, leader election.

Every test runs real ``carbon-kube controller run`` processes with their own virtual clock
(speed-up 60: one virtual minute per real second) and their own Lease. Timing assertions allow
a few virtual minutes of lag: the release travels through the apiserver, kopf's watch and the
scheduler in real seconds.
"""

from __future__ import annotations

import re
import subprocess
import time
import urllib.request
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from carbon_kube.domain.annotations import (
    CHECKPOINT_INTERVAL,
    DEADLINE,
    DECIDED_AT,
    EXPECTED_DURATION,
    FLEXIBLE_LABEL,
    GRID_ZONE_LABEL,
    INTERRUPTIBLE,
    LATEST_START,
    PAUSED_AT,
    PAUSES,
    PAUSING_ABANDONED,
    PLAN_ZONE,
    REASON,
    RELEASE_AT,
    RELEASED_AT,
    RELEASED_REASON,
    RESUMED_AT,
    SCHEDULING_GATE,
    SEGMENTS,
    format_rfc3339,
    format_segments,
    parse_rfc3339,
)
from carbon_kube.domain.clock import FixedClock
from carbon_kube.domain.plans import RunSegment
from carbon_kube.kube.client import (
    JOBS,
    NAMESPACES,
    NODES,
    PODS,
    KubeApiError,
    KubeClient,
    ResourcePath,
)
from carbon_kube.kube.resources import (
    FLINK_DEPLOYMENTS,
    LEASES,
    NODEPOOLS,
    SPARK_APPLICATIONS,
)
from carbon_kube.lab.clock import VirtualClock
from carbon_kube.lab.control_plane import wait_for
from carbon_kube.lab.processes import free_loopback_ports
from carbon_kube.lab.state import LabState
from carbon_kube.operator.replanning import PlanningReplanner
from carbon_kube.planning import PlanningService, PlanningSettings
from carbon_kube.planning.sources import SourceSettings, build_intensity_source
from carbon_kube.providers.electricitymaps import TOKEN_ENV_VAR as ELECTRICITYMAPS_TOKEN_ENV
from tests.http_fixtures import FAKE_SECRET
from tests.install_steps import missing_install_step
from tests.integration.controller_process import ControllerProcess
from tests.integration.crd_install import install, install_crds, remove_crds
from tests.integration.flink_operator_standin import FlinkOperatorStandIn
from tests.integration.kube_objects import job_is_complete, make_job, make_pod

pytestmark = pytest.mark.lab

MINUTE = timedelta(minutes=1)
SPEEDUP = 60.0
LEASE_NAMESPACE = "carbon-kube"
SETTLE = timedelta(seconds=90)

LAB_BUILD = Path(__file__).resolve().parents[2] / "hack" / "lab" / "build.sh"


@pytest.fixture(scope="module")
def lease_namespace(kube: KubeClient) -> str:
    try:
        kube.create(
            NAMESPACES,
            {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": LEASE_NAMESPACE}},
        )
    except KubeApiError as error:
        if not error.is_conflict:
            raise
    return LEASE_NAMESPACE


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock.starting_now(SPEEDUP, virtual_epoch=datetime(2020, 3, 2, 6, tzinfo=UTC))


@pytest.fixture
def replicas(
    lab: LabState, clock: VirtualClock, lease_namespace: str, tmp_path: Path
) -> Iterator[list[ControllerProcess]]:
    """A factory list: append ``make(...)`` results; all are stopped at the end."""
    started: list[ControllerProcess] = []
    yield started
    for replica in started:
        replica.stop()


def _replica(
    lab: LabState,
    clock: VirtualClock,
    tmp_path: Path,
    lease: str,
    identity: str,
    *extra: str,
) -> ControllerProcess:
    return ControllerProcess(
        lab.state_dir,
        clock,
        lease,
        tmp_path / f"{identity}.log",
        extra_args=extra,
        identity=identity,
    )


def _leading(
    replicas: list[ControllerProcess],
    lab: LabState,
    clock: VirtualClock,
    tmp_path: Path,
    identity: str,
    *extra: str,
    lease: str | None = None,
) -> ControllerProcess:
    """A replica started (stopped by the ``replicas`` fixture) and leading ``lease`` (new)."""
    replica = _replica(
        lab, clock, tmp_path, lease or f"lease-{uuid.uuid4().hex[:8]}", identity, *extra
    )
    replicas.append(replica.start())
    replica.wait_leading()
    return replica


@pytest.fixture(scope="module")
def workload_crds(kube: KubeClient) -> Iterator[None]:
    """The lab's stand-in Spark and Flink CRDs (structural, with a status subresource)."""
    names = install_crds(kube, timedelta(seconds=60))
    yield
    remove_crds(kube, names)


def _annotations(obj: dict[str, Any]) -> dict[str, str]:
    return dict(obj["metadata"].get("annotations") or {})


def _released_at(obj: dict[str, Any]) -> datetime:
    return parse_rfc3339(_annotations(obj)[RELEASED_AT], RELEASED_AT)


def _gated_pod(name: str, **annotations: str) -> dict[str, Any]:
    builder = make_pod(name).gated(SCHEDULING_GATE)
    for key, value in annotations.items():
        builder.annotated(key, value)
    return builder.build()


def _is_released_pod(kube: KubeClient, namespace: str, name: str) -> bool:
    pod = kube.get(PODS, name, namespace)
    return not any(g["name"] == SCHEDULING_GATE for g in pod["spec"].get("schedulingGates") or [])


def test_controller_releases_every_kind_at_its_plan_and_pins_pods_to_the_plan_zone(
    lab: LabState,
    kube: KubeClient,
    namespace: str,
    clock: VirtualClock,
    replicas: list[ControllerProcess],
    tmp_path: Path,
    workload_crds: None,
) -> None:
    (metrics_port,) = free_loopback_ports(1)
    _leading(replicas, lab, clock, tmp_path, "solo", "--metrics-port", str(metrics_port))
    t = clock.now().replace(microsecond=0)
    plan = {
        RELEASE_AT: format_rfc3339(t + 3 * MINUTE),
        LATEST_START: format_rfc3339(t + 60 * MINUTE),
        PLAN_ZONE: "DE",
    }
    kube.create(PODS, _gated_pod("planned", **plan), namespace)
    guard = {**plan, RELEASE_AT: format_rfc3339(t + 90 * MINUTE)}
    guard[LATEST_START] = format_rfc3339(t + 5 * MINUTE)
    kube.create(PODS, _gated_pod("guarded", **guard), namespace)
    kube.create(
        PODS,
        make_pod("foreign")
        .gated("example.com/other")
        .annotated(RELEASE_AT, plan[RELEASE_AT])
        .build(),
        namespace,
    )
    job = make_job("job").suspended().running_for(2 * MINUTE, clock).build()
    job["metadata"].update(labels={FLEXIBLE_LABEL: "true"}, annotations=dict(plan))
    kube.create(JOBS, job, namespace)
    meta = {"labels": {FLEXIBLE_LABEL: "true"}, "annotations": dict(plan)}
    kube.create(
        SPARK_APPLICATIONS,
        {
            "apiVersion": "sparkoperator.k8s.io/v1beta2",
            "kind": "SparkApplication",
            "metadata": {"name": "spark", **meta},
            "spec": {"suspend": True, "type": "Scala"},
        },
        namespace,
    )
    kube.create(
        FLINK_DEPLOYMENTS,
        {
            "apiVersion": "flink.apache.org/v1beta1",
            "kind": "FlinkDeployment",
            "metadata": {"name": "flink", **meta},
            "spec": {"job": {"state": "suspended", "upgradeMode": "savepoint"}},
        },
        namespace,
    )

    wait_for(
        lambda: (
            _is_released_pod(kube, namespace, "planned")
            and _is_released_pod(kube, namespace, "guarded")
            and not kube.get(JOBS, "job", namespace)["spec"]["suspend"]
            and not kube.get(SPARK_APPLICATIONS, "spark", namespace)["spec"]["suspend"]
            and kube.get(FLINK_DEPLOYMENTS, "flink", namespace)["spec"]["job"]["state"] == "running"
        ),
        SETTLE,
        "every held workload to be released",
        poll=timedelta(seconds=0.5),
    )

    planned = kube.get(PODS, "planned", namespace)
    assert _annotations(planned)[RELEASED_REASON] == "planned"
    assert t + 3 * MINUTE <= _released_at(planned) <= t + 8 * MINUTE
    assert planned["spec"]["nodeSelector"] == {GRID_ZONE_LABEL: "DE"}
    guarded = kube.get(PODS, "guarded", namespace)
    assert _annotations(guarded)[RELEASED_REASON] == "latest-safe-start"
    assert t + 5 * MINUTE <= _released_at(guarded) <= t + 10 * MINUTE
    # The foreign gate is not ours: it stays, whatever its annotations say.
    assert kube.get(PODS, "foreign", namespace)["spec"]["schedulingGates"] == [
        {"name": "example.com/other"}
    ]

    def bound_in_de() -> bool:
        node = kube.get(PODS, "planned", namespace)["spec"].get("nodeName")
        return bool(node) and kube.get(NODES, node)["metadata"]["labels"][GRID_ZONE_LABEL] == "DE"

    wait_for(bound_in_de, SETTLE, "the released pod to be bound to a DE node")
    job_now = kube.get(JOBS, "job", namespace)
    assert job_now["spec"]["template"]["spec"]["nodeSelector"] == {GRID_ZONE_LABEL: "DE"}
    wait_for(lambda: job_is_complete(kube.get(JOBS, "job", namespace)), SETTLE, "the Job to run")
    url = f"http://127.0.0.1:{metrics_port}/metrics"
    with urllib.request.urlopen(url, timeout=10) as response:
        exposed = response.read().decode()
    assert 'carbon_kube_releases_total{kind="pod",trigger="planned"} 1.0' in exposed
    assert 'carbon_kube_releases_total{kind="pod",trigger="latest-safe-start"} 1.0' in exposed
    assert 'carbon_kube_held_workloads{kind="pod"}' in exposed


def test_nodes_are_labelled_with_grid_zone_and_current_intensity(
    lab: LabState,
    kube: KubeClient,
    clock: VirtualClock,
    replicas: list[ControllerProcess],
    tmp_path: Path,
) -> None:
    _leading(replicas, lab, clock, tmp_path, "labeller")

    def de_nodes_labelled() -> bool:
        nodes = kube.list(NODES, label_selector="topology.kubernetes.io/region=eu-central-1")
        return bool(nodes) and all(
            n["metadata"]["labels"].get(GRID_ZONE_LABEL) == "DE"
            and n["metadata"]["labels"].get("carbon-kube.io/intensity-g-per-kwh", "").isdigit()
            for n in nodes
        )

    wait_for(de_nodes_labelled, SETTLE, "DE nodes labelled with zone and intensity")
    ie = kube.list(NODES, label_selector="topology.kubernetes.io/region=eu-west-1")
    # Ireland is not in the embedded data: zone known, intensity unknown, so no intensity label.
    assert all(n["metadata"]["labels"][GRID_ZONE_LABEL] == "IE" for n in ie)
    assert all("carbon-kube.io/intensity-g-per-kwh" not in n["metadata"]["labels"] for n in ie)


def test_without_any_carbon_signal_everything_is_released_by_its_latest_safe_start(
    lab: LabState,
    kube: KubeClient,
    namespace: str,
    clock: VirtualClock,
    replicas: list[ControllerProcess],
    tmp_path: Path,
) -> None:
    lead = 5 * MINUTE
    replica = _replica(
        lab,
        clock,
        tmp_path,
        f"lease-{uuid.uuid4().hex[:8]}",
        "no-signal",
        "--source",
        "electricitymaps",
        "--electricitymaps-url",
        "http://127.0.0.1:9/v3",  # discard port: connection refused for the whole run
        "--cache",
        str(tmp_path / "intensity.sqlite"),
        "--release-lead",
        "5m",
    )
    replica.env[ELECTRICITYMAPS_TOKEN_ENV] = FAKE_SECRET
    replicas.append(replica.start())
    replica.wait_leading()
    t = clock.now().replace(microsecond=0)
    deadlines = {}
    for index in range(6):
        name = f"job-{index}"
        deadline = t + (12 + 3 * index) * MINUTE
        deadlines[name] = deadline
        job = make_job(name).suspended().running_for(4 * MINUTE, clock).build()
        job["metadata"]["labels"] = {FLEXIBLE_LABEL: "true"}
        job["metadata"]["annotations"] = {
            DEADLINE: format_rfc3339(deadline),
            EXPECTED_DURATION: "4m",
        }
        kube.create(JOBS, job, namespace)

    wait_for(
        lambda: (
            all(job_is_complete(j) for j in kube.list(JOBS, namespace))
            and len(kube.list(JOBS, namespace)) == 6
        ),
        SETTLE,
        "every job to complete",
        poll=timedelta(seconds=1),
    )
    for job in kube.list(JOBS, namespace):
        name = job["metadata"]["name"]
        latest_start = deadlines[name] - 4 * MINUTE
        released = _released_at(job)
        assert latest_start - lead - 2 * MINUTE <= released <= latest_start, name
        assert _annotations(job)[RELEASED_REASON] == "latest-safe-start"
        completed = clock.to_virtual(
            datetime.fromisoformat(job["status"]["completionTime"].replace("Z", "+00:00"))
        )
        assert completed <= deadlines[name], f"{name} finished {completed - deadlines[name]} late"
    assert "no intensity for" in replica.output()


def test_killing_the_controller_repeatedly_misses_no_deadline_and_leaves_nothing_held(
    lab: LabState,
    kube: KubeClient,
    namespace: str,
    clock: VirtualClock,
    replicas: list[ControllerProcess],
    tmp_path: Path,
) -> None:
    lease = f"lease-{uuid.uuid4().hex[:8]}"
    # Ten virtual minutes of lead cover one restart (4 s Lease expiry + kopf start-up, real).
    extra = ("--release-lead", "10m")
    t = clock.now().replace(microsecond=0)
    deadlines = {}
    for index in range(24):
        name = f"job-{index:02d}"
        deadline = t + (14 + 2 * index) * MINUTE
        deadlines[name] = deadline
        job = make_job(name).suspended().running_for(3 * MINUTE, clock).build()
        job["metadata"]["labels"] = {FLEXIBLE_LABEL: "true"}
        job["metadata"]["annotations"] = {
            DEADLINE: format_rfc3339(deadline),
            EXPECTED_DURATION: "3m",
            # A plan half-way to the latest safe start, as the webhook would write.
            RELEASE_AT: format_rfc3339(t + (5 + index) * MINUTE),
        }
        kube.create(JOBS, job, namespace)
    kills = 0
    for round_ in range(5):
        replica = _replica(lab, clock, tmp_path, lease, f"round-{round_}", *extra)
        replicas.append(replica.start())
        replica.wait_leading()
        time.sleep(6)
        replica.kill()
        kills += 1
    final = _replica(lab, clock, tmp_path, lease, "final", *extra)
    replicas.append(final.start())

    wait_for(
        lambda: all(job_is_complete(j) for j in kube.list(JOBS, namespace)),
        SETTLE,
        "every job to complete",
        poll=timedelta(seconds=1),
    )
    jobs = kube.list(JOBS, namespace)
    assert len(jobs) == 24
    assert kills == 5
    for job in jobs:
        name = job["metadata"]["name"]
        assert job["spec"]["suspend"] is False
        completed = clock.to_virtual(
            datetime.fromisoformat(job["status"]["completionTime"].replace("Z", "+00:00"))
        )
        assert completed <= deadlines[name], f"{name} finished {completed - deadlines[name]} late"
    # Several replicas did releases: work resumed after each kill from the objects alone.
    releasing = [r for r in replicas if "released Job/" in r.output()]
    assert len(releasing) >= 2


def test_two_replicas_only_the_lease_holder_acts_and_the_standby_takes_over(
    lab: LabState,
    kube: KubeClient,
    namespace: str,
    clock: VirtualClock,
    replicas: list[ControllerProcess],
    tmp_path: Path,
) -> None:
    lease = f"lease-{uuid.uuid4().hex[:8]}"
    first = _replica(lab, clock, tmp_path, lease, "replica-a")
    second = _replica(lab, clock, tmp_path, lease, "replica-b")
    replicas.extend([first.start(), second.start()])
    wait_for(
        lambda: "leading" in first.output() + second.output(),
        SETTLE,
        "one replica to lead",
    )
    time.sleep(5)
    leader, standby = (first, second) if ": leading" in first.output() else (second, first)
    assert ": leading" not in standby.output()
    holder = kube.get(LEASES, lease, LEASE_NAMESPACE)["spec"]["holderIdentity"]
    assert holder == leader.identity
    t = clock.now().replace(microsecond=0)
    for index in range(3):
        kube.create(
            PODS,
            _gated_pod(f"before-{index}", **{RELEASE_AT: format_rfc3339(t + MINUTE)}),
            namespace,
        )
    wait_for(
        lambda: all(_is_released_pod(kube, namespace, f"before-{i}") for i in range(3)),
        SETTLE,
        "the leader to release",
    )
    assert "released Pod/" in leader.output()
    assert "released Pod/" not in standby.output()

    leader.kill()
    t = clock.now().replace(microsecond=0)
    for index in range(3):
        kube.create(
            PODS,
            _gated_pod(f"after-{index}", **{RELEASE_AT: format_rfc3339(t + MINUTE)}),
            namespace,
        )
    wait_for(
        lambda: all(_is_released_pod(kube, namespace, f"after-{i}") for i in range(3)),
        SETTLE,
        "the standby to take over and release",
    )
    assert f"{standby.identity}: leading" in standby.output()
    assert kube.get(LEASES, lease, LEASE_NAMESPACE)["spec"]["holderIdentity"] == standby.identity


def _karpenter_nodepool_crd() -> dict[str, Any] | None:
    """The NodePool CRD of the Karpenter version hack/lab/build.sh downloads (karpenter-crd)."""
    pinned = re.search(r"^KARPENTER_VERSION=(\S+)$", LAB_BUILD.read_text(), re.MULTILINE)
    assert pinned is not None, f"no KARPENTER_VERSION= line in {LAB_BUILD}"
    try:
        modcache = subprocess.run(
            ["go", "env", "GOMODCACHE"],  # noqa: S607 - go from PATH, as hack/lab/build.sh uses it
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None
    path = Path(modcache) / f"sigs.k8s.io/karpenter@{pinned[1]}/pkg/apis/crds"
    path /= "karpenter.sh_nodepools.yaml"
    if not path.is_file():
        return None
    loaded = yaml.safe_load(path.read_text())
    return loaded if isinstance(loaded, dict) else None


def _nodepool(name: str, region: str, instance_type: str) -> dict[str, Any]:
    return {
        "apiVersion": "karpenter.sh/v1",
        "kind": "NodePool",
        "metadata": {"name": name, "annotations": {"carbon-kube.io/manage-weight": "true"}},
        "spec": {
            "weight": 50,
            "template": {
                "spec": {
                    "nodeClassRef": {
                        "group": "karpenter.k8s.aws",
                        "kind": "EC2NodeClass",
                        "name": "default",
                    },
                    "requirements": [
                        {
                            "key": "topology.kubernetes.io/region",
                            "operator": "In",
                            "values": [region],
                        },
                        {
                            "key": "node.kubernetes.io/instance-type",
                            "operator": "In",
                            "values": [instance_type],
                        },
                    ],
                }
            },
        },
    }


def test_karpenter_nodepool_weights_follow_zone_intensity_and_instance_efficiency(
    lab: LabState,
    kube: KubeClient,
    clock: VirtualClock,
    replicas: list[ControllerProcess],
    tmp_path: Path,
) -> None:
    crd = _karpenter_nodepool_crd()
    if crd is None:
        missing_install_step(
            "Karpenter's CRDs not in the Go module cache: hack/lab/build.sh karpenter-crd"
        )
    install(kube, [crd], timedelta(seconds=60))
    suffix = uuid.uuid4().hex[:6]
    names = {
        "de-intel": (f"de-intel-{suffix}", "eu-central-1", "m5.xlarge"),
        "de-graviton": (f"de-graviton-{suffix}", "eu-central-1", "m6g.xlarge"),
        "fr-intel": (f"fr-intel-{suffix}", "eu-west-3", "m5.xlarge"),
    }
    for name, region, instance_type in names.values():
        kube.create(NODEPOOLS, _nodepool(name, region, instance_type))
    try:
        replica = _replica(
            lab,
            clock,
            tmp_path,
            f"lease-{uuid.uuid4().hex[:8]}",
            "weigher",
            "--nodepool-weights",
            "--node-label-interval",
            "1m",
        )
        replicas.append(replica.start())

        def weight(key: str) -> int:
            return int(kube.get(NODEPOOLS, names[key][0])["spec"]["weight"])

        wait_for(
            lambda: weight("fr-intel") == 100 and weight("de-intel") == 1,
            SETTLE,
            "NodePool weights to be adjusted",
        )
        # Same grid as de-intel, Graviton uses fewer watts per vCPU: ranked in between.
        assert 1 < weight("de-graviton") < 100
    finally:
        for name, _, _ in names.values():
            kube.delete(NODEPOOLS, name, missing_ok=True)


def _oracle_plan(obj: dict[str, Any], at: datetime, submit_at: datetime) -> dict[str, str]:
    """The plan the controller's re-planner (DE, oracle, embedded data) makes at ``at``."""
    fixed = FixedClock(at)
    service = PlanningService(
        build_intensity_source(SourceSettings(), fixed),
        fixed,
        PlanningSettings(home_zone="DE", forecast="oracle"),
    )
    plan = PlanningReplanner(service).replan(obj, at, submit_at)
    assert plan is not None, "the embedded data gives the re-planner a signal"
    return dict(plan)


def test_a_held_pod_is_replanned_when_the_forecast_moves_and_released_at_its_new_plan(
    lab: LabState, kube: KubeClient, namespace: str, lease_namespace: str, tmp_path: Path
) -> None:
    # Fast clock: one virtual hour is 12 real seconds, a re-planning round (30 virtual
    # minutes) 6 real seconds. The pod is created once the controller leads, so its first
    # re-planning rounds find it.
    fast = VirtualClock.starting_now(300.0, virtual_epoch=datetime(2020, 3, 2, 6, tzinfo=UTC))
    replica = ControllerProcess(
        lab.state_dir,
        fast,
        f"lease-{uuid.uuid4().hex[:8]}",
        tmp_path / "replan.log",
        extra_args=("--replan-home-zone", "DE", "--replan-forecast", "oracle"),
        identity="replanner",
    ).start()
    try:
        replica.wait_leading()
        t = fast.now().replace(microsecond=0)
        deadline, duration = t + timedelta(hours=8), timedelta(hours=1)
        latest_start = deadline - duration
        flexibility = {DEADLINE: format_rfc3339(deadline), EXPECTED_DURATION: "1h"}
        probe = _gated_pod("stale", **flexibility)
        want_now = parse_rfc3339(_oracle_plan(probe, t, t)[RELEASE_AT], RELEASE_AT)
        # A plan made on an older forecast: whichever of two instants is farther from what
        # the forecast says now; both lie a few re-planning rounds ahead, before the guard.
        stale_release = max(
            (t + timedelta(hours=2), latest_start - timedelta(minutes=30)),
            key=lambda instant: abs(instant - want_now),
        )
        stale = {
            **flexibility,
            RELEASE_AT: format_rfc3339(stale_release),
            LATEST_START: format_rfc3339(latest_start),
            PLAN_ZONE: "DE",
            DECIDED_AT: format_rfc3339(t - timedelta(hours=1)),
            REASON: "forecast",
        }
        kube.create(PODS, _gated_pod("stale", **stale), namespace)
        wait_for(
            lambda: (
                _annotations(kube.get(PODS, "stale", namespace))[DECIDED_AT] != stale[DECIDED_AT]
            ),
            timedelta(seconds=60),
            "the controller to re-plan the held pod",
            poll=timedelta(seconds=0.2),
        )
        replanned = kube.get(PODS, "stale", namespace)
        wait_for(
            lambda: _is_released_pod(kube, namespace, "stale"),
            timedelta(seconds=120),
            "the re-planned pod to be released",
            poll=timedelta(seconds=0.2),
        )
        released = kube.get(PODS, "stale", namespace)
    finally:
        replica.stop()

    written = _annotations(replanned)
    decided_at = parse_rfc3339(written[DECIDED_AT], DECIDED_AT)
    submit_at = fast.to_virtual(
        parse_rfc3339(replanned["metadata"]["creationTimestamp"], "creationTimestamp")
    )
    want = _oracle_plan(replanned, decided_at, submit_at)
    new_release = parse_rfc3339(written[RELEASE_AT], RELEASE_AT)
    assert written[RELEASE_AT] == want[RELEASE_AT]
    assert written[PLAN_ZONE] == want[PLAN_ZONE]
    assert abs(new_release - stale_release) >= timedelta(minutes=15)  # a material move
    assert written[LATEST_START] == stale[LATEST_START]  # the deadline guard never moves
    assert decided_at <= new_release <= latest_start
    assert "re-planned" in replica.output()
    # Released by the new plan, not the stale one (lag: a few real seconds, 5 virtual min each).
    after = _annotations(released)
    assert after[RELEASED_REASON] == "planned"
    released_at = _released_at(released)
    assert new_release <= released_at <= new_release + 15 * MINUTE
    assert released_at <= latest_start


_SHORT_RUNS = ("--min-run-between-pauses", "5m")


def _interruptible_job(name: str, t: datetime, clock: VirtualClock) -> dict[str, Any]:
    """A released-to-be Job with a two-segment plan: 10 min, a dirty gap of 18, 10 more."""
    job = make_job(name).suspended().running_for(60 * MINUTE, clock).build()
    job["metadata"]["labels"] = {FLEXIBLE_LABEL: "true"}
    segments = (
        RunSegment(t + 2 * MINUTE, t + 12 * MINUTE),
        RunSegment(t + 30 * MINUTE, t + 40 * MINUTE),
    )
    job["metadata"]["annotations"] = {
        DEADLINE: format_rfc3339(t + 120 * MINUTE),
        EXPECTED_DURATION: "20m",
        INTERRUPTIBLE: "true",
        CHECKPOINT_INTERVAL: "1m",
        RELEASE_AT: format_rfc3339(segments[0].start_at),
        LATEST_START: format_rfc3339(t + 100 * MINUTE),
        SEGMENTS: format_segments(segments),
    }
    return job


def _annotated_at(
    kube: KubeClient, resource: ResourcePath, namespace: str, name: str, key: str
) -> datetime | None:
    """The instant an annotation records (``pausing-abandoned`` adds why after it)."""
    text = _annotations(kube.get(resource, name, namespace)).get(key)
    return parse_rfc3339(text.split()[0], key) if text else None


def test_an_interruptible_job_is_paused_at_its_dirty_hours_and_resumed_at_the_green_ones(
    lab: LabState,
    kube: KubeClient,
    namespace: str,
    clock: VirtualClock,
    replicas: list[ControllerProcess],
    tmp_path: Path,
) -> None:
    # The plan's first segment is 10 min: pause after runs that short.
    _leading(replicas, lab, clock, tmp_path, "pauser", *_SHORT_RUNS)
    t = clock.now().replace(microsecond=0)
    kube.create(JOBS, _interruptible_job("checkpointing", t, clock), namespace)

    wait_for(
        lambda: (
            kube.get(JOBS, "checkpointing", namespace)["spec"]["suspend"] is True
            and _annotated_at(kube, JOBS, namespace, "checkpointing", PAUSED_AT) is not None
        ),
        SETTLE,
        "the Job to be paused after its first segment",
        poll=timedelta(seconds=0.5),
    )
    paused_at = _annotated_at(kube, JOBS, namespace, "checkpointing", PAUSED_AT)
    assert paused_at is not None
    assert t + 12 * MINUTE <= paused_at <= t + 16 * MINUTE
    # The real Job controller takes the pods away (the work since the checkpoint is lost).
    wait_for(
        lambda: (
            not [
                p
                for p in kube.list(PODS, namespace)
                if p["metadata"].get("deletionTimestamp") is None
                and p["metadata"]["labels"].get("job-name") == "checkpointing"
            ]
        ),
        SETTLE,
        "the paused Job's pods to be deleted",
    )

    wait_for(
        lambda: _annotated_at(kube, JOBS, namespace, "checkpointing", RESUMED_AT) is not None,
        SETTLE,
        "the Job to resume at its second segment",
        poll=timedelta(seconds=0.5),
    )
    job = kube.get(JOBS, "checkpointing", namespace)
    resumed_at = _annotated_at(kube, JOBS, namespace, "checkpointing", RESUMED_AT)
    assert resumed_at is not None
    assert t + 30 * MINUTE <= resumed_at <= t + 34 * MINUTE
    assert job["spec"]["suspend"] is False
    assert _annotations(job)[PAUSES] == "1"
    assert PAUSED_AT not in _annotations(job)
    wait_for(
        lambda: any(
            p["metadata"]["labels"].get("job-name") == "checkpointing"
            for p in kube.list(PODS, namespace)
        ),
        SETTLE,
        "the resumed Job's new pod",
    )


def test_a_controller_killed_while_a_job_is_paused_is_replaced_and_resumes_it_on_time(
    lab: LabState,
    kube: KubeClient,
    namespace: str,
    clock: VirtualClock,
    replicas: list[ControllerProcess],
    tmp_path: Path,
) -> None:
    first = _leading(replicas, lab, clock, tmp_path, "first", *_SHORT_RUNS)
    t = clock.now().replace(microsecond=0)
    kube.create(JOBS, _interruptible_job("survivor", t, clock), namespace)
    wait_for(
        lambda: _annotated_at(kube, JOBS, namespace, "survivor", PAUSED_AT) is not None,
        SETTLE,
        "the Job to be paused",
        poll=timedelta(seconds=0.5),
    )
    first.kill()  # SIGKILL between the pause and the resume
    second = _replica(lab, clock, tmp_path, first.lease_name, "second", *_SHORT_RUNS)
    replicas.append(second.start())

    wait_for(
        lambda: _annotated_at(kube, JOBS, namespace, "survivor", RESUMED_AT) is not None,
        SETTLE,
        "the new controller to resume the Job",
        poll=timedelta(seconds=0.5),
    )
    resumed_at = _annotated_at(kube, JOBS, namespace, "survivor", RESUMED_AT)
    assert resumed_at is not None
    assert t + 30 * MINUTE <= resumed_at <= t + 34 * MINUTE
    job = kube.get(JOBS, "survivor", namespace)
    assert (job["spec"]["suspend"], _annotations(job)[PAUSES]) == (False, "1")
    assert "resumed Job/" in second.output()


def _three_segment_job(name: str, t: datetime, clock: VirtualClock) -> dict[str, Any]:
    """An interruptible Job planned in three 10 min segments with 8 min gaps."""
    job = _interruptible_job(name, t, clock)
    segments = (
        RunSegment(t + 2 * MINUTE, t + 12 * MINUTE),
        RunSegment(t + 20 * MINUTE, t + 30 * MINUTE),
        RunSegment(t + 38 * MINUTE, t + 48 * MINUTE),
    )
    job["metadata"]["annotations"].update(
        {EXPECTED_DURATION: "30m", SEGMENTS: format_segments(segments)}
    )
    return job


def test_a_job_is_never_paused_more_often_than_allowed(
    lab: LabState,
    kube: KubeClient,
    namespace: str,
    clock: VirtualClock,
    replicas: list[ControllerProcess],
    tmp_path: Path,
) -> None:
    _leading(replicas, lab, clock, tmp_path, "once", *_SHORT_RUNS, "--max-pauses", "1")
    t = clock.now().replace(microsecond=0)
    kube.create(JOBS, _three_segment_job("once", t, clock), namespace)

    wait_for(
        lambda: _annotated_at(kube, JOBS, namespace, "once", RESUMED_AT) is not None,
        SETTLE,
        "the Job's one pause and resume",
        poll=timedelta(seconds=0.5),
    )
    # Past the end of the second segment, where a second pause would be due, and beyond.
    wait_for(lambda: clock.now() >= t + 36 * MINUTE, SETTLE, "the second segment to end")
    job = kube.get(JOBS, "once", namespace)
    assert (job["spec"]["suspend"], _annotations(job)[PAUSES]) == (False, "1")
    assert PAUSED_AT not in _annotations(job)


def test_a_paused_job_whose_plan_resumes_too_late_is_resumed_by_the_deadline_guard(
    lab: LabState,
    kube: KubeClient,
    namespace: str,
    clock: VirtualClock,
    replicas: list[ControllerProcess],
    tmp_path: Path,
) -> None:
    # The plan (made on a forecast) resumes at t+60 for a t+70 deadline; with a latency risk
    # of 1.0 the controller must resume the 10 min left by t+70 - 2 x 10 min = t+50.
    replica = _leading(
        replicas, lab, clock, tmp_path, "guard", *_SHORT_RUNS, "--pause-latency-risk", "1.0"
    )
    t = clock.now().replace(microsecond=0)
    job = _interruptible_job("guarded", t, clock)
    late = (
        RunSegment(t + 2 * MINUTE, t + 12 * MINUTE),
        RunSegment(t + 60 * MINUTE, t + 70 * MINUTE),
    )
    job["metadata"]["annotations"].update(
        {DEADLINE: format_rfc3339(t + 70 * MINUTE), SEGMENTS: format_segments(late)}
    )
    kube.create(JOBS, job, namespace)

    wait_for(
        lambda: _annotated_at(kube, JOBS, namespace, "guarded", RESUMED_AT) is not None,
        SETTLE,
        "the deadline guard to resume the Job",
        poll=timedelta(seconds=0.5),
    )
    resumed_at = _annotated_at(kube, JOBS, namespace, "guarded", RESUMED_AT)
    assert resumed_at is not None
    assert t + 46 * MINUTE <= resumed_at <= t + 50 * MINUTE
    assert "latest safe resume (deadline guard)" in replica.output()


def _interruptible_flink(name: str, t: datetime, *, segments: int = 2) -> dict[str, Any]:
    """A held streaming FlinkDeployment planned like _interruptible_job or _three_segment_job."""
    planned = _interruptible_job if segments == 2 else _three_segment_job
    annotations = planned(name, t, VirtualClock.starting_now(1.0))["metadata"]["annotations"]
    annotations.pop(CHECKPOINT_INTERVAL)  # a savepoint loses no work
    return {
        "apiVersion": "flink.apache.org/v1beta1",
        "kind": "FlinkDeployment",
        "metadata": {"name": name, "labels": {FLEXIBLE_LABEL: "true"}, "annotations": annotations},
        "spec": {"job": {"state": "suspended", "upgradeMode": "savepoint"}},
    }


@pytest.fixture
def flink_operator(
    kube: KubeClient, namespace: str, workload_crds: None
) -> Iterator[FlinkOperatorStandIn]:
    standin = FlinkOperatorStandIn(kube, namespace)
    yield standin.start()
    standin.stop()


def test_a_flink_job_is_suspended_with_a_savepoint_and_restored_from_it_at_the_green_hour(
    lab: LabState,
    kube: KubeClient,
    namespace: str,
    clock: VirtualClock,
    replicas: list[ControllerProcess],
    tmp_path: Path,
    flink_operator: FlinkOperatorStandIn,
) -> None:
    _leading(replicas, lab, clock, tmp_path, "flink", *_SHORT_RUNS)
    t = clock.now().replace(microsecond=0)
    kube.create(FLINK_DEPLOYMENTS, _interruptible_flink("stream", t), namespace)

    wait_for(
        lambda: _annotated_at(kube, FLINK_DEPLOYMENTS, namespace, "stream", RESUMED_AT) is not None,
        SETTLE,
        "the FlinkDeployment to be paused and resumed",
        poll=timedelta(seconds=0.5),
    )
    deployment = kube.get(FLINK_DEPLOYMENTS, "stream", namespace)
    resumed_at = _annotated_at(kube, FLINK_DEPLOYMENTS, namespace, "stream", RESUMED_AT)
    assert resumed_at is not None
    assert t + 30 * MINUTE <= resumed_at <= t + 34 * MINUTE
    assert deployment["spec"]["job"] == {"state": "running", "upgradeMode": "savepoint"}
    assert _annotations(deployment)[PAUSES] == "1"
    assert PAUSING_ABANDONED not in _annotations(deployment)
    # Released, cancelled with a savepoint, suspended, restored from that savepoint.
    wait_for(
        lambda: len(flink_operator.restored_from.get("stream", [])) == 2,
        SETTLE,
        "the stand-in operator to restore the job",
    )
    savepoint = "file:///flink-data/savepoints/stream/savepoint-1"
    assert flink_operator.restored_from["stream"] == [None, savepoint]
    assert not flink_operator.errors
    status = kube.get(FLINK_DEPLOYMENTS, "stream", namespace)["status"]
    assert status["jobStatus"]["savepointInfo"]["lastSavepoint"]["location"] == savepoint


def test_a_flink_pause_its_operator_cannot_savepoint_is_undone_and_never_tried_again(
    lab: LabState,
    kube: KubeClient,
    namespace: str,
    clock: VirtualClock,
    replicas: list[ControllerProcess],
    tmp_path: Path,
    flink_operator: FlinkOperatorStandIn,
) -> None:
    flink_operator.savepoint_fails = True
    # Three segments (ending t+12, t+30, t+48); the pause at t+12 is undone 7 min later, by
    # the second segment's start. A controller started after that knows only the object:
    # without the abandon mark it would pause the job again at t+30.
    replica = _leading(
        replicas, lab, clock, tmp_path, "limbo", *_SHORT_RUNS, "--pause-confirm-timeout", "7m"
    )
    t = clock.now().replace(microsecond=0)
    kube.create(FLINK_DEPLOYMENTS, _interruptible_flink("stuck", t, segments=3), namespace)

    def annotated_at(key: str) -> datetime | None:
        return _annotated_at(kube, FLINK_DEPLOYMENTS, namespace, "stuck", key)

    wait_for(
        lambda: annotated_at(PAUSING_ABANDONED) is not None,
        SETTLE,
        "the unconfirmed pause to be undone",
        poll=timedelta(seconds=0.5),
    )
    abandoned_at = annotated_at(PAUSING_ABANDONED)
    assert abandoned_at is not None
    assert annotated_at(RESUMED_AT) == abandoned_at
    assert t + 19 * MINUTE <= abandoned_at <= t + 23 * MINUTE
    assert kube.get(FLINK_DEPLOYMENTS, "stuck", namespace)["spec"]["job"]["state"] == "running"
    assert "did not confirm the pause" in replica.output()
    replica.kill()
    _leading(replicas, lab, clock, tmp_path, "successor", *_SHORT_RUNS, lease=replica.lease_name)
    assert clock.now() < t + 30 * MINUTE  # leading before the pause the plan still holds
    # Past the second segment's end, where the next pause was planned: never paused again.
    wait_for(lambda: clock.now() >= t + 36 * MINUTE, SETTLE, "the second segment to end")
    again = kube.get(FLINK_DEPLOYMENTS, "stuck", namespace)
    assert (again["spec"]["job"]["state"], _annotations(again)[PAUSES]) == ("running", "1")
    assert PAUSED_AT not in _annotations(again)
    assert not flink_operator.errors
