"""The command lines and configuration files of the lab's components.

etcd, kube-apiserver, kube-controller-manager, kube-scheduler and kwok: which ports each
needs, which flags it gets and what its configuration file says, all derived from
:class:`~carbon_kube.lab.settings.LabSettings`, the PKI and the state directory's layout.

Pure: nothing here starts a process, opens a socket or writes a file (the lifecycle in
:mod:`carbon_kube.lab.control_plane` does); reading the kwok stages shipped as package data
is the one read.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from carbon_kube.lab.nodes import KWOK_NODE_SELECTOR
from carbon_kube.lab.package_data import yaml_texts
from carbon_kube.lab.pki import LabPki
from carbon_kube.lab.settings import SERVICE_CLUSTER_IP_RANGE, LabSettings
from carbon_kube.lab.state import LabPaths

__all__ = [
    "BASE_CONTROLLERS",
    "COMPONENTS",
    "PORT_NAMES",
    "build_kwok_config",
    "build_scheduler_config",
    "component_args",
    "kwok_config_yaml",
    "scheduler_config_yaml",
]

# In start order; the lifecycle stops them in reverse.
COMPONENTS = ("etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok")
# One loopback port each, and etcd's peer port.
PORT_NAMES = (
    "etcd",
    "etcd-peer",
    "kube-apiserver",
    "kube-controller-manager",
    "kube-scheduler",
    "kwok",
)
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
    # kube-root-ca.crt in every namespace: a real kubelet cannot mount a ServiceAccount token
    # volume without it.
    "root-ca-certificate-publisher-controller",
)


# With a real node, pods serve: the apiserver finds a webhook's pods through its endpoints.
REAL_NODE_CONTROLLERS = ("endpoints-controller", "endpointslice-controller")


def _controllers(settings: LabSettings) -> tuple[str, ...]:
    real_node = REAL_NODE_CONTROLLERS if settings.real_node is not None else ()
    return (*BASE_CONTROLLERS, *real_node, *settings.extra_controllers)


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


def scheduler_config_yaml(settings: LabSettings, kubeconfig: Path) -> str:
    """kube-scheduler's ``--config`` file."""
    return yaml.safe_dump(build_scheduler_config(settings, kubeconfig), sort_keys=False)


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
    documents = yaml_texts("stages", "kwok stage")
    return "\n---\n".join(documents)


def kwok_config_yaml(settings: LabSettings) -> str:
    """The ``--config`` file of kwok: its options, then every Stage it plays."""
    return (
        yaml.safe_dump(build_kwok_config(settings), sort_keys=False) + "---\n" + _kwok_stages_yaml()
    )


def component_args(
    settings: LabSettings, pki: LabPki, ports: dict[str, int], paths: LabPaths
) -> dict[str, list[str]]:
    """Each component's flags, by component name."""
    etcd_url = f"http://127.0.0.1:{ports['etcd']}"
    peer_url = f"http://127.0.0.1:{ports['etcd-peer']}"
    return {
        "etcd": [
            "--name=lab",
            f"--data-dir={paths.etcd_data}",
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
            f"--service-cluster-ip-range={SERVICE_CLUSTER_IP_RANGE}",
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
            *(
                # The real node's kubelet listens on 127.0.0.1 and is reached as "localhost"
                # (kwok's logs server then is not: its nodes' Hostname is their name).
                [
                    "--kubelet-preferred-address-types=Hostname,InternalIP",
                    f"--kubelet-client-certificate={pki.kubelet_client_cert}",
                    f"--kubelet-client-key={pki.kubelet_client_key}",
                    # Webhook and extender Services have no ClusterIP routing (no kube-proxy):
                    # the apiserver dials their endpoints, the pods' IPs on the node's bridge.
                    "--enable-aggregator-routing=true",
                ]
                if settings.real_node is not None
                else []
            ),
        ],
        "kube-controller-manager": [
            f"--kubeconfig={paths.kubeconfig}",
            "--leader-elect=false",
            f"--controllers={','.join(_controllers(settings))}",
            "--bind-address=127.0.0.1",
            f"--secure-port={ports['kube-controller-manager']}",
            f"--kube-api-qps={settings.client_qps}",
            f"--kube-api-burst={settings.client_burst}",
            "--concurrent-job-syncs=20",
            f"--root-ca-file={pki.ca_cert}",
            f"--service-account-private-key-file={pki.service_account_key}",
        ],
        "kube-scheduler": [
            f"--config={paths.scheduler_config}",
            "--bind-address=127.0.0.1",
            f"--secure-port={ports['kube-scheduler']}",
        ],
        "kwok": [
            f"--kubeconfig={paths.kubeconfig}",
            f"--config={paths.kwok_config}",
            "--manage-all-nodes=false",
            f"--manage-nodes-with-annotation-selector={KWOK_NODE_SELECTOR}",
            "--node-ip=127.0.0.1",
            "--cidr=10.244.0.0/16",
            f"--server-address=127.0.0.1:{ports['kwok']}",
            f"--node-lease-duration-seconds={int(settings.node_lease_duration.total_seconds())}",
        ],
    }
