"""AdmissionReview ``admission.k8s.io/v1`` wire types, strict enough to refuse garbage.

The apiserver sends ``{"apiVersion", "kind": "AdmissionReview", "request": {...}}`` and
expects the same envelope back with ``response`` instead of ``request``. Field names and
meanings follow k8s.io/api/admission/v1 exactly (camelCase JSON keys).

Strictness: unknown keys in the envelope and in ``request`` are refused (``extra="forbid"``),
so a body that is not an AdmissionReview gets a 400 naming the unexpected field rather than
an "allowed" answer to a question nobody asked. The objects themselves (``object``,
``oldObject``) are free-form JSON: the webhook reads the few fields it needs and passes the
rest through untouched. Should a future apiserver add a request field, the 400 is answered
by the apiserver's ``failurePolicy: Ignore`` (the workload is admitted unchanged) and shows
up in ``carbon_kube_webhook_requests_total{code="400"}``; the test suite runs against the
real apiserver of the version the lab builds.
"""

from __future__ import annotations

import base64
import json
from typing import Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field

API_VERSION: Final = "admission.k8s.io/v1"
KIND: Final = "AdmissionReview"

# Requests are parsed from the apiserver's JSON: strict types, camelCase keys only.
_STRICT_IN = ConfigDict(extra="forbid", frozen=True, strict=True)
# Responses are built in Python by field name and dumped by alias.
_STRICT = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class GroupVersionKind(BaseModel):
    model_config = _STRICT_IN

    group: str
    version: str
    kind: str


class GroupVersionResource(BaseModel):
    model_config = _STRICT_IN

    group: str
    version: str
    resource: str


class AdmissionRequest(BaseModel):
    """What is being admitted; ``object`` is absent for DELETE, ``oldObject`` for CREATE."""

    model_config = _STRICT_IN

    uid: str = Field(min_length=1, max_length=256)
    kind: GroupVersionKind
    resource: GroupVersionResource
    sub_resource: str | None = Field(default=None, alias="subResource")
    request_kind: GroupVersionKind | None = Field(default=None, alias="requestKind")
    request_resource: GroupVersionResource | None = Field(default=None, alias="requestResource")
    request_sub_resource: str | None = Field(default=None, alias="requestSubResource")
    name: str | None = None
    namespace: str | None = None
    operation: Literal["CREATE", "UPDATE", "DELETE", "CONNECT"]
    user_info: dict[str, Any] = Field(alias="userInfo")
    object: dict[str, Any] | None = None
    old_object: dict[str, Any] | None = Field(default=None, alias="oldObject")
    dry_run: bool | None = Field(default=None, alias="dryRun")
    options: dict[str, Any] | None = None


class AdmissionReviewRequest(BaseModel):
    """The envelope the apiserver POSTs."""

    model_config = _STRICT_IN

    api_version: Literal["admission.k8s.io/v1"] = Field(alias="apiVersion")
    kind: Literal["AdmissionReview"]
    request: AdmissionRequest


class Status(BaseModel):
    """The ``metav1.Status`` subset shown to the user when a request is refused."""

    model_config = _STRICT

    code: int
    message: str
    reason: str | None = None


class AdmissionResponse(BaseModel):
    model_config = _STRICT

    uid: str
    allowed: bool
    status: Status | None = None
    patch: str | None = None  # base64 of a JSONPatch document
    patch_type: Literal["JSONPatch"] | None = Field(default=None, alias="patchType")
    warnings: list[str] | None = None

    @property
    def patch_operations(self) -> list[dict[str, Any]]:
        """The decoded JSONPatch (empty when nothing is patched)."""
        if self.patch is None:
            return []
        decoded: list[dict[str, Any]] = json.loads(base64.b64decode(self.patch))
        return decoded


class AdmissionReviewResponse(BaseModel):
    """The envelope returned to the apiserver."""

    model_config = _STRICT

    api_version: Literal["admission.k8s.io/v1"] = Field(default=API_VERSION, alias="apiVersion")
    kind: Literal["AdmissionReview"] = KIND
    response: AdmissionResponse

    def to_json(self) -> bytes:
        """Wire JSON: camelCase keys, no nulls (the apiserver ignores absent fields)."""
        return self.model_dump_json(by_alias=True, exclude_none=True).encode()


def allow(uid: str, *, warnings: list[str] | None = None) -> AdmissionReviewResponse:
    """Admit unchanged."""
    return AdmissionReviewResponse(
        response=AdmissionResponse(uid=uid, allowed=True, warnings=warnings or None)
    )


def allow_with_patch(
    uid: str, operations: list[dict[str, Any]], *, warnings: list[str] | None = None
) -> AdmissionReviewResponse:
    """Admit with a JSONPatch (an empty patch admits unchanged)."""
    if not operations:
        return allow(uid, warnings=warnings)
    encoded = base64.b64encode(json.dumps(operations, separators=(",", ":")).encode()).decode()
    return AdmissionReviewResponse(
        response=AdmissionResponse(
            uid=uid, allowed=True, patch=encoded, patch_type="JSONPatch", warnings=warnings or None
        )
    )


def deny(uid: str, message: str, *, code: int = 422) -> AdmissionReviewResponse:
    """Refuse with ``message`` shown to the user (kubectl prints it after "denied the request")."""
    return AdmissionReviewResponse(
        response=AdmissionResponse(
            uid=uid, allowed=False, status=Status(code=code, message=message, reason="Invalid")
        )
    )
