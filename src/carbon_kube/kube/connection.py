"""How to reach the apiserver: from a kubeconfig file or from inside a pod.

The controller runs kopf, which has its own HTTP client; it needs the server URL and
credentials as plain values (:class:`ApiConnection`), which only this package may read with
the ``kubernetes`` library. The same source builds a :class:`KubeClient` so both talk to the
same cluster with the same identity.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import kubernetes.client
import kubernetes.config

from carbon_kube.domain.errors import InputError
from carbon_kube.kube.client import KubeClient

__all__ = ["ApiConnection", "bearer_token", "client_for", "read_connection"]


@dataclass(frozen=True, slots=True)
class ApiConnection:
    """Server URL and credentials; file paths are absolute, missing parts are None."""

    server: str
    token: str | None
    ca_path: str | None
    certificate_path: str | None
    private_key_path: str | None
    insecure: bool


def _configuration(kubeconfig: Path | None) -> kubernetes.client.Configuration:
    """Load credentials; a missing or broken kubeconfig is the user's to fix (``InputError``)."""
    configuration = kubernetes.client.Configuration()
    try:
        if kubeconfig is None:
            # Inside a pod: the ServiceAccount token and CA mounted by the kubelet.
            kubernetes.config.load_incluster_config(  # type: ignore[no-untyped-call]  # untyped upstream
                client_configuration=configuration
            )
        else:
            kubernetes.config.load_kube_config(  # type: ignore[no-untyped-call]  # untyped upstream
                config_file=str(kubeconfig), client_configuration=configuration
            )
    except (kubernetes.config.ConfigException, OSError) as error:
        if kubeconfig is None:
            raise InputError(
                f"not running inside a cluster ({error}); pass --kubeconfig or set KUBECONFIG",
                field="--kubeconfig",
            ) from None
        raise InputError(f"cannot load kubeconfig: {error}", source=kubeconfig) from None
    return configuration


def bearer_token(authorization: str) -> str | None:
    """The token of an Authorization value, whatever the scheme's case.

    The kubernetes client stores ``Bearer <token>`` from a kubeconfig but ``bearer <token>``
    in-cluster; passing the latter on as a token made kopf send ``Bearer bearer ...`` (401).
    """
    scheme, _, value = authorization.strip().partition(" ")
    if scheme.lower() == "bearer":
        return value.strip() or None
    return authorization.strip() or None


def read_connection(kubeconfig: Path | None) -> ApiConnection:
    """Credentials from ``kubeconfig`` (its current context), or in-cluster when None."""
    configuration = _configuration(kubeconfig)
    token = bearer_token(str((configuration.api_key or {}).get("BearerToken") or ""))
    return ApiConnection(
        server=str(configuration.host),
        token=token,
        ca_path=configuration.ssl_ca_cert or None,
        certificate_path=configuration.cert_file or None,
        private_key_path=configuration.key_file or None,
        insecure=not configuration.verify_ssl,
    )


def client_for(kubeconfig: Path | None, *, pool_maxsize: int = 16) -> KubeClient:
    """A :class:`KubeClient` for the same cluster and identity as :func:`read_connection`."""
    configuration = _configuration(kubeconfig)
    configuration.connection_pool_maxsize = pool_maxsize
    return KubeClient(kubernetes.client.ApiClient(configuration))
