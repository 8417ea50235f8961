"""Builders for the Kubernetes objects the lab tests create, so tests state only what matters."""

from __future__ import annotations

import copy
from datetime import timedelta
from typing import Any

from carbon_kube.lab.clock import VirtualClock

PAUSE_IMAGE = "registry.k8s.io/pause:3.10"  # never pulled: kwok fakes the kubelet


class PodBuilder:
    """``make_pod("p").gated("carbon-kube.dev/wait").annotated(k, v).build()``."""

    def __init__(self, name: str) -> None:
        self._pod: dict[str, Any] = {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {"name": name, "labels": {"app": "lab-test"}, "annotations": {}},
            "spec": {
                "restartPolicy": "Never",
                "containers": [
                    {
                        "name": "work",
                        "image": PAUSE_IMAGE,
                        "resources": {"requests": {"cpu": "100m", "memory": "64Mi"}},
                    }
                ],
            },
        }

    def gated(self, *gates: str) -> PodBuilder:
        self._pod["spec"]["schedulingGates"] = [{"name": gate} for gate in gates]
        return self

    def annotated(self, key: str, value: str) -> PodBuilder:
        self._pod["metadata"]["annotations"][key] = value
        return self

    def running_for(self, duration: timedelta, clock: VirtualClock) -> PodBuilder:
        """Declared run time in virtual time (only Job-owned pods complete, per kwok's stage)."""
        self._pod["metadata"]["annotations"].update(clock.kwok_duration_annotations(duration))
        return self

    def build(self) -> dict[str, Any]:
        return copy.deepcopy(self._pod)


def make_pod(name: str) -> PodBuilder:
    return PodBuilder(name)


class JobBuilder:
    """``make_job("j").running_for(2 * SECOND, clock).suspended().build()``."""

    def __init__(self, name: str) -> None:
        self._name = name
        self._template = make_pod("template")
        self._suspend = False
        self._parallelism = 1

    def running_for(self, duration: timedelta, clock: VirtualClock) -> JobBuilder:
        self._template.running_for(duration, clock)
        return self

    def suspended(self) -> JobBuilder:
        self._suspend = True
        return self

    def with_parallelism(self, pods: int) -> JobBuilder:
        self._parallelism = pods
        return self

    def build(self) -> dict[str, Any]:
        template = self._template.build()
        template["metadata"].pop("name")
        return {
            "apiVersion": "batch/v1",
            "kind": "Job",
            "metadata": {"name": self._name},
            "spec": {
                "suspend": self._suspend,
                "parallelism": self._parallelism,
                "completions": self._parallelism,
                "backoffLimit": 0,
                "template": template,
            },
        }


def make_job(name: str) -> JobBuilder:
    return JobBuilder(name)


def condition(obj: dict[str, Any], kind: str) -> dict[str, Any] | None:
    """The status condition of type ``kind``, or None."""
    for entry in (obj.get("status") or {}).get("conditions") or []:
        if entry.get("type") == kind:
            return dict(entry)
    return None


def job_is_complete(job: dict[str, Any]) -> bool:
    found = condition(job, "Complete")
    return found is not None and found.get("status") == "True"
