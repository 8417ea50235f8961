"""Start Carbon-Kube's servers as real processes for lab tests, and register the webhook."""

from __future__ import annotations

import base64
import ssl
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx

from carbon_kube.domain.annotations import FLEXIBLE_LABEL
from carbon_kube.kube.client import ResourcePath
from carbon_kube.lab.processes import RunningProcess, start_process, wait_until_ready

MUTATING = ResourcePath(
    "apis/admissionregistration.k8s.io/v1", "mutatingwebhookconfigurations", namespaced=False
)
START_TIMEOUT = timedelta(seconds=120)


def https_client(ca_file: Path) -> httpx.Client:
    return httpx.Client(verify=ssl.create_default_context(cafile=str(ca_file)), timeout=10)


def start_server(
    binary: Path, name: str, args: list[str], log_dir: Path, health_url: str, ca: Path | None
) -> RunningProcess:
    process = start_process(name, binary, args, log_dir)

    def healthy() -> bool:
        try:
            client = https_client(ca) if ca is not None else httpx.Client(timeout=5)
            with client:
                return client.get(health_url).status_code == 200
        except httpx.HTTPError:
            return False

    wait_until_ready(process, healthy, START_TIMEOUT, what="serving")
    return process


def webhook_configuration(
    name: str, url: str, ca_pem: bytes, *, namespace: str | None = None
) -> dict[str, Any]:
    """Register ``url`` for flexible Pods and Jobs (only in ``namespace`` when given)."""
    configuration = {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "MutatingWebhookConfiguration",
        "metadata": {"name": name},
        "webhooks": [
            {
                "name": "mutate.carbon-kube.io",
                "admissionReviewVersions": ["v1"],
                "sideEffects": "None",
                "failurePolicy": "Ignore",
                "timeoutSeconds": 10,
                "clientConfig": {
                    "url": f"{url}/mutate",
                    "caBundle": base64.b64encode(ca_pem).decode(),
                },
                "objectSelector": {"matchLabels": {FLEXIBLE_LABEL: "true"}},
                "rules": [
                    {"apiGroups": [""], "apiVersions": ["v1"], "operations": ["CREATE"],
                     "resources": ["pods"]},
                    {"apiGroups": ["batch"], "apiVersions": ["v1"], "operations": ["CREATE"],
                     "resources": ["jobs"]},
                ],
            }
        ],
    }  # fmt: skip
    if namespace is not None:
        configuration["webhooks"][0]["namespaceSelector"] = {
            "matchLabels": {"kubernetes.io/metadata.name": namespace}
        }
    return configuration
