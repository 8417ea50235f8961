"""Typed settings for a lab control plane, filled in at the edge (CLI, fixture) and passed in.

Nothing here reads the environment or the file system: the CLI (:mod:`carbon_kube.cli.lab`)
reads ``$CARBON_KUBE_LAB_BIN``, the cache home and the user id and hands the values to
:func:`bin_dir_in_cache` and :func:`state_dir_in`; library code receives a complete
:class:`LabSettings`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

__all__ = [
    "K8S_VERSION",
    "KUBERNETES_SERVICE_IP",
    "SERVICE_CLUSTER_IP_RANGE",
    "ExtenderConfig",
    "InstallSettings",
    "LabSettings",
    "NodePool",
    "RealNodeSettings",
    "bin_dir_in_cache",
    "default_node_pools",
    "state_dir_in",
]

# The version hack/lab/build.sh builds; the bin directory is versioned by it.
K8S_VERSION = "v1.36.3"


# The lab's Service network: the apiserver gives its own "kubernetes" Service the first
# address, which every pod's in-cluster configuration dials (KUBERNETES_SERVICE_HOST).
SERVICE_CLUSTER_IP_RANGE = "10.0.0.0/24"
KUBERNETES_SERVICE_IP = "10.0.0.1"


def bin_dir_in_cache(cache_home: Path) -> Path:
    """Where hack/lab/build.sh puts binaries under a cache home: versioned, so builds coexist."""
    return cache_home / "carbon-kube" / "lab" / K8S_VERSION / "bin"


def state_dir_in(base: Path, uid: int) -> Path:
    """One state directory per user under ``base`` (PKI, etcd data, logs, PIDs)."""
    return base / f"carbon-kube-lab-{uid}"


@dataclass(frozen=True)
class ExtenderConfig:
    """One kube-scheduler HTTP extender (KubeSchedulerConfiguration ``extenders[]``).

    ``weight`` multiplies the extender's 0..10 scores (and the scheduler multiplies again by
    10 to reach its 0..100 scale), so a weight of 100 lets the extender overrule every
    in-tree score plugin; ``ignorable`` keeps scheduling going when the extender is down.

    No ``filterVerb`` by default: the webhook turns ``allowed-zones`` into node affinity, so
    the extender's filter is optional (each verb is one more HTTP call per pod per cycle);
    set ``filter_verb="filter"`` to have the extender filter too.
    """

    url_prefix: str
    filter_verb: str | None = None
    prioritize_verb: str | None = "prioritize"
    weight: int = 1
    node_cache_capable: bool = True
    ignorable: bool = True
    http_timeout: timedelta = timedelta(seconds=5)

    def to_kube(self) -> dict[str, object]:
        """The extender entry in KubeSchedulerConfiguration's wire format."""
        entry: dict[str, object] = {
            "urlPrefix": self.url_prefix,
            "weight": self.weight,
            "nodeCacheCapable": self.node_cache_capable,
            "ignorable": self.ignorable,
            "enableHTTPS": self.url_prefix.startswith("https://"),
            "httpTimeout": f"{int(self.http_timeout.total_seconds() * 1000)}ms",
        }
        if self.filter_verb:
            entry["filterVerb"] = self.filter_verb
        if self.prioritize_verb:
            entry["prioritizeVerb"] = self.prioritize_verb
        return entry


@dataclass(frozen=True)
class NodePool:
    """``count`` identical fake nodes in one availability zone; capacity is what the scheduler sees.

    ``availability_zone`` is the cloud's zone (``topology.kubernetes.io/zone``, e.g.
    ``eu-west-1a``), not a grid zone: which grid zone a node draws from is the policy's
    business, looked up from its region.
    """

    availability_zone: str
    region: str
    count: int
    instance_type: str = "m6i.2xlarge"
    arch: str = "amd64"
    cpu: str = "8"
    memory: str = "32Gi"
    max_pods: int = 110
    labels: tuple[tuple[str, str], ...] = ()


def default_node_pools(zones: int = 3, nodes_per_zone: int = 10) -> tuple[NodePool, ...]:
    """Fake nodes across zones in two regions, with one arm64 pool for arch-aware tests.

    Availability zones are named after AWS-like regions because the carbon providers map
    cloud regions to grid zones; which grid a node sits in is the policy's business, not the
    lab's.
    """
    layout = [
        ("eu-west-1a", "eu-west-1", "m6i.2xlarge", "amd64"),
        ("eu-west-1b", "eu-west-1", "m6g.2xlarge", "arm64"),
        ("eu-central-1a", "eu-central-1", "m6i.2xlarge", "amd64"),
        ("us-east-1a", "us-east-1", "m6i.2xlarge", "amd64"),
        ("us-west-2a", "us-west-2", "c6i.4xlarge", "amd64"),
    ]
    pools = []
    for index in range(zones):
        availability_zone, region, instance_type, arch = layout[index % len(layout)]
        if index >= len(layout):
            availability_zone = f"{availability_zone}-{index // len(layout)}"
        pools.append(
            NodePool(
                availability_zone=availability_zone,
                region=region,
                count=nodes_per_zone,
                instance_type=instance_type,
                arch=arch,
            )
        )
    return tuple(pools)


@dataclass(frozen=True)
class InstallSettings:
    """How ``lab up --install`` runs Carbon-Kube.

    ``python`` is an interpreter that imports ``carbon_kube`` (the CLI passes its own), so the
    processes run the code of the checkout that started the lab.
    """

    python: Path
    # The chart's zones.home default: the embedded data replayed for Germany's grid.
    home_zone: str = "DE"
    # Debian's prometheus, when installed: scrapes both components every few seconds, so
    # ``carbon-kube metrics export`` (and the notebook) can read what they counted.
    prometheus: Path | None = None


@dataclass(frozen=True)
class RealNodeSettings:
    """How ``lab up --real-node`` runs its kubelet node.

    ``python`` runs the node's supervisor (:mod:`carbon_kube.lab.node_supervisor`); ``images``
    are OCI archives imported into the node's containerd (pods use them with
    ``imagePullPolicy: Never``: the node pulls nothing).
    """

    python: Path
    images: tuple[Path, ...] = ()


@dataclass(frozen=True)
class LabSettings:
    """Everything ``lab up`` needs; defaults give a 3-zone x 10-node lab at real speed."""

    bin_dir: Path
    state_dir: Path
    node_pools: tuple[NodePool, ...] = field(default_factory=default_node_pools)
    extenders: tuple[ExtenderConfig, ...] = ()
    # Extra KubeSchedulerConfiguration keys merged over the generated one (profiles, ...).
    scheduler_config_overrides: dict[str, object] = field(default_factory=dict)
    speedup: float = 1.0
    # Generous: on two busy cores a cold kube-apiserver takes 20-60 s to become ready.
    ready_timeout: timedelta = timedelta(seconds=180)
    # Client QPS for controller-manager, scheduler and kwok; the defaults (20-50) throttle
    # the 10,000-pod benchmark long before the apiserver does.
    client_qps: int = 500
    client_burst: int = 1000
    extra_controllers: tuple[str, ...] = ()
    # kwok workers patching pod status in parallel (kwok's default, 4, manages ~20 pods/s on
    # two busy cores; more workers help until the apiserver is the bottleneck).
    kwok_pod_parallelism: int = 16
    # Node leases matter only to a node-lifecycle controller, which the lab does not run;
    # 0 turns kwok's lease renewals off (1,000 nodes would otherwise cost ~100 writes/s).
    node_lease_duration: timedelta = timedelta(0)
    # Carbon-Kube's webhook and controller beside the control plane (``lab up --install``).
    install: InstallSettings | None = None
    # One kubelet node with containerd beside the kwok nodes (``lab up --real-node``).
    real_node: RealNodeSettings | None = None
