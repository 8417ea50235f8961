"""Install the lab's minimal Spark and Flink CRDs (carbon_kube/lab/crds) and wait until they serve.

Several test modules install the same CRDs and delete them when they finish; a CRD being deleted
still answers 409 on create, so a module that starts right after another waits for the old one
to be gone before creating its own.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from carbon_kube.kube.client import KubeApiError, KubeClient, ResourcePath
from carbon_kube.lab.control_plane import wait_for
from carbon_kube.lab.install import stand_in_crds
from tests.integration.kube_objects import condition

CRDS = ResourcePath("apis/apiextensions.k8s.io/v1", "customresourcedefinitions", namespaced=False)


def install_crds(kube: KubeClient, timeout: timedelta) -> list[str]:
    """Create the lab's stand-in CRDs (an existing live one is reused); their names."""
    return install(kube, stand_in_crds(), timeout)


def install(kube: KubeClient, crds: list[dict[str, Any]], timeout: timedelta) -> list[str]:
    """Create ``crds`` (an existing live one is reused) and wait until all serve; their names."""
    names = []
    for crd in crds:
        name = crd["metadata"]["name"]
        names.append(name)

        def created(crd: dict[str, Any] = crd, name: str = name) -> bool:
            try:
                kube.create(CRDS, crd)
            except KubeApiError as error:
                if not error.is_conflict:
                    raise
                # Exists: usable unless it is on its way out (or gone since the 409).
                try:
                    existing = kube.get(CRDS, name)
                except KubeApiError as missing:
                    if missing.is_not_found:
                        return False
                    raise
                return "deletionTimestamp" not in existing["metadata"]
            return True

        wait_for(created, timeout, f"CRD {name} created")

    def established() -> bool:
        return all(
            (condition(kube.get(CRDS, name), "Established") or {}).get("status") == "True"
            for name in names
        )

    wait_for(established, timeout, f"CRDs {names} established")
    return names


def remove_crds(kube: KubeClient, names: list[str]) -> None:
    for name in names:
        kube.delete(CRDS, name)
