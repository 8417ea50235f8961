"""Where the kinds beyond the core ones live in the REST API (leases, CRDs, workload CRDs).

Kept apart from ``client.py`` so that adding a kind never touches the client. Custom kinds
(Karpenter NodePools, Spark and Flink operators' CRDs) may be absent from a cluster: callers
list them and treat a 404 as "not installed".
"""

from __future__ import annotations

from typing import Final

from carbon_kube.kube.client import ResourcePath

__all__ = [
    "CRDS",
    "DEPLOYMENTS",
    "FLINK_DEPLOYMENTS",
    "LEASES",
    "MUTATING_WEBHOOKS",
    "NODEPOOLS",
    "SECRETS",
    "SERVICES",
    "SPARK_APPLICATIONS",
]

LEASES: Final = ResourcePath("apis/coordination.k8s.io/v1", "leases")
CRDS: Final = ResourcePath(
    "apis/apiextensions.k8s.io/v1", "customresourcedefinitions", namespaced=False
)
NODEPOOLS: Final = ResourcePath("apis/karpenter.sh/v1", "nodepools", namespaced=False)
SPARK_APPLICATIONS: Final = ResourcePath("apis/sparkoperator.k8s.io/v1beta2", "sparkapplications")
FLINK_DEPLOYMENTS: Final = ResourcePath("apis/flink.apache.org/v1beta1", "flinkdeployments")
DEPLOYMENTS: Final = ResourcePath("apis/apps/v1", "deployments")
SERVICES: Final = ResourcePath("api/v1", "services")
SECRETS: Final = ResourcePath("api/v1", "secrets")
MUTATING_WEBHOOKS: Final = ResourcePath(
    "apis/admissionregistration.k8s.io/v1", "mutatingwebhookconfigurations", namespaced=False
)
