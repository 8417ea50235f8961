"""Where the kinds beyond the core ones live in the REST API (leases, CRDs, workload kinds).

Kept apart from ``client.py`` so that adding a kind never touches the client. The workload
kinds' paths are built from ``carbon_kube.kinds`` (their one spelling of group, version and
plural), so a new kind gets its path from its registry line. Custom kinds (Karpenter
NodePools, Spark and Flink operators' CRDs) may be absent from a cluster: callers list them
and treat a 404 as "not installed".
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

from carbon_kube.domain.workloads import WorkloadKind
from carbon_kube.kinds.protocol import ApiCoordinates
from carbon_kube.kinds.registry import KINDS
from carbon_kube.kube.client import ResourcePath

__all__ = [
    "CONFIG_MAPS",
    "CRDS",
    "DEPLOYMENTS",
    "FLINK_DEPLOYMENTS",
    "LEASES",
    "MUTATING_WEBHOOKS",
    "NODEPOOLS",
    "SECRETS",
    "SERVICES",
    "SPARK_APPLICATIONS",
    "VALIDATING_WEBHOOKS",
    "WORKLOAD_RESOURCES",
    "resource_path",
    "workload_resource",
]


def resource_path(api: ApiCoordinates) -> ResourcePath:
    """The REST path of a namespaced kind given by its API coordinates."""
    return ResourcePath(api.rest_prefix, api.plural)


WORKLOAD_RESOURCES: Final[Mapping[WorkloadKind, ResourcePath]] = MappingProxyType(
    {kind: resource_path(adapter.api) for kind, adapter in KINDS.items()}
)


def workload_resource(kind: WorkloadKind) -> ResourcePath:
    """The REST path of the workload kind ``kind``."""
    return WORKLOAD_RESOURCES[kind]


LEASES: Final = ResourcePath("apis/coordination.k8s.io/v1", "leases")
CRDS: Final = ResourcePath(
    "apis/apiextensions.k8s.io/v1", "customresourcedefinitions", namespaced=False
)
NODEPOOLS: Final = ResourcePath("apis/karpenter.sh/v1", "nodepools", namespaced=False)
SPARK_APPLICATIONS: Final = WORKLOAD_RESOURCES[WorkloadKind.SPARK]
FLINK_DEPLOYMENTS: Final = WORKLOAD_RESOURCES[WorkloadKind.FLINK]
DEPLOYMENTS: Final = ResourcePath("apis/apps/v1", "deployments")
SERVICES: Final = ResourcePath("api/v1", "services")
SECRETS: Final = ResourcePath("api/v1", "secrets")
CONFIG_MAPS: Final = ResourcePath("api/v1", "configmaps")
MUTATING_WEBHOOKS: Final = ResourcePath(
    "apis/admissionregistration.k8s.io/v1", "mutatingwebhookconfigurations", namespaced=False
)
VALIDATING_WEBHOOKS: Final = ResourcePath(
    "apis/admissionregistration.k8s.io/v1", "validatingwebhookconfigurations", namespaced=False
)
