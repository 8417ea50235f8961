"""A stand-in for the Apache Flink Kubernetes Operator: FlinkDeployment status, nothing else.

No Flink operator can run here (a Java operator and Flink images; no package registry serves
them), so the lab tests pause and resume FlinkDeployments against this loop. It writes only the
status fields the operator documents, for the spec transitions Carbon-Kube causes; it starts no
JobManager and no pods. Each transition, and the operator documentation it imitates
(job-management: https://nightlies.apache.org/flink/flink-kubernetes-operator-docs-main/docs/custom-resource/job-management/,
status reference: https://nightlies.apache.org/flink/flink-kubernetes-operator-docs-main/docs/custom-resource/reference/):

* created with ``job.state: suspended``: not deployed ("If the job is submitted in suspend
  state, no need to reconcile"); ``lifecycleState: CREATED``.
* ``running`` for the first time, or ``suspended -> running`` ("Restore operation ... Restore
  from savepoint"): ``reconciliationStatus.state: DEPLOYED`` with the spec as
  ``lastReconciledSpec``, ``lifecycleState: DEPLOYED``, ``jobManagerDeploymentStatus:
  DEPLOYING``, ``jobStatus.state: RECONCILING``; after ``startup_s``: ``READY``, ``RUNNING``,
  ``STABLE``. A restore starts from ``jobStatus.upgradeSavepointPath`` (recorded in
  :attr:`restored_from`, which the real operator passes to Flink as the savepoint to restore).
* ``running -> suspended`` with ``upgradeMode: savepoint`` ("Cancel with savepoint"):
  ``reconciliationStatus.state: UPGRADING`` (``lifecycleState: UPGRADING``) with the pending
  savepoint in ``jobStatus.savepointInfo`` (``triggerId``, ``triggerTimestamp``); after
  ``savepoint_s``: ``jobStatus.state: FINISHED``, ``upgradeSavepointPath`` and
  ``savepointInfo.lastSavepoint`` (``triggerType: UPGRADE``), ``jobManagerDeploymentStatus:
  MISSING``, ``lifecycleState: SUSPENDED``.
* a job that cannot be savepointed (``savepoint_fails``): the operator logs "Job is not running
  and checkpoint information is not available for executing the upgrade, waiting for
  upgradeable state" and changes nothing; the job keeps running.

Status goes through the ``status`` subresource as a merge patch, as the operator's status
recorder does, with ``observedGeneration`` the spec generation it answers. API errors are kept
in :attr:`errors` (a lab without the status subresource would otherwise only time out).
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from carbon_kube.kube.client import KubeApiError, KubeClient
from carbon_kube.kube.resources import FLINK_DEPLOYMENTS

__all__ = ["FlinkOperatorStandIn"]


def _job_state(spec: Mapping[str, Any]) -> str:
    return str((spec.get("job") or {}).get("state") or "running")


@dataclass
class FlinkOperatorStandIn:
    """Reconciles the FlinkDeployments of one namespace in a daemon thread."""

    kube: KubeClient
    namespace: str
    startup_s: float = 1.0
    savepoint_s: float = 1.0
    savepoint_fails: bool = False
    poll_s: float = 0.2
    # Per deployment: the savepoint each (re)start restored from (None: empty state).
    restored_from: dict[str, list[str | None]] = field(default_factory=dict)
    # Per deployment: every lifecycleState written, in order.
    lifecycle: dict[str, list[str]] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    _due: dict[str, float] = field(default_factory=dict, init=False)
    _generation: int = field(default=0, init=False)
    _stop: threading.Event = field(default_factory=threading.Event, init=False)
    _thread: threading.Thread | None = field(default=None, init=False)

    def start(self) -> FlinkOperatorStandIn:
        self._thread = threading.Thread(target=self._run, name="flink-standin", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def _run(self) -> None:
        while not self._stop.wait(self.poll_s):
            try:
                for obj in self.kube.list(FLINK_DEPLOYMENTS, self.namespace):
                    self._reconcile(obj)
            except KubeApiError as error:
                self.errors.append(str(error))  # the next pass sees the newest objects

    def _reconcile(self, obj: Mapping[str, Any]) -> None:
        name = str(obj["metadata"]["name"])
        self._generation = int(obj["metadata"].get("generation") or 0)
        spec: Mapping[str, Any] = obj.get("spec") or {}
        status: Mapping[str, Any] = obj.get("status") or {}
        reconciled = (status.get("reconciliationStatus") or {}).get("lastReconciledSpec")
        desired = _job_state(spec)
        now = time.monotonic()
        if reconciled is None:
            if desired == "suspended":
                if status.get("lifecycleState") != "CREATED":
                    self._write(name, {"lifecycleState": "CREATED"})
                return
            self._deploy(name, spec, restore_from=None)
            return
        last = _job_state(json.loads(reconciled))
        job_status: Mapping[str, Any] = status.get("jobStatus") or {}
        if last == "running" and desired == "running":
            if job_status.get("state") == "RECONCILING" and now >= self._due.get(name, 0.0):
                self._write(
                    name,
                    {
                        "lifecycleState": "STABLE",
                        "jobManagerDeploymentStatus": "READY",
                        "jobStatus": {"state": "RUNNING", "startTime": str(int(time.time() * 1e3))},
                    },
                )
            return
        if last == "running" and desired == "suspended":
            self._suspend(name, spec, status, now)
            return
        if last == "suspended" and desired == "running":
            self._deploy(name, spec, restore_from=job_status.get("upgradeSavepointPath"))

    def _deploy(self, name: str, spec: Mapping[str, Any], restore_from: str | None) -> None:
        self.restored_from.setdefault(name, []).append(restore_from)
        self._due[name] = time.monotonic() + self.startup_s
        self._write(
            name,
            {
                "lifecycleState": "DEPLOYED",
                "jobManagerDeploymentStatus": "DEPLOYING",
                "reconciliationStatus": {
                    "state": "DEPLOYED",
                    "lastReconciledSpec": json.dumps(spec, sort_keys=True),
                },
                "jobStatus": {"state": "RECONCILING", "jobId": uuid.uuid4().hex},
            },
        )

    def _suspend(
        self, name: str, spec: Mapping[str, Any], status: Mapping[str, Any], now: float
    ) -> None:
        if (spec.get("job") or {}).get("upgradeMode") != "savepoint" or self.savepoint_fails:
            return  # only the savepoint mode is imitated; a failing savepoint changes nothing
        recon: Mapping[str, Any] = status.get("reconciliationStatus") or {}
        job_status: Mapping[str, Any] = status.get("jobStatus") or {}
        if recon.get("state") != "UPGRADING":
            self._due[name] = now + self.savepoint_s
            self._write(
                name,
                {
                    "lifecycleState": "UPGRADING",
                    "reconciliationStatus": {"state": "UPGRADING"},
                    "jobStatus": {
                        "savepointInfo": {
                            "triggerId": uuid.uuid4().hex,
                            "triggerTimestamp": int(time.time() * 1e3),
                        }
                    },
                },
            )
            return
        if now < self._due.get(name, 0.0):
            return
        info: Mapping[str, Any] = job_status.get("savepointInfo") or {}
        history = list(info.get("savepointHistory") or [])
        location = f"file:///flink-data/savepoints/{name}/savepoint-{len(history) + 1}"
        savepoint = {
            "timeStamp": info.get("triggerTimestamp") or int(time.time() * 1e3),
            "location": location,
            "triggerType": "UPGRADE",
            "formatType": "CANONICAL",
        }
        self._write(
            name,
            {
                "lifecycleState": "SUSPENDED",
                "jobManagerDeploymentStatus": "MISSING",
                "reconciliationStatus": {
                    "state": "DEPLOYED",
                    "lastReconciledSpec": json.dumps(spec, sort_keys=True),
                },
                "jobStatus": {
                    "state": "FINISHED",
                    "upgradeSavepointPath": location,
                    "savepointInfo": {
                        "triggerId": None,
                        "triggerTimestamp": None,
                        "lastSavepoint": savepoint,
                        "savepointHistory": [*history, savepoint],
                    },
                },
            },
        )

    def _write(self, name: str, status: dict[str, Any]) -> None:
        status["observedGeneration"] = self._generation
        self.kube.patch(
            FLINK_DEPLOYMENTS,
            name,
            {"status": status},
            self.namespace,
            patch_type="merge",
            subresource="status",
        )
        self.lifecycle.setdefault(name, []).append(str(status["lifecycleState"]))
