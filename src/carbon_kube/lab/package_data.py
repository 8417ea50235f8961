"""The YAML files shipped in a folder of ``carbon_kube.lab`` (kwok stages, stand-in CRDs).

One reader, so every folder is read in the same order and a missing one (a broken install)
says the same thing.
"""

from __future__ import annotations

from importlib import resources

from carbon_kube.domain.errors import CarbonKubeError

__all__ = ["yaml_texts"]


def yaml_texts(folder: str, what: str) -> list[str]:
    """The text of every ``*.yaml`` in ``carbon_kube/lab/<folder>``, sorted by file name."""
    directory = resources.files("carbon_kube.lab").joinpath(folder)
    texts = [
        entry.read_text()
        for entry in sorted(directory.iterdir(), key=lambda e: e.name)
        if entry.name.endswith(".yaml")
    ]
    if not texts:
        raise CarbonKubeError(
            f"no {what} files found in carbon_kube/lab/{folder}; reinstall the package "
            "(the YAML files are package data)."
        )
    return texts
