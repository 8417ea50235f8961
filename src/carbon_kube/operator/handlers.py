"""kopf wiring: which objects are watched and which :class:`Controller` method sees them.

Only watch-event handlers are registered (``@kopf.on.event``): they keep no state of their
own, write no kopf annotations, and add no finalizers, so the controller can watch 10,000
pods cheaply and a pod never waits for the controller to be deleted. Authentication comes from
the same kubeconfig (or in-cluster ServiceAccount) the :class:`KubeClient` uses.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import kopf

from carbon_kube.domain.workloads import WorkloadKind
from carbon_kube.kinds.registry import adapter_for
from carbon_kube.kube.connection import ApiConnection
from carbon_kube.operator.controller import Controller

__all__ = ["build_registry", "kopf_settings"]


def _raw(event: Any) -> dict[str, Any]:
    obj = event.get("object") if isinstance(event, dict) else None
    return obj if isinstance(obj, dict) else {}


def build_registry(
    controller: Controller,
    connect: Callable[[], ApiConnection],
    kinds: tuple[WorkloadKind, ...],
) -> kopf.OperatorRegistry:
    """A registry with a login handler, one event handler per held kind, and one for nodes.

    kopf logs in again on a 401; ``connect`` reads the credentials afresh each time, so a
    rotated ServiceAccount token (projected tokens expire) is picked up.
    """
    registry = kopf.OperatorRegistry()

    @kopf.on.login(registry=registry)
    def login(**_: Any) -> kopf.ConnectionInfo:
        connection = connect()
        return kopf.ConnectionInfo(
            server=connection.server,
            token=connection.token,
            scheme="Bearer" if connection.token else None,
            ca_path=connection.ca_path,
            certificate_path=connection.certificate_path,
            private_key_path=connection.private_key_path,
            insecure=connection.insecure,
        )

    for kind in kinds:
        api = adapter_for(kind).api  # its kopf selector: (group, version, plural)

        async def on_workload(
            event: Any, type: str | None, _kind: WorkloadKind = kind, **_: Any
        ) -> None:
            controller.observe_workload(_kind, _raw(event), deleted=type == "DELETED")

        kopf.on.event(
            api.group, api.version, api.plural, id=f"observe-{api.plural}", registry=registry
        )(on_workload)

    @kopf.on.event("", "v1", "nodes", id="observe-nodes", registry=registry)
    async def on_node(event: Any, type: str | None, **_: Any) -> None:
        controller.observe_node(_raw(event), deleted=type == "DELETED")

    return registry


def kopf_settings() -> kopf.OperatorSettings:
    """Quiet, state-free kopf: no Kubernetes Events posted for our logs."""
    settings = kopf.OperatorSettings()
    settings.posting.enabled = False
    settings.watching.server_timeout = 300
    settings.watching.client_timeout = 330
    settings.networking.request_timeout = 60
    return settings
