"""Follow a set of objects: list them, then watch for changes, forever, re-listing when needed.

A minimal informer for the few objects a server keeps in memory (the published zone signals):
``follow`` calls ``on_change(name, obj)`` for every object present or changed and
``on_change(name, None)`` for one deleted, from a list first (so a restarted process starts
from what is there) and then from a watch resumed at the last ``resourceVersion``. A 410 Gone
or a broken connection starts over with a fresh list after ``retry_s``. Moves objects only; what
they mean is the caller's.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from carbon_kube.kube.client import JsonObject, KubeApiError, KubeClient, ResourcePath

__all__ = ["follow", "follow_in_thread"]

_log = logging.getLogger(__name__)

OnChange = Callable[[str, JsonObject | None], None]


def follow(
    client: KubeClient,
    resource: ResourcePath,
    namespace: str,
    on_change: OnChange,
    stop: threading.Event,
    *,
    label_selector: str | None = None,
    watch_timeout_s: int = 300,
    retry_s: float = 2.0,
) -> None:
    """List then watch until ``stop`` is set (see the module docstring)."""
    while not stop.is_set():
        try:
            version: str | None = _list(client, resource, namespace, on_change, label_selector)
            while not stop.is_set() and version is not None:
                version = _watch(
                    client, resource, namespace, on_change, label_selector, version, watch_timeout_s
                )
        except KubeApiError as error:
            _log.warning("following %s in %s: %s; retrying", resource.plural, namespace, error)
        stop.wait(retry_s)


def follow_in_thread(
    client: KubeClient,
    resource: ResourcePath,
    namespace: str,
    on_change: OnChange,
    *,
    label_selector: str | None = None,
) -> threading.Event:
    """``follow`` on a daemon thread; set the returned event to stop it."""
    stop = threading.Event()
    thread = threading.Thread(
        target=follow,
        args=(client, resource, namespace, on_change, stop),
        kwargs={"label_selector": label_selector},
        name=f"follow-{resource.plural}",
        daemon=True,
    )
    thread.start()
    return stop


def _list(
    client: KubeClient,
    resource: ResourcePath,
    namespace: str,
    on_change: OnChange,
    label_selector: str | None,
) -> str:
    query: dict[str, str | int | bool] = {}
    if label_selector:
        query["labelSelector"] = label_selector
    page = client.request("GET", resource.collection(namespace), query=query)
    for item in page.get("items") or []:
        on_change(str((item.get("metadata") or {}).get("name", "")), item)
    return str((page.get("metadata") or {}).get("resourceVersion", ""))


def _watch(
    client: KubeClient,
    resource: ResourcePath,
    namespace: str,
    on_change: OnChange,
    label_selector: str | None,
    version: str,
    timeout_s: int,
) -> str | None:
    """Apply one watch stream's events; the version to resume at, or None to re-list."""
    for event in client.watch(
        resource,
        namespace,
        resource_version=version,
        timeout_s=timeout_s,
        label_selector=label_selector,
    ):
        kind = event.get("type")
        obj = event.get("object") or {}
        if kind == "ERROR":
            return None  # 410 Gone (the version is too old): start over from a list
        metadata = obj.get("metadata") or {}
        name = str(metadata.get("name", ""))
        on_change(name, None if kind == "DELETED" else obj)
        version = str(metadata.get("resourceVersion", version))
    return version
