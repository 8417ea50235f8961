"""The lab's one real node: containerd and a kubelet, configured to leave the host as it was.

``lab up --real-node`` adds a kubelet node (the same Kubernetes v1.36.3 modules, Debian's
containerd, runc and CNI plugins) beside the kwok nodes, so pods can run real images. On a
shared machine a kubelet would change host settings; each is kept inside the lab instead:

- sysctls: the kubelet sets kernel.panic, kernel.panic_on_oops, vm.overcommit_memory (and
  the bridge plugin net.ipv4.ip_forward). containerd and the kubelet run in a private mount
  namespace (:mod:`carbon_kube.lab.node_supervisor`) where files holding those values are
  bind-mounted over the /proc/sys entries, so the host's values never change;
- files: containerd's root, state and socket, the kubelet's root, pod logs and the CNI
  state all live in the lab's state directory;
- firewall: ``makeIPTablesUtilChains: false`` (the kubelet would add a KUBE-FIREWALL DROP
  rule to the host's INPUT and OUTPUT); the bridge plugin runs without masquerading;
- paths the kubelet and containerd hard-code (``/run`` with runc's state, shim sockets and
  the pods' network namespace files, ``/var/lib/kubelet``, ``/var/lib/cni``,
  ``/var/log/containers``, ``/var/log/pods``) are bind-mounted from the state directory in
  that namespace (:data:`PRIVATE_HOST_DIRS`), so nothing is written there on the host; a
  mount point that had to be created is removed again;
- network and cgroups: the pod bridge is named after the lab's kubelet port, and the pods'
  cgroups sit under a per-lab ``cgroupRoot`` (:attr:`NodeLayout.cgroup_root`) in every
  hierarchy, so ``down`` kills and removes exactly those.

Pods reach the apiserver as in a cluster, through the "kubernetes" Service's address that
their in-cluster configuration dials: there is no kube-proxy (it would rewrite the host's
iptables), so the supervisor puts that address on the pod bridge and relays it to the
apiserver's loopback port, a userspace proxy for that one Service. The other direction needs
no proxy: the host routes to pod IPs over the bridge, and the apiserver dials a webhook's
endpoints (``--enable-aggregator-routing``).

The node is tainted (:data:`REAL_NODE_TAINT`) so that only what tolerates it lands there;
the kwok nodes keep running the workloads. The kubelet serves on 127.0.0.1 only and accepts
only the apiserver's client certificate (the apiserver reaches it as ``localhost``).

Pure: configuration text, argv and the names of what must be cleaned; the supervisor and the
lifecycle do the I/O.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import yaml

from carbon_kube.lab.settings import KUBERNETES_SERVICE_IP

__all__ = [
    "KERNEL_TUNABLES",
    "NODE_NAME",
    "POD_SUBNET",
    "PORT_NAMES",
    "PRIVATE_HOST_DIRS",
    "REAL_NODE_TAINT",
    "NodeLayout",
    "cni_conflist",
    "containerd_config",
    "kubelet_args",
    "kubelet_config",
    "supervisor_config",
]

# The apiserver reaches the kubelet by the Hostname address (a loopback InternalIP is refused,
# and the host's own IP is not where the kubelet listens).
NODE_NAME: Final = "localhost"
REAL_NODE_TAINT: Final = {
    "key": "carbon-kube.io/real-node",
    "value": "true",
    "effect": "NoSchedule",
}
PORT_NAMES: Final = ("kubelet", "kubelet-healthz")
# Paths under which the kubelet, containerd, runc or the CNI plugins write whatever they are
# configured with; each is private to the node's mount namespace.
PRIVATE_HOST_DIRS: Final = (
    "/run",
    "/var/lib/kubelet",
    "/var/lib/cni",
    "/var/log/containers",
    "/var/log/pods",
)
# What the kubelet (and the bridge plugin) would write to the host's /proc/sys, and the value
# each must read inside the node's namespace so that nothing is written at all.
KERNEL_TUNABLES: Final = {
    "vm/overcommit_memory": "1",
    "vm/panic_on_oom": "0",
    "kernel/panic": "10",
    "kernel/panic_on_oops": "1",
    "kernel/keys/root_maxkeys": "1000000",
    "kernel/keys/root_maxbytes": "25000000",
    "net/ipv4/ip_forward": "1",
}
# Not podman's default (10.88.0.0/16); up refuses a subnet the host already routes.
POD_SUBNET: Final = "10.247.0.0/24"
# host-local gives pods .2 onwards; the bridge (each pod's gateway) holds .1.
_BRIDGE_GATEWAY = "10.247.0.1/24"


@dataclass(frozen=True)
class NodeLayout:
    """Where the real node's files live in the lab's state directory, and its ports."""

    root: Path
    kubelet_port: int
    healthz_port: int

    @property
    def containerd_config(self) -> Path:
        return self.root / "containerd.toml"

    @property
    def containerd_socket(self) -> Path:
        return self.root / "containerd.sock"

    @property
    def kubelet_config(self) -> Path:
        return self.root / "kubelet.yaml"

    @property
    def cni_config_dir(self) -> Path:
        return self.root / "net.d"

    @property
    def tunables_dir(self) -> Path:
        return self.root / "sysctl"

    @property
    def pause_archive(self) -> Path:
        return self.root / "pause.oci.tar"

    @property
    def supervisor_config(self) -> Path:
        return self.root / "supervisor.json"

    @property
    def bridge(self) -> str:
        """The pod bridge: one per lab (interface names are at most 15 characters)."""
        return f"cklab{self.kubelet_port}"

    @property
    def cgroup_root(self) -> str:
        """The kubelet's ``cgroupRoot``: every pod cgroup of this lab, in each hierarchy."""
        return f"carbon-kube-lab-{self.kubelet_port}"


def containerd_config(layout: NodeLayout, sandbox_image: str) -> str:
    """The config of containerd 1.6 (version 2): everything under the lab, runc, cgroupfs.

    ``restrict_oom_score_adj``: lowering a process's oom_score_adj needs CAP_SYS_RESOURCE,
    which root lacks here (runc fails with "can't get final child's PID from pipe: EOF").
    """
    root = layout.root
    cri = 'plugins."io.containerd.grpc.v1.cri"'
    return "\n".join(
        [
            "version = 2",
            f'root = "{root / "containerd-root"}"',
            f'state = "{root / "containerd-state"}"',
            "[grpc]",
            f'  address = "{layout.containerd_socket}"',
            "[ttrpc]",
            f'  address = "{layout.containerd_socket}.ttrpc"',
            "[debug]",
            '  level = "warn"',
            f"[{cri}]",
            f'  sandbox_image = "{sandbox_image}"',
            "  restrict_oom_score_adj = true",
            "  enable_unprivileged_ports = false",
            f"[{cri}.containerd]",
            '  snapshotter = "overlayfs"',
            '  default_runtime_name = "runc"',
            f"[{cri}.containerd.runtimes.runc]",
            '  runtime_type = "io.containerd.runc.v2"',
            f"[{cri}.containerd.runtimes.runc.options]",
            '  BinaryName = "/usr/sbin/runc"',
            "  SystemdCgroup = false",
            f"[{cri}.cni]",
            '  bin_dir = "/usr/lib/cni"',
            f'  conf_dir = "{layout.cni_config_dir}"',
            "",
        ]
    )


def cni_conflist(layout: NodeLayout) -> dict[str, Any]:
    """A bridge with host-local addresses and no masquerading: pod-to-pod and pod-to-host."""
    return {
        "cniVersion": "1.0.0",
        "name": "carbon-kube-lab",
        "plugins": [
            {
                "type": "bridge",
                "bridge": layout.bridge,
                "isGateway": True,
                # A default route via the bridge: how pods reach the "kubernetes" Service relay.
                "isDefaultGateway": True,
                "ipMasq": False,
                "ipam": {
                    "type": "host-local",
                    "ranges": [[{"subnet": POD_SUBNET}]],
                    "dataDir": str(layout.root / "cni-ipam"),
                },
            },
            {"type": "loopback"},
        ],
    }


def kubelet_config(layout: NodeLayout, client_ca: Path) -> dict[str, Any]:
    """The KubeletConfiguration that worked on this machine kind (docs: REAL-NODES facts)."""
    return {
        "apiVersion": "kubelet.config.k8s.io/v1beta1",
        "kind": "KubeletConfiguration",
        "address": "127.0.0.1",
        "port": layout.kubelet_port,
        "readOnlyPort": 0,
        "healthzBindAddress": "127.0.0.1",
        "healthzPort": layout.healthz_port,
        "cgroupDriver": "cgroupfs",
        "cgroupRoot": f"/{layout.cgroup_root}",
        # The host runs cgroup v1 (hybrid); 1.36 refuses it unless told not to.
        "failCgroupV1": False,
        "containerRuntimeEndpoint": f"unix://{layout.containerd_socket}",
        "podLogsDir": str(layout.root / "pod-logs"),
        # Only clients with a certificate from the lab CA (the apiserver's kubelet client; the
        # CA's key is never written down) may call the kubelet: no other local user can exec
        # into the pods or read their tokens through it.
        "authentication": {
            "anonymous": {"enabled": False},
            "webhook": {"enabled": False},
            "x509": {"clientCAFile": str(client_ca)},
        },
        "authorization": {"mode": "AlwaysAllow"},
        "registerWithTaints": [REAL_NODE_TAINT],
        "makeIPTablesUtilChains": False,
        "protectKernelDefaults": False,
        # A lab disk may be nearly full; evicting the chart's pods for it would only confuse.
        "evictionHard": {"memory.available": "1Mi"},
        "imageGCHighThresholdPercent": 100,
        "imageGCLowThresholdPercent": 99,
        "resolvConf": "",
        "maxPods": 30,
    }


def kubelet_args(layout: NodeLayout, kubeconfig: Path) -> list[str]:
    return [
        f"--config={layout.kubelet_config}",
        f"--kubeconfig={kubeconfig}",
        f"--hostname-override={NODE_NAME}",
        f"--root-dir={layout.root / 'kubelet'}",
        f"--cert-dir={layout.root / 'kubelet' / 'pki'}",
        "--v=1",
    ]


def supervisor_config(
    layout: NodeLayout, *, kubelet: Path, kubeconfig: Path, images: list[Path], apiserver_port: int
) -> str:
    """What :mod:`carbon_kube.lab.node_supervisor` reads: commands, images, bridge, relay."""
    return json.dumps(
        {
            "containerd": ["containerd", f"--config={layout.containerd_config}"],
            "kubelet": [str(kubelet), *kubelet_args(layout, kubeconfig)],
            "socket": str(layout.containerd_socket),
            "images": [str(path) for path in [layout.pause_archive, *images]],
            "tunables": KERNEL_TUNABLES,
            "tunables_dir": str(layout.tunables_dir),
            "logs": str(layout.root / "logs"),
            "root": str(layout.root),
            "private_dirs": list(PRIVATE_HOST_DIRS),
            "cgroup_root": layout.cgroup_root,
            "bridge": layout.bridge,
            "bridge_addresses": [_BRIDGE_GATEWAY, f"{KUBERNETES_SERVICE_IP}/32"],
            "api_relay": {
                "listen": [KUBERNETES_SERVICE_IP, 443],
                "target": ["127.0.0.1", apiserver_port],
            },
        },
        indent=2,
    )


def kubelet_config_yaml(layout: NodeLayout, client_ca: Path) -> str:
    return yaml.safe_dump(kubelet_config(layout, client_ca), sort_keys=False)
