"""What ``lab up --install`` adds to the lab: Carbon-Kube's webhook and controller, registered.

Without them the lab is a bare control plane: ``kubectl apply`` of an example runs the Job at
once and nothing says why. With ``--install`` the webhook and the controller run as host
processes beside the control plane, on the lab's kubeconfig and virtual clock (the kwok nodes
run no containers, and the chart's pods on ``--real-node`` would run on the real clock: the
chart has no virtual-clock settings yet). The webhook
serves on loopback with a certificate the lab CA signs, so the apiserver reaches it by URL;
the registration mirrors the chart's (same kinds, scopes, paths and namespace exclusions; a
test compares the two), and the stand-in Spark and Flink CRDs are installed so every example
applies.

Pure: command lines, objects and file reads of package data; the lifecycle in
:mod:`carbon_kube.lab.control_plane` starts, waits and registers.
"""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any, Final

import yaml

from carbon_kube.domain.annotations import FLEXIBLE_LABEL
from carbon_kube.kinds.registry import KINDS
from carbon_kube.lab.package_data import yaml_texts
from carbon_kube.lab.pki import LabPki
from carbon_kube.lab.settings import InstallSettings
from carbon_kube.lab.state import LabPaths

__all__ = [
    "CONTROLLER",
    "CONTROLLER_IDENTITY",
    "CONTROLLER_LEASE",
    "EXCLUDED_NAMESPACES",
    "INSTALLED_COMPONENTS",
    "INSTALL_NAMESPACE",
    "INSTALL_PORT_NAMES",
    "METRICS_PORT",
    "PROMETHEUS",
    "WEBHOOK",
    "WEBHOOK_CONFIGURATION",
    "installed_args",
    "prometheus_args",
    "prometheus_config",
    "stand_in_crds",
    "webhook_configurations",
]

WEBHOOK: Final = "carbon-kube-webhook"
CONTROLLER: Final = "carbon-kube-controller"
# In start order: the webhook serves before anything is held, the controller then releases.
INSTALLED_COMPONENTS: Final = (WEBHOOK, CONTROLLER)
PROMETHEUS: Final = "prometheus"
METRICS_PORT: Final = "carbon-kube-controller-metrics"
INSTALL_PORT_NAMES: Final = (WEBHOOK, METRICS_PORT, PROMETHEUS)
# Where the controller's Lease lives, as the chart's release namespace would.
INSTALL_NAMESPACE: Final = "carbon-kube"
CONTROLLER_IDENTITY: Final = "lab-host"
CONTROLLER_LEASE: Final = "carbon-kube-controller"
WEBHOOK_CONFIGURATION: Final = "carbon-kube-lab"
# The chart's webhook.excludedNamespaces default plus its release namespace.
EXCLUDED_NAMESPACES: Final = ("kube-system", "kube-public", "kube-node-lease", INSTALL_NAMESPACE)


def installed_args(
    install: InstallSettings, pki: LabPki, ports: dict[str, int], paths: LabPaths
) -> dict[str, list[str]]:
    """Each installed component's argv after the interpreter, by component name."""
    lab = f"--lab-state-dir={paths.state_dir}"
    return {
        WEBHOOK: [
            "-m",
            "carbon_kube",
            "webhook",
            "serve",
            "--host=127.0.0.1",
            f"--port={ports[WEBHOOK]}",
            f"--tls-cert={pki.webhook_cert}",
            f"--tls-key={pki.webhook_key}",
            f"--home-zone={install.home_zone}",
            lab,
        ],
        CONTROLLER: [
            "-m",
            "carbon_kube",
            "controller",
            "run",
            lab,
            f"--lease-namespace={INSTALL_NAMESPACE}",
            f"--lease-name={CONTROLLER_LEASE}",
            f"--identity={CONTROLLER_IDENTITY}",
            f"--metrics-port={ports[METRICS_PORT]}",
            f"--replan-home-zone={install.home_zone}",
        ],
    }


def prometheus_config(pki: LabPki, ports: dict[str, int]) -> dict[str, Any]:
    """Scrape the webhook (HTTPS, the lab CA) and the controller every second.

    What the chart's pod annotations ask a cluster's Prometheus to do, at a lab's pace.
    """
    return {
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "scrape_configs": [
            {
                "job_name": WEBHOOK,
                "scheme": "https",
                "tls_config": {"ca_file": str(pki.ca_cert)},
                "static_configs": [{"targets": [f"127.0.0.1:{ports[WEBHOOK]}"]}],
            },
            {
                "job_name": CONTROLLER,
                "static_configs": [{"targets": [f"127.0.0.1:{ports[METRICS_PORT]}"]}],
            },
        ],
    }


def prometheus_args(config: Path, data: Path, ports: dict[str, int]) -> list[str]:
    return [
        f"--config.file={config}",
        f"--storage.tsdb.path={data}",
        f"--web.listen-address=127.0.0.1:{ports[PROMETHEUS]}",
        "--log.level=warn",
    ]


def _rules() -> list[dict[str, Any]]:
    """CREATE of every kind in the registry, as the chart's webhook entries list them."""
    return [
        {
            "apiGroups": [adapter.api.group],
            "apiVersions": [adapter.api.version],
            "resources": [adapter.api.plural],
            "operations": ["CREATE"],
        }
        for adapter in KINDS.values()
    ]


def _entries(url: str, ca_pem: bytes, verb: str) -> list[dict[str, Any]]:
    """One entry for objects that opt in by label, one for objects in opted-in namespaces."""
    not_excluded = {
        "key": "kubernetes.io/metadata.name",
        "operator": "NotIn",
        "values": list(EXCLUDED_NAMESPACES),
    }
    scopes = {
        "object": (
            {"matchExpressions": [not_excluded]},
            {"matchLabels": {FLEXIBLE_LABEL: "true"}},
            f"/{verb}",
        ),
        "namespace": (
            {
                "matchExpressions": [
                    not_excluded,
                    {"key": FLEXIBLE_LABEL, "operator": "In", "values": ["true"]},
                ]
            },
            {
                "matchExpressions": [
                    {"key": FLEXIBLE_LABEL, "operator": "NotIn", "values": ["true"]}
                ]
            },
            f"/{verb}/namespace",
        ),
    }
    entries = []
    for scope, (namespace_selector, object_selector, path) in scopes.items():
        entry: dict[str, Any] = {
            "name": f"{scope}.{verb}.carbon-kube.io",
            "admissionReviewVersions": ["v1"],
            "sideEffects": "None",
            # As the chart: a webhook that is down admits workloads unheld.
            "failurePolicy": "Ignore",
            "timeoutSeconds": 5,
            "clientConfig": {
                "url": f"{url}{path}",
                "caBundle": base64.b64encode(ca_pem).decode(),
            },
            "namespaceSelector": namespace_selector,
            "objectSelector": object_selector,
            "rules": _rules(),
        }
        if verb == "mutate":
            entry["reinvocationPolicy"] = "Never"
        entries.append(entry)
    return entries


def webhook_configurations(url: str, ca_pem: bytes) -> list[dict[str, Any]]:
    """The Mutating- and ValidatingWebhookConfiguration for a webhook served at ``url``."""
    return [
        {
            "apiVersion": "admissionregistration.k8s.io/v1",
            "kind": kind,
            "metadata": {"name": WEBHOOK_CONFIGURATION},
            "webhooks": _entries(url, ca_pem, verb),
        }
        for kind, verb in (
            ("MutatingWebhookConfiguration", "mutate"),
            ("ValidatingWebhookConfiguration", "validate"),
        )
    ]


def stand_in_crds() -> list[dict[str, Any]]:
    """The lab's structural SparkApplication and FlinkDeployment CRDs (package data).

    Stand-ins, not upstream's: the Go module proxy refuses the Spark operator's module and the
    Flink operator is a Java project (docs/enforcement.md). They type only the fields
    Carbon-Kube touches and preserve the rest, so the examples apply as written.
    """
    return [yaml.safe_load(text) for text in yaml_texts("crds", "CRD")]
