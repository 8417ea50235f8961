"""Bring a lab control plane up and down, and report its health: the lifecycle.

The components are etcd, kube-apiserver, kube-controller-manager, kube-scheduler and kwok,
run as local processes on loopback, plus fake nodes; with ``install`` settings also
Carbon-Kube's webhook and controller (:mod:`carbon_kube.lab.install`), registered.

Flow that makes Jobs run without a kubelet: Job -> job-controller creates pods ->
kube-scheduler (with any configured extenders) binds them -> kwok plays the pod stages
(Running, then Succeeded for Job pods after the delay annotation) -> Job Complete.

``run_up`` records every PID in ``<state_dir>/state.json`` the moment it starts it, so
``run_down`` (even after a half-failed ``up``) stops exactly those processes and removes the
state directory. On a start-up failure the started processes are stopped, the logs are kept,
and the error carries the tail of the failing component's log.

This module starts, waits for and stops; it must not spell component flags or configuration
(:mod:`carbon_kube.lab.components`) nor the state directory's files
(:mod:`carbon_kube.lab.state`). It talks to the apiserver only through
:class:`carbon_kube.kube.client.KubeClient`.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import logging
import os
import shutil
import ssl
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import yaml

from carbon_kube.domain.errors import CarbonKubeError
from carbon_kube.kube.client import (
    NAMESPACES,
    NODES,
    SERVICE_ACCOUNTS,
    KubeApiError,
    KubeClient,
)
from carbon_kube.kube.resources import CRDS, LEASES, MUTATING_WEBHOOKS, VALIDATING_WEBHOOKS
from carbon_kube.lab.clock import real_utc_now
from carbon_kube.lab.components import (
    COMPONENTS,
    PORT_NAMES,
    component_args,
    kwok_config_yaml,
    scheduler_config_yaml,
)
from carbon_kube.lab.install import (
    CONTROLLER,
    CONTROLLER_IDENTITY,
    CONTROLLER_LEASE,
    INSTALL_NAMESPACE,
    INSTALL_PORT_NAMES,
    INSTALLED_COMPONENTS,
    PROMETHEUS,
    WEBHOOK,
    installed_args,
    prometheus_args,
    prometheus_config,
    stand_in_crds,
    webhook_configurations,
)
from carbon_kube.lab.node_supervisor import remove_host_leftovers
from carbon_kube.lab.nodes import make_fake_nodes
from carbon_kube.lab.pause_image import PAUSE_IMAGE, write_pause_image
from carbon_kube.lab.pki import LabPki, write_kubeconfig, write_pki
from carbon_kube.lab.processes import (
    RunningProcess,
    free_loopback_ports,
    is_our_process,
    start_process,
    stop_process,
    wait_until_ready,
)
from carbon_kube.lab.real_node import (
    NODE_NAME,
    POD_SUBNET,
    NodeLayout,
    cni_conflist,
    containerd_config,
    kubelet_config_yaml,
    supervisor_config,
)
from carbon_kube.lab.real_node import PORT_NAMES as NODE_PORT_NAMES
from carbon_kube.lab.settings import InstallSettings, LabSettings, RealNodeSettings
from carbon_kube.lab.state import STATE_FILE, LabPaths, LabState, prepare_state_dir, read_state

__all__ = [
    "ComponentStatus",
    "LabStatus",
    "read_status",
    "run_down",
    "run_up",
    "wait_for",
]

_log = logging.getLogger(__name__)

# Stop order: the consumers first, etcd last, so nothing logs storms of connection errors.
REAL_NODE = "real-node"
_STOP_ORDER = (PROMETHEUS, *reversed(INSTALLED_COMPONENTS), REAL_NODE, *reversed(COMPONENTS))
# The real node's supervisor stops the kubelet, every container and containerd before exiting.
_DEFAULT_STOP_GRACE = timedelta(seconds=15)
_STOP_GRACE = {REAL_NODE: timedelta(seconds=60)}
# What the real node runs besides our own binaries: Debian's packages.
_NODE_TOOLS = ("containerd", "ctr", "runc", "mount", "ip")


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


def _targets_up(prometheus_url: str) -> int:
    """How many targets Prometheus has scraped successfully (``up == 1``); 0 on any error."""
    query = urllib.parse.urlencode({"query": "up == 1"})
    try:
        with urllib.request.urlopen(f"{prometheus_url}/api/v1/query?{query}", timeout=5) as answer:  # noqa: S310 - loopback
            return len(json.load(answer)["data"]["result"])
    except (OSError, ValueError, KeyError):
        return 0


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


def run_up(settings: LabSettings, now: datetime | None = None) -> LabState:
    """Start the whole control plane and the fake nodes; return once every node is Ready.

    ``now`` (tz-aware) pins the PKI validity and the clock epochs; default is the wall clock.
    On failure everything started so far is stopped and the exception says which component
    failed, with its log tail; the state directory is kept for the logs.
    """
    started_at = now or real_utc_now()
    state_dir = settings.state_dir.resolve()
    if settings.real_node is not None:
        # Before the old state is wiped: a refusal must leave `lab down` something to read.
        _check_real_node_prerequisites(settings)
    prepare_state_dir(state_dir)
    paths = LabPaths(state_dir)
    pki = write_pki(paths.pki, started_at)
    port_names = (
        *PORT_NAMES,
        *(INSTALL_PORT_NAMES if settings.install else ()),
        *(NODE_PORT_NAMES if settings.real_node else ()),
    )

    ports = dict(zip(port_names, free_loopback_ports(len(port_names)), strict=True))
    server_url = f"https://127.0.0.1:{ports['kube-apiserver']}"
    kubeconfig = write_kubeconfig(paths.kubeconfig, server_url=server_url, pki=pki)
    paths.scheduler_config.write_text(scheduler_config_yaml(settings, kubeconfig))
    paths.kwok_config.write_text(kwok_config_yaml(settings))
    state = LabState(
        state_dir=state_dir,
        kubeconfig=kubeconfig,
        server_url=server_url,
        ports=ports,
        speedup=settings.speedup,
        virtual_epoch=started_at,
        real_epoch=started_at,
    )
    state.save()
    args = component_args(settings, pki, ports, paths)
    timeout = settings.ready_timeout

    def start(name: str) -> RunningProcess:
        process = start_process(name, settings.bin_dir / name, args[name], paths.logs)
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
            if settings.real_node is not None:
                node = _start_real_node(settings, settings.real_node, state, paths, pki)
                state.nodes.append(NODE_NAME)
                state.save()
                _wait_for_nodes_ready(client, [NODE_NAME], node, timeout)
            if settings.install is not None:
                _install(settings.install, state, pki, paths, client, timeout)
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


def _check_real_node_prerequisites(settings: LabSettings) -> None:
    """Refuse before anything starts: missing tools, or another kubelet's cgroups on the host."""
    missing = [tool for tool in _NODE_TOOLS if shutil.which(tool) is None]
    missing += [
        str(settings.bin_dir / name)
        for name in ("kubelet", "pause")
        if not (settings.bin_dir / name).is_file()
    ]
    if missing:
        raise CarbonKubeError(
            f"--real-node needs {', '.join(missing)}: run `hack/ensure-real-node.sh` (Debian's "
            "containerd, runc, CNI plugins) and `hack/lab/build.sh kubelet`."
        )
    if os.geteuid() != 0:
        raise CarbonKubeError(
            "--real-node needs root: the kubelet and containerd use mount namespaces, cgroups "
            "and a network bridge."
        )
    clash = _routed_overlap(POD_SUBNET)
    if clash:
        raise CarbonKubeError(
            f"the real node's pod subnet {POD_SUBNET} overlaps {clash}, which this host already "
            "has: another lab's real node runs (one at a time), or a network uses that range."
        )


def _routed_overlap(subnet: str) -> str | None:
    """A host route or address overlapping ``subnet`` (``ip -o route`` / ``addr``), if any."""
    wanted = ipaddress.ip_network(subnet)
    for command in (["ip", "-o", "-4", "route", "show"], ["ip", "-o", "-4", "addr", "show"]):
        listed = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603
        for word in listed.stdout.split():
            with contextlib.suppress(ValueError):
                network = ipaddress.ip_network(word, strict=False)
                if network.prefixlen > 0 and network.overlaps(wanted):
                    return str(network)
    return None


def _node_layout(paths: LabPaths, ports: dict[str, int]) -> NodeLayout:
    return NodeLayout(
        root=paths.real_node, kubelet_port=ports["kubelet"], healthz_port=ports["kubelet-healthz"]
    )


def _start_real_node(
    settings: LabSettings,
    node: RealNodeSettings,
    state: LabState,
    paths: LabPaths,
    pki: LabPki,
) -> RunningProcess:
    """Write the node's configuration and start its supervisor (containerd + kubelet)."""
    layout = _node_layout(paths, state.ports)
    layout.cni_config_dir.mkdir(parents=True)
    layout.containerd_config.write_text(containerd_config(layout, PAUSE_IMAGE))
    (layout.cni_config_dir / "10-carbon-kube-lab.conflist").write_text(
        json.dumps(cni_conflist(layout), indent=2)
    )
    layout.kubelet_config.write_text(kubelet_config_yaml(layout, pki.ca_cert))
    write_pause_image(settings.bin_dir / "pause", layout.pause_archive)
    layout.supervisor_config.write_text(
        supervisor_config(
            layout,
            kubelet=settings.bin_dir / "kubelet",
            kubeconfig=state.kubeconfig,
            images=list(node.images),
            apiserver_port=state.ports["kube-apiserver"],
        )
    )
    process = start_process(
        REAL_NODE,
        node.python,
        ["-m", "carbon_kube.lab.node_supervisor", str(layout.supervisor_config)],
        paths.logs,
    )
    state.processes.append(process)
    state.real_node_bridge = layout.bridge
    state.save()
    return process


def _install(
    install: InstallSettings,
    state: LabState,
    pki: LabPki,
    paths: LabPaths,
    client: KubeClient,
    timeout: timedelta,
) -> None:
    """Start Carbon-Kube's webhook and controller, register the webhook, add the CRDs.

    In the order that leaves no window where a workload slips through unheld: the CRDs and
    the webhook serving before it is registered, the controller last.
    """
    client.create(
        NAMESPACES,
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": INSTALL_NAMESPACE}},
    )
    crd_names = [client.create(CRDS, crd)["metadata"]["name"] for crd in stand_in_crds()]
    args = installed_args(install, pki, state.ports, paths)

    def start(name: str) -> RunningProcess:
        process = start_process(name, install.python, args[name], paths.logs)
        state.processes.append(process)
        state.save()
        return process

    webhook = start(WEBHOOK)
    url = f"https://127.0.0.1:{state.ports[WEBHOOK]}"
    ca_context = ssl.create_default_context(cafile=str(pki.ca_cert))
    wait_until_ready(webhook, lambda: _http_ok(f"{url}/healthz", context=ca_context), timeout)
    ca_pem = pki.ca_cert.read_bytes()
    for configuration, resource in zip(
        webhook_configurations(url, ca_pem), (MUTATING_WEBHOOKS, VALIDATING_WEBHOOKS), strict=True
    ):
        client.create(resource, configuration)
    _wait_for_crds(client, crd_names, webhook, timeout)

    controller = start(CONTROLLER)

    def leading() -> bool:
        try:
            lease = client.get(LEASES, CONTROLLER_LEASE, namespace=INSTALL_NAMESPACE)
        except KubeApiError:
            return False
        return (lease.get("spec") or {}).get("holderIdentity") == CONTROLLER_IDENTITY

    wait_until_ready(controller, leading, timeout, what="leading (holds its Lease)")
    if install.prometheus is not None:
        config = paths.state_dir / "prometheus.yml"
        config.write_text(yaml.safe_dump(prometheus_config(pki, state.ports), sort_keys=False))
        flags = prometheus_args(config, paths.state_dir / "prometheus-data", state.ports)
        prometheus = start_process(PROMETHEUS, install.prometheus, flags, paths.logs)
        state.processes.append(prometheus)
        url = f"http://127.0.0.1:{state.ports[PROMETHEUS]}"
        # Ready is not scraping: discovery hands targets over up to 5 s later, and an export
        # taken before that is empty (seen). Wait until both targets have been scraped.
        wait_until_ready(
            prometheus,
            lambda: _targets_up(url) >= len(INSTALLED_COMPONENTS),
            timeout,
            what="scraping the webhook and the controller",
        )
        state.prometheus_url = url
    state.installed = True
    state.save()


def _wait_for_crds(
    client: KubeClient, names: list[str], waiting_on: RunningProcess, timeout: timedelta
) -> None:
    """Objects of a new CRD are refused until the apiserver reports it Established."""

    def established(name: str) -> bool:
        conditions = (client.get(CRDS, name).get("status") or {}).get("conditions") or []
        return any(c.get("type") == "Established" and c.get("status") == "True" for c in conditions)

    wait_until_ready(
        waiting_on,
        lambda: all(established(name) for name in names),
        timeout,
        what="serving (the Spark and Flink CRDs are established)",
    )


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
        if stop_process(process, _STOP_GRACE.get(process.name, _DEFAULT_STOP_GRACE)):
            stopped.append(f"{process.name} (pid {process.pid})")
    state.processes = [p for p in state.processes if is_our_process(p)]
    if state.real_node_bridge is not None:
        # The supervisor cleans up after itself; this covers one that was SIGKILLed (its
        # containerd, shims and containers outlive it), after a failed `up` as after `down`.
        layout = _node_layout(LabPaths(state.state_dir), state.ports)
        remove_host_leftovers(layout.root, layout.bridge, layout.cgroup_root)
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
    expected_components: tuple[str, ...] = COMPONENTS

    @property
    def healthy(self) -> bool:
        """All processes alive, the apiserver ready and every lab node Ready."""
        return (
            all(c.alive for c in self.components)
            and {c.name for c in self.components} == set(self.expected_components)
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
        expected_components=(
            *COMPONENTS,
            *((REAL_NODE,) if state.real_node_bridge is not None else ()),
            *(INSTALLED_COMPONENTS if state.installed else ()),
            *((PROMETHEUS,) if state.prometheus_url is not None else ()),
        ),
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
