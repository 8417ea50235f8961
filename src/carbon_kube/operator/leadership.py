"""Leader election over a ``coordination.k8s.io/v1`` Lease, so two replicas are safe.

Only the holder of the Lease runs the controller; a standby polls every ``retry_period`` and
takes over once the holder has not renewed for ``lease_duration``. The holder renews every
``renew_period``; if it cannot renew before its own lease would expire it stops leading (the
process exits and its Deployment restarts it as a standby), so two replicas never act at once
for longer than clock skew. Updates carry ``metadata.resourceVersion``, so of two standbys
racing for an expired Lease exactly one wins (the other gets 409 Conflict).

Lease times are real wall-clock instants (``now`` is injected), never the lab's virtual
clock: the Lease is read by every replica and must mean the same to all of them.
:func:`lease_decision` is the pure part; :class:`LeaseElector` does the API calls.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from carbon_kube.domain.instants import Precision, format_rfc3339
from carbon_kube.kube.client import JsonObject, KubeApiError, KubeClient
from carbon_kube.kube.resources import LEASES

__all__ = ["LeaseDecision", "LeaseElector", "LeaseSettings", "lease_decision"]

_log = logging.getLogger(__name__)


class LeaseDecision(StrEnum):
    RENEW = "renew"  # we hold it
    TAKE = "take"  # free or expired
    WAIT = "wait"  # someone else holds a live lease


@dataclass(frozen=True, slots=True)
class LeaseSettings:
    """Where the Lease lives and how long leadership lasts without renewal."""

    namespace: str = "carbon-kube"
    name: str = "carbon-kube-controller"
    lease_duration: timedelta = timedelta(seconds=15)
    renew_period: timedelta = timedelta(seconds=5)
    retry_period: timedelta = timedelta(seconds=2)

    def __post_init__(self) -> None:
        if not self.renew_period < self.lease_duration:
            raise ValueError("renew_period must be shorter than lease_duration")


def _parse_micro_time(text: object) -> datetime | None:
    if not isinstance(text, str) or not text:
        return None
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)
    except ValueError:
        return None


def format_micro_time(instant: datetime) -> str:
    """Kubernetes MicroTime: RFC 3339 with microseconds, UTC."""
    return format_rfc3339(instant, Precision.MICROSECONDS)


def lease_decision(spec: Mapping[str, Any] | None, identity: str, now: datetime) -> LeaseDecision:
    """What ``identity`` should do with a Lease whose ``spec`` it just read, at ``now``.

    A Lease without a holder, without a renew time, or not renewed within its duration is
    free; an unreadable renew time counts as expired (it cannot prove the holder is alive).
    """
    values = spec or {}
    holder = values.get("holderIdentity")
    if holder == identity:
        return LeaseDecision.RENEW
    if not holder:
        return LeaseDecision.TAKE
    renewed = _parse_micro_time(values.get("renewTime"))
    duration_s = values.get("leaseDurationSeconds")
    if renewed is None or not isinstance(duration_s, int):
        return LeaseDecision.TAKE
    if now >= renewed + timedelta(seconds=duration_s):
        return LeaseDecision.TAKE
    return LeaseDecision.WAIT


class LeaseElector:
    """Acquire, renew and release one Lease for ``identity`` (see the module docstring)."""

    def __init__(
        self,
        client: KubeClient,
        identity: str,
        settings: LeaseSettings,
        *,
        now: Callable[[], datetime],
    ) -> None:
        self._client = client
        self._identity = identity
        self._settings = settings
        self._now = now

    @property
    def identity(self) -> str:
        return self._identity

    def try_acquire_or_renew(self) -> bool:
        """One round: True when we hold the Lease afterwards. API errors mean False."""
        settings = self._settings
        now = self._now()
        try:
            lease = self._client.get(LEASES, settings.name, settings.namespace)
        except KubeApiError as error:
            if not error.is_not_found:
                _log.warning("cannot read Lease %s: %s", settings.name, error)
                return False
            return self._create(now)
        spec = lease.get("spec") or {}
        decision = lease_decision(spec, self._identity, now)
        if decision is LeaseDecision.WAIT:
            return False
        new_spec = dict(spec)
        new_spec.update(
            holderIdentity=self._identity,
            leaseDurationSeconds=int(settings.lease_duration.total_seconds()),
            renewTime=format_micro_time(now),
        )
        if decision is LeaseDecision.TAKE:
            new_spec["acquireTime"] = format_micro_time(now)
            new_spec["leaseTransitions"] = int(spec.get("leaseTransitions") or 0) + 1
        return self._replace(lease, new_spec)

    def release(self) -> None:
        """Give the Lease up at shutdown so a standby takes over at once (best effort)."""
        settings = self._settings
        try:
            lease = self._client.get(LEASES, settings.name, settings.namespace)
        except KubeApiError:
            return
        spec = dict(lease.get("spec") or {})
        if spec.get("holderIdentity") != self._identity:
            return
        spec["holderIdentity"] = None
        self._replace(lease, spec)

    def _create(self, now: datetime) -> bool:
        settings = self._settings
        body: JsonObject = {
            "apiVersion": "coordination.k8s.io/v1",
            "kind": "Lease",
            "metadata": {"name": settings.name, "namespace": settings.namespace},
            "spec": {
                "holderIdentity": self._identity,
                "leaseDurationSeconds": int(settings.lease_duration.total_seconds()),
                "acquireTime": format_micro_time(now),
                "renewTime": format_micro_time(now),
                "leaseTransitions": 0,
            },
        }
        try:
            self._client.create(LEASES, body, settings.namespace)
        except KubeApiError as error:
            if not error.is_conflict:
                _log.warning("cannot create Lease %s: %s", settings.name, error)
            return False
        return True

    def _replace(self, lease: JsonObject, spec: JsonObject) -> bool:
        settings = self._settings
        body = {**lease, "spec": spec}
        try:
            self._client.request("PUT", LEASES.item(settings.name, settings.namespace), body=body)
        except KubeApiError as error:
            if not error.is_conflict:
                _log.warning("cannot update Lease %s: %s", settings.name, error)
            return False
        return True
