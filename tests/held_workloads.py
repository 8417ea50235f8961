"""Builders for held Kubernetes workloads (Pod, Job, SparkApplication, FlinkDeployment) as JSON.

``held_pod("p").planned(release_at=T0 + HOUR, zone="DE").build()`` gives a gated pod carrying
a plan; the same builder makes the other kinds held their own way.
"""

from __future__ import annotations

import copy
from datetime import datetime, timedelta
from typing import Any

from carbon_kube.domain.annotations import (
    DEADLINE,
    EXPECTED_DURATION,
    FLEXIBLE_LABEL,
    LATEST_START,
    MAX_DELAY,
    PLAN_ZONE,
    RELEASE_AT,
    SCHEDULING_GATE,
    format_duration,
    format_rfc3339,
)
from carbon_kube.domain.workloads import WorkloadKind


class HeldBuilder:
    def __init__(self, kind: WorkloadKind, name: str) -> None:
        self._kind = kind
        self._meta: dict[str, Any] = {
            "name": name,
            "namespace": "default",
            "labels": {FLEXIBLE_LABEL: "true"},
            "annotations": {},
            "creationTimestamp": "2022-01-01T00:00:00Z",
        }
        self._node_selector: dict[str, str] = {}
        self._status: dict[str, Any] = {}

    def planned(self, *, release_at: datetime, zone: str | None = None) -> HeldBuilder:
        self._meta["annotations"][RELEASE_AT] = format_rfc3339(release_at)
        if zone:
            self._meta["annotations"][PLAN_ZONE] = zone
        return self

    def latest_start(self, at: datetime) -> HeldBuilder:
        self._meta["annotations"][LATEST_START] = format_rfc3339(at)
        return self

    def deadline(self, at: datetime, expected: timedelta | None = None) -> HeldBuilder:
        self._meta["annotations"][DEADLINE] = format_rfc3339(at)
        if expected is not None:
            self._meta["annotations"][EXPECTED_DURATION] = format_duration(expected)
        return self

    def max_delay(self, delay: timedelta, expected: timedelta) -> HeldBuilder:
        self._meta["annotations"][MAX_DELAY] = format_duration(delay)
        self._meta["annotations"][EXPECTED_DURATION] = format_duration(expected)
        return self

    def annotated(self, key: str, value: str) -> HeldBuilder:
        self._meta["annotations"][key] = value
        return self

    def not_opted_in(self) -> HeldBuilder:
        self._meta["labels"].pop(FLEXIBLE_LABEL)
        return self

    def selecting(self, **selector: str) -> HeldBuilder:
        self._node_selector.update(selector)
        return self

    def started(self) -> HeldBuilder:
        self._status["startTime"] = "2022-01-01T00:00:00Z"
        return self

    def build(self) -> dict[str, Any]:
        meta = copy.deepcopy(self._meta)
        selector = dict(self._node_selector)
        pod_spec: dict[str, Any] = {"containers": [{"name": "work", "image": "pause"}]}
        if selector:
            pod_spec["nodeSelector"] = selector
        if self._kind is WorkloadKind.POD:
            spec = {**pod_spec, "schedulingGates": [{"name": SCHEDULING_GATE}]}
            return {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": spec}
        if self._kind is WorkloadKind.JOB:
            spec = {"suspend": True, "template": {"spec": pod_spec}}
            return {
                "apiVersion": "batch/v1",
                "kind": "Job",
                "metadata": meta,
                "spec": spec,
                "status": dict(self._status),
            }
        if self._kind is WorkloadKind.SPARK:
            spark_spec: dict[str, Any] = {"suspend": True, "type": "Scala"}
            if selector:
                spark_spec["nodeSelector"] = selector
            return {
                "apiVersion": "sparkoperator.k8s.io/v1beta2",
                "kind": "SparkApplication",
                "metadata": meta,
                "spec": spark_spec,
            }
        return {
            "apiVersion": "flink.apache.org/v1beta1",
            "kind": "FlinkDeployment",
            "metadata": meta,
            "spec": {"job": {"state": "suspended", "upgradeMode": "savepoint"}},
        }


def held_pod(name: str) -> HeldBuilder:
    return HeldBuilder(WorkloadKind.POD, name)


def held(kind: WorkloadKind, name: str) -> HeldBuilder:
    return HeldBuilder(kind, name)
