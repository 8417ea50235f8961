"""Reading plain-JSON Kubernetes objects defensively: a missing or mistyped field is empty.

Admission requests and watch events carry whatever the user wrote; a kind must never raise on
a field of the wrong type, so every read goes through :func:`mapping`. Pure, no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["condition_true", "dicts", "mapping", "metadata", "spec", "string_annotations"]


def mapping(value: object) -> Mapping[str, Any]:
    """``value`` when it is a mapping, else an empty one."""
    return value if isinstance(value, Mapping) else {}


def dicts(value: object) -> list[Mapping[str, Any]]:
    """The mappings in ``value`` when it is a list (others skipped), else none."""
    if not isinstance(value, list):
        return []
    return [item for item in value if isinstance(item, Mapping)]


def metadata(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    return mapping(obj.get("metadata"))


def spec(obj: Mapping[str, Any]) -> Mapping[str, Any]:
    return mapping(obj.get("spec"))


def string_annotations(obj: Mapping[str, Any]) -> dict[str, str]:
    """The object's annotations as strings (values the user typed as numbers included)."""
    return {str(k): str(v) for k, v in mapping(metadata(obj).get("annotations")).items()}


def condition_true(obj: Mapping[str, Any], *types: str) -> bool:
    """True when ``status.conditions`` has one of ``types`` with status ``"True"``."""
    conditions = dicts(mapping(obj.get("status")).get("conditions"))
    return any(c.get("type") in types and c.get("status") == "True" for c in conditions)
