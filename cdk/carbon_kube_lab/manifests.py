"""Kubernetes objects the lab applies, built from the repository's files at synth time.

Pure Python (no CDK), so it is unit-tested without a synth: Grafana dashboards become
ConfigMaps that kube-prometheus-stack's Grafana sidecar loads (label ``grafana_dashboard:
"1"``), and the sample workloads of examples/ are read as they are committed.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import yaml

DASHBOARD_LABEL = "grafana_dashboard"
MONITORING_NAMESPACE = "monitoring"
# ConfigMaps hold at most 1 MiB; the apiserver refuses larger ones at deploy time, so refuse
# them at synth time instead.
MAX_CONFIGMAP_BYTES = 1024 * 1024


def dashboard_configmaps(directory: Path) -> list[dict[str, Any]]:
    """One ConfigMap per ``*.json`` in ``directory`` (none when it is missing or empty).

    Each file must be a JSON object with a ``title`` (a Grafana dashboard); anything else
    fails the synth with the file's name, so a broken dashboard is caught before deploying.
    """
    if not directory.is_dir():
        return []
    configmaps = []
    for path in sorted(directory.glob("*.json")):
        text = path.read_text(encoding="utf-8")
        try:
            dashboard = json.loads(text)
        except json.JSONDecodeError as error:
            raise ValueError(f"{path}: not valid JSON ({error.msg}, line {error.lineno})") from None
        if not isinstance(dashboard, dict) or not dashboard.get("title"):
            raise ValueError(f"{path}: not a Grafana dashboard (a JSON object with a title)")
        if len(text.encode("utf-8")) > MAX_CONFIGMAP_BYTES:
            raise ValueError(f"{path}: larger than a ConfigMap can hold (1 MiB)")
        configmaps.append(
            {
                "apiVersion": "v1",
                "kind": "ConfigMap",
                "metadata": {
                    "name": "carbon-kube-dashboard-" + _dns_label(path.stem),
                    "namespace": MONITORING_NAMESPACE,
                    "labels": {DASHBOARD_LABEL: "1", "app.kubernetes.io/part-of": "carbon-kube"},
                },
                "data": {path.name: text},
            }
        )
    return configmaps


def load_examples(directory: Path, namespace: str) -> list[dict[str, Any]]:
    """Every object of ``directory/*.yaml``, placed in ``namespace``."""
    objects = []
    for path in sorted(directory.glob("*.yaml")):
        for document in yaml.safe_load_all(path.read_text(encoding="utf-8")):
            if document:
                document.setdefault("metadata", {})["namespace"] = namespace
                objects.append(document)
    return objects


def point_flink_state_at(objects: list[dict[str, Any]], bucket_uri: str) -> None:
    """Savepoints and checkpoints of every FlinkDeployment go under ``bucket_uri`` (s3://...)."""
    for obj in objects:
        if obj.get("kind") == "FlinkDeployment":
            config = obj["spec"].setdefault("flinkConfiguration", {})
            config["state.savepoints.dir"] = f"{bucket_uri}/flink/savepoints"
            config["state.checkpoints.dir"] = f"{bucket_uri}/flink/checkpoints"


def _dns_label(text: str) -> str:
    label = re.sub(r"[^a-z0-9-]+", "-", text.lower()).strip("-")
    return label[:40] or "dashboard"
