"""Bring a lab control plane up and down, and report its health.

The components are etcd, kube-apiserver, kube-controller-manager, kube-scheduler and kwok,
run as local processes on loopback, plus fake nodes.

Flow that makes Jobs run without a kubelet: Job -> job-controller creates pods ->
kube-scheduler (with any configured extenders) binds them -> kwok plays the pod stages
(Running, then Succeeded for Job pods after the delay annotation) -> Job Complete.

``run_up`` records every PID in ``<state_dir>/state.json`` the moment it starts it, so
``run_down`` (even after a half-failed ``up``) stops exactly those processes and removes the
state directory. On a start-up failure the started processes are stopped, the logs are kept,
and the error carries the tail of the failing component's log.

This module talks to the apiserver only through :class:`carbon_kube.kube.client.KubeClient`.
"""

from __future__ import annotations

import json
import logging
import shutil
import ssl
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from carbon_kube.domain.errors import CarbonKubeError
from carbon_kube.kube.client import NODES, SERVICE_ACCOUNTS, KubeApiError, KubeClient
from carbon_kube.lab.clock import VirtualClock, real_utc_now
from carbon_kube.lab.nodes import KWOK_NODE_SELECTOR, make_fake_nodes
from carbon_kube.lab.pki import LabPki, write_kubeconfig, write_pki
from carbon_kube.lab.processes import (
    ComponentFailedError,
    RunningProcess,
    free_loopback_ports,
    is_our_process,
    start_process,
    stop_process,
    wait_until_ready,
)
from carbon_kube.lab.settings import LabSettings
from carbon_kube.storage.atomic import write_text_atomically

__all__ = [
    "ComponentStatus",
    "LabAlreadyRunningError",
    "LabState",
    "LabStatus",
    "build_scheduler_config",
    "read_state",
    "read_status",
    "run_down",
    "run_up",
]

_log = logging.getLogger(__name__)

STATE_FILE = "state.json"
# Core controllers only: enough for Jobs, namespaces, owner-reference GC and the `default`
# ServiceAccount (without which every pod is rejected at admission).
BASE_CONTROLLERS = (
    "job-controller",
    "serviceaccount-controller",
    "garbage-collector-controller",
    "namespace-controller",
    "ttl-after-finished-controller",
    "deployment-controller",
    "replicaset-controller",
)
# Stop order: the consumers first, etcd last, so nothing logs storms of connection errors.
_STOP_ORDER = ("kwok", "kube-scheduler", "kube-controller-manager", "kube-apiserver", "etcd")


class LabAlreadyRunningError(CarbonKubeError):
    """``up`` found live processes from an earlier ``up`` in the same state directory."""


@dataclass
class LabState:
    """What ``up`` leaves behind for ``down``, ``status``, ``env`` and the tests (JSON)."""

    state_dir: Path
    kubeconfig: Path
    server_url: str
    ports: dict[str, int]
    speedup: float
    virtual_epoch: datetime
    real_epoch: datetime
    processes: list[RunningProcess] = field(default_factory=list)
    nodes: list[str] = field(default_factory=list)

    def clock(self) -> VirtualClock:
        """The lab-wide virtual clock all Carbon-Kube components in this lab should use."""
        return VirtualClock(
            self.speedup, virtual_epoch=self.virtual_epoch, real_epoch=self.real_epoch
        )

    def client(self) -> KubeClient:
        """A client for this lab's apiserver (admin token)."""
        return KubeClient.from_kubeconfig(self.kubeconfig)

    def save(self) -> None:
        """Write state.json atomically (a crash mid-write must not lose PIDs)."""
        data: dict[str, Any] = asdict(self)
        data["virtual_epoch"] = self.virtual_epoch.isoformat()
        data["real_epoch"] = self.real_epoch.isoformat()
        write_text_atomically(self.state_dir / STATE_FILE, json.dumps(data, indent=2, default=str))


def read_state(state_dir: Path) -> LabState | None:
    """The state of the lab in ``state_dir``, or None when there is none."""
    path = state_dir / STATE_FILE
    if not path.is_file():
        return None
    data = json.loads(path.read_text())
    return LabState(
        state_dir=Path(data["state_dir"]),
        kubeconfig=Path(data["kubeconfig"]),
        server_url=data["server_url"],
        ports={k: int(v) for k, v in data["ports"].items()},
        speedup=float(data["speedup"]),
        virtual_epoch=datetime.fromisoformat(data["virtual_epoch"]),
        real_epoch=datetime.fromisoformat(data["real_epoch"]),
        processes=[
            RunningProcess(
                name=p["name"],
                pid=int(p["pid"]),
                binary=Path(p["binary"]),
                log_path=Path(p["log_path"]),
            )
            for p in data["processes"]
        ],
        nodes=list(data.get("nodes", [])),
    )


# -- configuration files ---------------------------------------------------------------------


def build_scheduler_config(settings: LabSettings, kubeconfig: Path) -> dict[str, Any]:
    """The KubeSchedulerConfiguration: our kubeconfig, no leader election, the extenders.

    ``clientConnection.kubeconfig`` must be in the file: kube-scheduler ignores
    ``--kubeconfig`` once ``--config`` is given.
    """
    config: dict[str, Any] = {
        "apiVersion": "kubescheduler.config.k8s.io/v1",
        "kind": "KubeSchedulerConfiguration",
        "clientConnection": {
            "kubeconfig": str(kubeconfig),
            "qps": settings.client_qps,
            "burst": settings.client_burst,
        },
        "leaderElection": {"leaderElect": False},
        "profiles": [{"schedulerName": "default-scheduler"}],
    }
    if settings.extenders:
        config["extenders"] = [extender.to_kube() for extender in settings.extenders]
    config.update(settings.scheduler_config_overrides)
    return config


def build_kwok_config(settings: LabSettings) -> dict[str, Any]:
    """Options for kwok itself; the flags cover the rest (selectors, ports, node IP, CIDR)."""
    return {
        "apiVersion": "config.kwok.x-k8s.io/v1alpha1",
        "kind": "KwokConfiguration",
        "options": {
            "podPlayStageParallelism": settings.kwok_pod_parallelism,
            "nodePlayStageParallelism": 4,
        },
    }


def _kwok_stages_yaml() -> str:
    """All Stage objects shipped in carbon_kube/lab/stages, as one multi-document YAML."""
    stage_dir = resources.files("carbon_kube.lab").joinpath("stages")
    documents = [
        entry.read_text()
        for entry in sorted(stage_dir.iterdir(), key=lambda e: e.name)
        if entry.name.endswith(".yaml")
    ]
    if not documents:
        raise CarbonKubeError(
            "no kwok stage files found in carbon_kube/lab/stages; reinstall the package "
            "(the YAML files are package data)."
        )
    return "\n---\n".join(documents)


# -- probes ------------------------------------------------------------------------------------


def _http_ok(url: str, *, context: ssl.SSLContext | None = None, token: str | None = None) -> bool:
    """True when ``url`` answers 200; any connection error means "not yet"."""
    request = urllib.request.Request(url)  # noqa: S310 - loopback URLs built by the lab
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=5, context=context) as response:  # noqa: S310
            return int(response.status) == 200
    except (urllib.error.URLError, OSError, ValueError):
        return False


def _healthz_probe(url: str, context: ssl.SSLContext) -> Callable[[], bool]:
    """A probe bound to one URL (a closure per component, not a late-bound loop variable)."""
    return lambda: _http_ok(url, context=context)


def _insecure_loopback_context() -> ssl.SSLContext:
    """For kube-controller-manager/scheduler healthz: they serve self-signed certs on loopback."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


# -- up ----------------------------------------------------------------------------------------


def _component_args(
    settings: LabSettings, pki: LabPki, ports: dict[str, int], paths: dict[str, Path]
) -> dict[str, list[str]]:
    etcd_url = f"http://127.0.0.1:{ports['etcd']}"
    peer_url = f"http://127.0.0.1:{ports['etcd-peer']}"
    return {
        "etcd": [
            "--name=lab",
            f"--data-dir={paths['etcd-data']}",
            f"--listen-client-urls={etcd_url}",
            f"--advertise-client-urls={etcd_url}",
            f"--listen-peer-urls={peer_url}",
            f"--initial-advertise-peer-urls={peer_url}",
            f"--initial-cluster=lab={peer_url}",
            "--initial-cluster-state=new",
            # A throwaway lab: durability buys nothing and fsync dominates on a slow disk.
            "--unsafe-no-fsync=true",
            "--quota-backend-bytes=8589934592",
            "--log-level=warn",
        ],
        "kube-apiserver": [
            f"--etcd-servers={etcd_url}",
            "--bind-address=127.0.0.1",
            # Without it the apiserver dies on a host with no default route.
            "--advertise-address=127.0.0.1",
            # A loopback address is not a valid Endpoints IP; nobody reaches us in-cluster anyway.
            "--endpoint-reconciler-type=none",
            f"--secure-port={ports['kube-apiserver']}",
            f"--tls-cert-file={pki.serving_cert}",
            f"--tls-private-key-file={pki.serving_key}",
            f"--client-ca-file={pki.ca_cert}",
            f"--token-auth-file={pki.token_file}",
            "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
            f"--service-account-key-file={pki.service_account_pub}",
            f"--service-account-signing-key-file={pki.service_account_key}",
            "--service-cluster-ip-range=10.0.0.0/24",
            "--authorization-mode=RBAC",
            # APF would throttle the benchmark's bursts; the lab has a single tenant.
            "--enable-priority-and-fairness=false",
            "--max-requests-inflight=1000",
            "--max-mutating-requests-inflight=500",
            "--allow-privileged=true",
            # This plugin taints every new Node `not-ready:NoSchedule` and relies on the
            # node-lifecycle controller to lift it. We run no node-lifecycle controller
            # (kwok keeps nodes Ready; lease-lag evictions would only add noise under load),
            # so the taint would block all scheduling forever.
            "--disable-admission-plugins=TaintNodesByCondition",
        ],
        "kube-controller-manager": [
            f"--kubeconfig={paths['kubeconfig']}",
            "--leader-elect=false",
            f"--controllers={','.join((*BASE_CONTROLLERS, *settings.extra_controllers))}",
            "--bind-address=127.0.0.1",
            f"--secure-port={ports['kube-controller-manager']}",
            f"--kube-api-qps={settings.client_qps}",
            f"--kube-api-burst={settings.client_burst}",
            "--concurrent-job-syncs=20",
            f"--root-ca-file={pki.ca_cert}",
            f"--service-account-private-key-file={pki.service_account_key}",
        ],
        "kube-scheduler": [
            f"--config={paths['scheduler-config']}",
            "--bind-address=127.0.0.1",
            f"--secure-port={ports['kube-scheduler']}",
        ],
        "kwok": [
            f"--kubeconfig={paths['kubeconfig']}",
            f"--config={paths['kwok-config']}",
            "--manage-all-nodes=false",
            f"--manage-nodes-with-annotation-selector={KWOK_NODE_SELECTOR}",
            "--node-ip=127.0.0.1",
            "--cidr=10.244.0.0/16",
            f"--server-address=127.0.0.1:{ports['kwok']}",
            f"--node-lease-duration-seconds={int(settings.node_lease_duration.total_seconds())}",
        ],
    }


def _prepare_state_dir(state_dir: Path) -> None:
    previous = read_state(state_dir) if state_dir.exists() else None
    if previous is not None:
        alive = [p for p in previous.processes if is_our_process(p)]
        if alive:
            names = ", ".join(f"{p.name} (pid {p.pid})" for p in alive)
            raise LabAlreadyRunningError(
                f"a lab is already running from {state_dir}: {names}. "
                f"Run `carbon-kube lab down --state-dir {state_dir}` first, "
                "or pick another --state-dir."
            )
    if state_dir.exists():
        shutil.rmtree(state_dir)
    state_dir.mkdir(parents=True, mode=0o700)


def run_up(settings: LabSettings, now: datetime | None = None) -> LabState:
    """Start the whole control plane and the fake nodes; return once every node is Ready.

    ``now`` (tz-aware) pins the PKI validity and the clock epochs; default is the wall clock.
    On failure everything started so far is stopped and the exception says which component
    failed, with its log tail; the state directory is kept for the logs.
    """
    started_at = now or real_utc_now()
    state_dir = settings.state_dir.resolve()
    _prepare_state_dir(state_dir)
    pki = write_pki(state_dir / "pki", started_at)
    names = [
        "etcd",
        "etcd-peer",
        "kube-apiserver",
        "kube-controller-manager",
        "kube-scheduler",
        "kwok",
    ]
    ports = dict(zip(names, free_loopback_ports(len(names)), strict=True))
    server_url = f"https://127.0.0.1:{ports['kube-apiserver']}"
    paths = {
        "kubeconfig": write_kubeconfig(state_dir / "kubeconfig", server_url=server_url, pki=pki),
        "etcd-data": state_dir / "etcd",
        "scheduler-config": state_dir / "kube-scheduler.yaml",
        "kwok-config": state_dir / "kwok.yaml",
    }
    paths["scheduler-config"].write_text(
        yaml.safe_dump(build_scheduler_config(settings, paths["kubeconfig"]), sort_keys=False)
    )
    paths["kwok-config"].write_text(
        yaml.safe_dump(build_kwok_config(settings), sort_keys=False) + "---\n" + _kwok_stages_yaml()
    )
    state = LabState(
        state_dir=state_dir,
        kubeconfig=paths["kubeconfig"],
        server_url=server_url,
        ports=ports,
        speedup=settings.speedup,
        virtual_epoch=started_at,
        real_epoch=started_at,
    )
    state.save()
    args = _component_args(settings, pki, ports, paths)
    log_dir = state_dir / "logs"
    timeout = settings.ready_timeout

    def start(name: str) -> RunningProcess:
        process = start_process(name, settings.bin_dir / name, args[name], log_dir)
        state.processes.append(process)
        state.save()
        return process

    try:
        etcd = start("etcd")
        wait_until_ready(
            etcd, lambda: _http_ok(f"http://127.0.0.1:{ports['etcd']}/health"), timeout
        )

        apiserver = start("kube-apiserver")
        ca_context = ssl.create_default_context(cafile=str(pki.ca_cert))
        wait_until_ready(
            apiserver,
            lambda: _http_ok(f"{server_url}/readyz", context=ca_context, token=pki.admin_token),
            timeout,
        )

        # The rest only need a ready apiserver; start them together, then wait for each.
        insecure = _insecure_loopback_context()
        followers = [start(name) for name in ("kube-controller-manager", "kube-scheduler", "kwok")]
        for process in followers:
            port = ports[process.name]
            scheme = "http" if process.name == "kwok" else "https"
            url = f"{scheme}://127.0.0.1:{port}/healthz"
            wait_until_ready(process, _healthz_probe(url, insecure), timeout)

        with state.client() as client:
            _wait_for_default_service_account(client, followers[0], timeout)
            state.nodes = _create_nodes(client, settings)
            state.save()
            _wait_for_nodes_ready(client, state.nodes, followers[2], timeout)
    except BaseException:
        # Includes KeyboardInterrupt: never leave orphans behind a failed or aborted `up`.
        _stop_all(state)
        state.save()
        raise
    _log.info(
        "lab is up",
        extra={"server": server_url, "nodes": len(state.nodes), "state_dir": str(state_dir)},
    )
    return state


def _wait_for_default_service_account(
    client: KubeClient, kcm: RunningProcess, timeout: timedelta
) -> None:
    """Pods are rejected until the serviceaccount controller has made `default/default`."""

    def probe() -> bool:
        try:
            client.get(SERVICE_ACCOUNTS, "default", namespace="default")
        except KubeApiError:
            return False
        return True

    wait_until_ready(kcm, probe, timeout, what="serving (default ServiceAccount exists)")


def _create_nodes(client: KubeClient, settings: LabSettings) -> list[str]:
    names: list[str] = []
    for node in make_fake_nodes(settings.node_pools):
        created = client.create(NODES, node)
        names.append(created["metadata"]["name"])
    return names


def _node_is_ready(node: dict[str, Any]) -> bool:
    conditions = (node.get("status") or {}).get("conditions") or []
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)


def _wait_for_nodes_ready(
    client: KubeClient, names: list[str], kwok: RunningProcess, timeout: timedelta
) -> None:
    wanted = set(names)

    def probe() -> bool:
        ready = {n["metadata"]["name"] for n in client.list(NODES) if _node_is_ready(n)}
        return wanted <= ready

    wait_until_ready(kwok, probe, timeout, what=f"keeping all {len(names)} fake nodes Ready")


# -- down / status -----------------------------------------------------------------------------


def _stop_all(state: LabState) -> list[str]:
    order = {name: index for index, name in enumerate(_STOP_ORDER)}
    stopped: list[str] = []
    for process in sorted(state.processes, key=lambda p: order.get(p.name, -1)):
        if stop_process(process):
            stopped.append(f"{process.name} (pid {process.pid})")
    state.processes = [p for p in state.processes if is_our_process(p)]
    return stopped


def run_down(state_dir: Path) -> list[str]:
    """Stop exactly the processes recorded in ``state_dir`` and delete the directory.

    Returns what was stopped. Idempotent: a missing state directory is not an error.
    Refuses to delete a directory that holds no lab state (a mistyped ``--state-dir``).
    """
    state_dir = state_dir.resolve()
    if not state_dir.exists():
        return []
    state = read_state(state_dir)
    if state is None:
        raise CarbonKubeError(
            f"{state_dir} has no {STATE_FILE}: not a lab state directory, so it is left alone. "
            f"Check --state-dir."
        )
    stopped = _stop_all(state)
    still_alive = [p for p in state.processes if is_our_process(p)]
    if still_alive:
        state.save()
        raise CarbonKubeError(
            "could not stop "
            + ", ".join(f"{p.name} (pid {p.pid})" for p in still_alive)
            + f"; state kept in {state_dir}."
        )
    shutil.rmtree(state_dir)
    return stopped


@dataclass(frozen=True)
class ComponentStatus:
    """One process: alive or not, and where its log is."""

    name: str
    pid: int
    alive: bool
    log_path: Path


@dataclass(frozen=True)
class LabStatus:
    """What ``lab status`` prints."""

    state_dir: Path
    server_url: str
    kubeconfig: Path
    components: tuple[ComponentStatus, ...]
    apiserver_ready: bool
    nodes_ready: int
    nodes_total: int
    server_version: str | None
    virtual_now: datetime

    @property
    def healthy(self) -> bool:
        """All processes alive, the apiserver ready and every lab node Ready."""
        return (
            all(c.alive for c in self.components)
            and len(self.components) == len(_STOP_ORDER)
            and self.apiserver_ready
            and self.nodes_ready == self.nodes_total
        )


def read_status(state: LabState) -> LabStatus:
    """Probe the lab described by ``state``; never raises for an unhealthy lab."""
    components = tuple(
        ComponentStatus(p.name, p.pid, is_our_process(p), p.log_path) for p in state.processes
    )
    apiserver_ready = False
    nodes_ready = 0
    version: str | None = None
    try:
        with state.client() as client:
            apiserver_ready = client.get_raw("/readyz") == "ok"
            version = str(client.server_version().get("gitVersion"))
            nodes = {n["metadata"]["name"]: n for n in client.list(NODES)}
            nodes_ready = sum(
                1 for name in state.nodes if name in nodes and _node_is_ready(nodes[name])
            )
    except (KubeApiError, OSError):
        pass  # reported as not ready; `lab status` shows the log paths to look at
    return LabStatus(
        state_dir=state.state_dir,
        server_url=state.server_url,
        kubeconfig=state.kubeconfig,
        components=components,
        apiserver_ready=apiserver_ready,
        nodes_ready=nodes_ready,
        nodes_total=len(state.nodes),
        server_version=version,
        virtual_now=state.clock().now(),
    )


def wait_for(
    predicate: Callable[[], bool],
    timeout: timedelta,
    what: str,
    poll: timedelta = timedelta(seconds=0.5),
) -> None:
    """Poll ``predicate()`` until true or raise TimeoutError naming ``what`` and the timeout."""
    deadline = time.monotonic() + timeout.total_seconds()
    while not predicate():
        if time.monotonic() >= deadline:
            raise TimeoutError(
                f"timed out after {timeout.total_seconds():.0f} s waiting for {what}"
            )
        time.sleep(poll.total_seconds())


__all__ += ["ComponentFailedError", "wait_for"]
