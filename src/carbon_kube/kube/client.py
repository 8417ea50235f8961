"""The one place in Carbon-Kube that imports the ``kubernetes`` client library.

Everything else talks to the API through :class:`KubeClient`, which exchanges plain JSON
objects (``dict``) with the apiserver. Why raw JSON rather than the generated model classes:
the models cost a lot of CPU to (de)serialise (they would dominate the 10,000-pod lab
benchmark on two cores), they drop fields they do not know, and JSON objects are what the
domain converters and the tests' builders produce anyway.

This module must not contain scheduling or carbon logic; it moves objects, nothing more.
Errors come out as :class:`KubeApiError` (with the HTTP status) so callers can tell a
missing object (404) or a conflict (409) from a broken connection.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final, Literal
from urllib.parse import quote, urlencode

import kubernetes.client
import kubernetes.config
import urllib3.exceptions

__all__ = [
    "JsonObject",
    "KubeApiError",
    "KubeClient",
    "PatchType",
    "ResourcePath",
]

JsonObject = dict[str, Any]
PatchType = Literal["merge", "strategic", "json"]

_PATCH_CONTENT_TYPES: Final[Mapping[PatchType, str]] = {
    "merge": "application/merge-patch+json",
    "strategic": "application/strategic-merge-patch+json",
    "json": "application/json-patch+json",
}


class KubeApiError(Exception):
    """The apiserver answered with a non-2xx status (``status``) or could not be reached (0)."""

    def __init__(self, status: int, method: str, path: str, body: str) -> None:
        self.status = status
        self.method = method
        self.path = path
        self.body = body
        super().__init__(f"{method} {path} -> HTTP {status}: {body[:500]}")

    @property
    def is_not_found(self) -> bool:
        """True for 404, which callers usually treat as "already gone"."""
        return self.status == 404

    @property
    def is_conflict(self) -> bool:
        """True for 409 (exists already, or a stale resourceVersion)."""
        return self.status == 409


@dataclass(frozen=True)
class ResourcePath:
    """Where a kind lives in the REST API, e.g. ``ResourcePath("api/v1", "pods")``.

    ``group_version`` is ``api/v1`` for the core group and ``apis/<group>/<version>``
    otherwise; ``namespaced`` decides whether a namespace segment is inserted.
    """

    group_version: str
    plural: str
    namespaced: bool = True

    def collection(self, namespace: str | None = None) -> str:
        """The collection URL path, across all namespaces when ``namespace`` is None."""
        if self.namespaced and namespace is not None:
            return f"/{self.group_version}/namespaces/{quote(namespace)}/{self.plural}"
        return f"/{self.group_version}/{self.plural}"

    def item(self, name: str, namespace: str | None = None) -> str:
        """The URL path of one named object."""
        return f"{self.collection(namespace)}/{quote(name)}"


PODS: Final = ResourcePath("api/v1", "pods")
NODES: Final = ResourcePath("api/v1", "nodes", namespaced=False)
NAMESPACES: Final = ResourcePath("api/v1", "namespaces", namespaced=False)
SERVICE_ACCOUNTS: Final = ResourcePath("api/v1", "serviceaccounts")
EVENTS: Final = ResourcePath("api/v1", "events")
JOBS: Final = ResourcePath("apis/batch/v1", "jobs")


class KubeClient:
    """A thin JSON client for one apiserver, configured from a kubeconfig file.

    Not thread-safe for reconfiguration, but concurrent requests from several threads are
    fine: the underlying urllib3 pool is (``pool_maxsize`` connections).
    """

    def __init__(self, api_client: kubernetes.client.ApiClient) -> None:
        self._api = api_client

    @classmethod
    def from_kubeconfig(cls, kubeconfig: Path, *, pool_maxsize: int = 16) -> KubeClient:
        """Build a client from a kubeconfig file (its current context)."""
        configuration = kubernetes.client.Configuration()
        kubernetes.config.load_kube_config(  # type: ignore[no-untyped-call]  # untyped upstream
            config_file=str(kubeconfig), client_configuration=configuration
        )
        # A larger pool lets benchmark threads create objects concurrently.
        configuration.connection_pool_maxsize = pool_maxsize
        return cls(kubernetes.client.ApiClient(configuration))

    def close(self) -> None:
        """Release the connection pool."""
        self._api.close()  # type: ignore[no-untyped-call]  # untyped upstream

    def __enter__(self) -> KubeClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- generic verbs ---------------------------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        *,
        body: object | None = None,
        query: Mapping[str, str | int | bool] | None = None,
        content_type: str = "application/json",
        timeout_s: float = 60.0,
    ) -> JsonObject:
        """Send one request and return the decoded JSON answer; raise on any non-2xx status."""
        url_path = path
        if query:
            encoded = {
                k: (str(v).lower() if isinstance(v, bool) else str(v)) for k, v in query.items()
            }
            url_path = f"{path}?{urlencode(encoded)}"
        headers = {"Accept": "application/json", "Content-Type": content_type}
        method_, url, header_params, body_, post_params = self._api.param_serialize(
            method=method,
            resource_path=url_path,
            header_params=headers,
            body=body,
            auth_settings=["BearerToken"],
        )
        try:
            response = self._api.call_api(
                method_, url, header_params, body_, post_params, _request_timeout=timeout_s
            )
            raw = response.read()  # type: ignore[no-untyped-call]  # untyped upstream
        except kubernetes.client.ApiException as exc:
            raise KubeApiError(int(exc.status or 0), method, path, str(exc.reason)) from exc
        except OSError as exc:  # urllib3 raises subclasses of OSError for refused connections
            raise KubeApiError(0, method, path, str(exc)) from exc
        text = raw.decode("utf-8") if isinstance(raw, bytes) else str(raw or "")
        if not 200 <= response.status < 300:
            raise KubeApiError(response.status, method, path, text)
        if not text:
            return {}
        decoded = json.loads(text)
        if not isinstance(decoded, dict):
            raise KubeApiError(
                response.status, method, path, f"expected a JSON object, got {text[:200]}"
            )
        return decoded

    def get_raw(self, path: str, *, timeout_s: float = 10.0) -> str:
        """GET a non-JSON endpoint such as ``/readyz`` and return its body text."""
        method_, url, header_params, body_, post_params = self._api.param_serialize(
            method="GET", resource_path=path, header_params={}, auth_settings=["BearerToken"]
        )
        try:
            response = self._api.call_api(
                method_, url, header_params, body_, post_params, _request_timeout=timeout_s
            )
            raw = response.read()  # type: ignore[no-untyped-call]  # untyped upstream
        except kubernetes.client.ApiException as exc:
            raise KubeApiError(int(exc.status or 0), "GET", path, str(exc.reason)) from exc
        except OSError as exc:
            raise KubeApiError(0, "GET", path, str(exc)) from exc
        text = raw.decode("utf-8") if isinstance(raw, bytes) else str(raw or "")
        if response.status != 200:
            raise KubeApiError(response.status, "GET", path, text)
        return text

    # -- typed conveniences ----------------------------------------------------------------

    def create(
        self, resource: ResourcePath, obj: JsonObject, namespace: str | None = None
    ) -> JsonObject:
        """POST ``obj`` to its collection."""
        return self.request("POST", resource.collection(namespace), body=obj)

    def get(self, resource: ResourcePath, name: str, namespace: str | None = None) -> JsonObject:
        """GET one object; raises :class:`KubeApiError` with status 404 when it is missing."""
        return self.request("GET", resource.item(name, namespace))

    def list(
        self,
        resource: ResourcePath,
        namespace: str | None = None,
        *,
        label_selector: str | None = None,
        field_selector: str | None = None,
    ) -> list[JsonObject]:
        """List objects, following ``continue`` tokens so large collections come back whole."""
        items: list[JsonObject] = []
        query: dict[str, str | int | bool] = {"limit": 500}
        if label_selector:
            query["labelSelector"] = label_selector
        if field_selector:
            query["fieldSelector"] = field_selector
        while True:
            page = self.request("GET", resource.collection(namespace), query=query)
            items.extend(page.get("items") or [])
            token = (page.get("metadata") or {}).get("continue")
            if not token:
                return items
            query["continue"] = token

    def patch(
        self,
        resource: ResourcePath,
        name: str,
        patch: object,
        namespace: str | None = None,
        *,
        patch_type: PatchType = "merge",
        subresource: str | None = None,
    ) -> JsonObject:
        """PATCH one object (optionally a subresource such as ``status``)."""
        path = resource.item(name, namespace)
        if subresource:
            path = f"{path}/{subresource}"
        return self.request(
            "PATCH", path, body=patch, content_type=_PATCH_CONTENT_TYPES[patch_type]
        )

    def delete(
        self,
        resource: ResourcePath,
        name: str,
        namespace: str | None = None,
        *,
        propagation_policy: Literal["Foreground", "Background", "Orphan"] = "Background",
        missing_ok: bool = True,
    ) -> None:
        """DELETE one object; a missing object is fine unless ``missing_ok`` is False."""
        body = {
            "kind": "DeleteOptions",
            "apiVersion": "v1",
            "propagationPolicy": propagation_policy,
        }
        try:
            self.request("DELETE", resource.item(name, namespace), body=body)
        except KubeApiError as exc:
            if not (missing_ok and exc.is_not_found):
                raise

    def watch(
        self,
        resource: ResourcePath,
        namespace: str | None = None,
        *,
        resource_version: str | None = None,
        timeout_s: int = 300,
        label_selector: str | None = None,
    ) -> Iterator[JsonObject]:
        """Stream watch events (``{"type": ..., "object": ...}``) until the server ends it.

        The server closes the stream after ``timeout_s``; callers re-watch from the last
        ``resourceVersion`` they saw. A 410 Gone arrives as an ``ERROR`` event, not an exception.
        """
        query: dict[str, str | int | bool] = {"watch": True, "timeoutSeconds": timeout_s}
        if resource_version:
            query["resourceVersion"] = resource_version
        if label_selector:
            query["labelSelector"] = label_selector
        encoded = {k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in query.items()}
        path = f"{resource.collection(namespace)}?{urlencode(encoded)}"
        method_, url, header_params, body_, post_params = self._api.param_serialize(
            method="GET",
            resource_path=path,
            header_params={"Accept": "application/json"},
            auth_settings=["BearerToken"],
        )
        try:
            response = self._api.call_api(
                method_, url, header_params, body_, post_params, _request_timeout=timeout_s + 30
            )
        except kubernetes.client.ApiException as exc:
            raise KubeApiError(int(exc.status or 0), "GET", path, str(exc.reason)) from exc
        except OSError as exc:
            raise KubeApiError(0, "GET", path, str(exc)) from exc
        if response.status != 200:
            raise KubeApiError(response.status, "GET", path, str(response.read()))  # type: ignore[no-untyped-call]  # untyped upstream
        stream = response.response  # the urllib3 response, not yet read
        pending = b""
        try:
            for chunk in stream.stream(65536):
                pending += chunk
                *lines, pending = pending.split(b"\n")
                for line in lines:
                    if line.strip():
                        yield json.loads(line)
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            # The stream broke (apiserver restarted, connection cut mid-chunk): the same error
            # as an unreachable server, so a caller's retry path handles both.
            raise KubeApiError(0, "GET", path, f"watch stream broken: {exc}") from exc
        finally:
            stream.release_conn()

    def server_version(self) -> JsonObject:
        """The apiserver's ``/version`` answer (gitVersion etc.)."""
        return self.request("GET", "/version")
