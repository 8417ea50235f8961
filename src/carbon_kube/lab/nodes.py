"""Fake nodes for the lab: Node objects kwok adopts and keeps Ready.

Each node carries the labels Carbon-Kube's policies and Karpenter-style requirements read
(``topology.kubernetes.io/zone``/``region``, ``node.kubernetes.io/instance-type``,
``kubernetes.io/arch``, ``kubernetes.io/os``) and a declared capacity that the real
kube-scheduler fits pods against. kwok only manages nodes with :data:`KWOK_NODE_ANNOTATION`,
so a lab can hold real-looking nodes that nobody fakes (for tests of unready nodes).

Pure object construction; :mod:`carbon_kube.lab.control_plane` creates them in the apiserver.
"""

from __future__ import annotations

from collections.abc import Iterator

from carbon_kube.lab.settings import NodePool

__all__ = [
    "KWOK_NODE_ANNOTATION",
    "KWOK_NODE_SELECTOR",
    "LAB_NODE_LABEL",
    "make_fake_node",
    "make_fake_nodes",
    "node_name",
]

KWOK_NODE_ANNOTATION = ("kwok.x-k8s.io/node", "fake")
KWOK_NODE_SELECTOR = f"{KWOK_NODE_ANNOTATION[0]}={KWOK_NODE_ANNOTATION[1]}"
# Marks nodes the lab created, so tests and `lab status` can select them.
LAB_NODE_LABEL = ("carbon-kube.dev/lab-node", "true")


def node_name(pool: NodePool, index: int) -> str:
    """Stable, readable names: ``<availability zone>-<instance type>-<index>``, dots replaced."""
    return f"{pool.availability_zone}-{pool.instance_type.replace('.', '-')}-{index:03d}"


def make_fake_node(pool: NodePool, index: int) -> dict[str, object]:
    """One Node object for ``pool``; capacity equals allocatable (no system reservations)."""
    labels = {
        "kubernetes.io/hostname": node_name(pool, index),
        "kubernetes.io/os": "linux",
        "kubernetes.io/arch": pool.arch,
        "node.kubernetes.io/instance-type": pool.instance_type,
        "topology.kubernetes.io/zone": pool.availability_zone,
        "topology.kubernetes.io/region": pool.region,
        "type": "kwok",
        LAB_NODE_LABEL[0]: LAB_NODE_LABEL[1],
        **dict(pool.labels),
    }
    resources = {"cpu": pool.cpu, "memory": pool.memory, "pods": str(pool.max_pods)}
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": node_name(pool, index),
            "labels": labels,
            "annotations": {KWOK_NODE_ANNOTATION[0]: KWOK_NODE_ANNOTATION[1]},
        },
        "spec": {},
        # The apiserver keeps status on Node create; kwok's node-initialize stage copies it.
        "status": {
            "allocatable": resources,
            "capacity": resources,
            "nodeInfo": {"architecture": pool.arch, "operatingSystem": "linux"},
        },
    }


def make_fake_nodes(pools: tuple[NodePool, ...]) -> Iterator[dict[str, object]]:
    """All nodes of all pools, pool by pool."""
    for pool in pools:
        for index in range(pool.count):
            yield make_fake_node(pool, index)
