"""Builders for AdmissionReview and ExtenderArgs bodies (wire JSON, as the apiserver sends)."""

from __future__ import annotations

import copy
import uuid
from typing import Any

from carbon_kube.domain.annotations import FLEXIBLE_LABEL
from carbon_kube.webhook.reviews import AdmissionReviewResponse

_KINDS = {
    "Pod": ("", "v1", "pods"),
    "Job": ("batch", "v1", "jobs"),
    "SparkApplication": ("sparkoperator.k8s.io", "v1beta2", "sparkapplications"),
    "FlinkDeployment": ("flink.apache.org", "v1beta1", "flinkdeployments"),
    "Deployment": ("apps", "v1", "deployments"),
}


class ObjectBuilder:
    """``an_object("Job", "j").flexible().annotated(MAX_DELAY, "6h").review()``."""

    def __init__(self, kind: str, name: str) -> None:
        group, version, _ = _KINDS[kind]
        self.kind = kind
        self._obj: dict[str, Any] = {
            "apiVersion": f"{group}/{version}" if group else version,
            "kind": kind,
            "metadata": {"name": name, "namespace": "batch"},
            "spec": _default_spec(kind),
        }

    def flexible(self, value: str = "true") -> ObjectBuilder:
        self._obj["metadata"].setdefault("labels", {})[FLEXIBLE_LABEL] = value
        return self

    def annotated(self, key: str, value: str) -> ObjectBuilder:
        self._obj["metadata"].setdefault("annotations", {})[key] = value
        return self

    def with_spec(self, **fields: Any) -> ObjectBuilder:
        self._obj["spec"].update(fields)
        return self

    def owned_by_job(self, name: str = "j") -> ObjectBuilder:
        self._obj["metadata"]["ownerReferences"] = [
            {"apiVersion": "batch/v1", "kind": "Job", "name": name, "uid": "u", "controller": True}
        ]
        return self

    def build(self) -> dict[str, Any]:
        return copy.deepcopy(self._obj)

    def review(
        self, operation: str = "CREATE", old: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        group, version, resource = _KINDS[self.kind]
        request: dict[str, Any] = {
            "uid": str(uuid.uuid4()),
            "kind": {"group": group, "version": version, "kind": self.kind},
            "resource": {"group": group, "version": version, "resource": resource},
            "requestKind": {"group": group, "version": version, "kind": self.kind},
            "requestResource": {"group": group, "version": version, "resource": resource},
            "name": self._obj["metadata"]["name"],
            "namespace": "batch",
            "operation": operation,
            "userInfo": {"username": "alice", "groups": ["system:authenticated"]},
            "object": self.build(),
            "oldObject": old,
            "dryRun": False,
            "options": {"apiVersion": "meta.k8s.io/v1", "kind": "CreateOptions"},
        }
        return {"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": request}


def _default_spec(kind: str) -> dict[str, Any]:
    container = {
        "name": "work",
        "image": "registry.k8s.io/pause:3.10",
        "resources": {"requests": {"cpu": "1", "memory": "1Gi"}},
    }
    if kind == "Pod":
        return {"containers": [container]}
    if kind == "Job":
        return {"template": {"spec": {"containers": [container], "restartPolicy": "Never"}}}
    if kind == "SparkApplication":
        return {"type": "Python", "driver": {"cores": 1}, "executor": {"cores": 1, "instances": 2}}
    if kind == "FlinkDeployment":
        return {"job": {"jarURI": "local:///job.jar", "upgradeMode": "savepoint"}}
    return {}


def an_object(kind: str, name: str = "w") -> ObjectBuilder:
    return ObjectBuilder(kind, name)


def recorded_annotations(answer: AdmissionReviewResponse) -> dict[str, str]:
    """Annotations the webhook's patch adds, whether as one map or key by key."""
    recorded: dict[str, str] = {}
    for op in answer.response.patch_operations:
        if op["path"] == "/metadata/annotations":
            recorded.update(op["value"])
        elif op["path"].startswith("/metadata/annotations/") and op["op"] == "add":
            key = op["path"].removeprefix("/metadata/annotations/")
            recorded[key.replace("~1", "/").replace("~0", "~")] = op["value"]
    return recorded
