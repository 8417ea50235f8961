"""The contract every workload kind implements, and the values it hands back.

What a kind must answer: where it lives in the API (:class:`ApiCoordinates`), whether an object
is held, whether someone else holds it, the patch that holds it at admission, the patch that
releases it, and how big it is. Nothing here knows a particular kind; nothing here does I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, Protocol

from carbon_kube.domain.workloads import WorkloadKind

__all__ = [
    "ApiCoordinates",
    "JsonPatch",
    "KindAdapter",
    "PausableKind",
    "ReleasePatch",
    "ReleasePatchType",
]

JsonPatch = list[dict[str, Any]]
"""An RFC 6902 JSON patch, as an admission response carries it."""

ReleasePatchType = Literal["merge", "strategic"]


@dataclass(frozen=True, slots=True)
class ApiCoordinates:
    """Group, version, kind and plural of one API kind.

    Enough to match an admission request, build a REST path and register a kopf watch, so a
    kind's version is spelled in one place.
    """

    group: str
    version: str
    kind: str
    plural: str

    @property
    def api_version(self) -> str:
        """The object's ``apiVersion``: ``v1`` for the core group, ``group/version`` otherwise."""
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def rest_prefix(self) -> str:
        """``api/v1`` for the core group, ``apis/<group>/<version>`` otherwise."""
        return f"apis/{self.group}/{self.version}" if self.group else f"api/{self.version}"


@dataclass(frozen=True, slots=True)
class ReleasePatch:
    """One PATCH that releases a workload; ``zone`` is set when the selector was tightened."""

    body: dict[str, Any]
    patch_type: ReleasePatchType
    zone: str | None


class KindAdapter(Protocol):
    """How Carbon-Kube holds, releases and sizes one kind (one module per kind implements it).

    ``supports_pause`` says whether the kind can pause running work and resume it later with
    its own mechanism; a kind that can also implements :class:`PausableKind`.
    """

    @property
    def workload_kind(self) -> WorkloadKind:
        """The domain kind; its value labels every metric of this kind."""
        ...

    @property
    def api(self) -> ApiCoordinates:
        """Where the kind lives in the API (its only spelling of group and version)."""
        ...

    @property
    def supports_pause(self) -> bool: ...

    def is_held(self, obj: Mapping[str, Any]) -> bool:
        """True while ``obj`` waits for the controller to release it."""
        ...

    def already_held(self, obj: Mapping[str, Any]) -> bool:
        """True when admission already held ``obj`` (reinvocation must not hold it twice)."""
        ...

    def foreign_hold(self, obj: Mapping[str, Any]) -> str | None:
        """Why Carbon-Kube must not take this object's hold over, or None when it may."""
        ...

    def hold_patch(self, obj: Mapping[str, Any]) -> JsonPatch:
        """The JSON patch that holds ``obj`` at admission."""
        ...

    def release_patch(
        self,
        obj: Mapping[str, Any],
        *,
        released_at: datetime,
        reason: str,
        node_labels: Iterable[Mapping[str, str]],
    ) -> ReleasePatch:
        """The one PATCH that releases ``obj`` and records when and why."""
        ...

    def size(self, obj: Mapping[str, Any]) -> tuple[float, float]:
        """(vCPU, GiB) the whole workload uses while it runs, defaults for missing sizes."""
        ...


class PausableKind(KindAdapter, Protocol):
    """A kind whose running work can be paused and resumed (checkpointed interruptible work).

    Both are one merge PATCH that also records the step (``paused-at``, ``resumed-at``,
    ``pauses``): the state lives on the object, so a restarted controller continues exactly.
    """

    def pause_patch(self, obj: Mapping[str, Any], *, paused_at: datetime) -> dict[str, Any]:
        """The merge patch that pauses ``obj`` now."""
        ...

    def resume_patch(
        self, obj: Mapping[str, Any], *, resumed_at: datetime, abandon_pausing: str | None = None
    ) -> dict[str, Any]:
        """The merge patch that resumes the paused ``obj``.

        ``abandon_pausing`` (why) makes it the last: recorded on the object, read by the loop.
        """
        ...

    def pause_confirmed(self, obj: Mapping[str, Any]) -> bool:
        """True once the kind's own controller reports the paused work stopped, state saved."""
        ...

    def finished(self, obj: Mapping[str, Any]) -> bool:
        """True once the work is over (succeeded, failed or cancelled): nothing to pause."""
        ...
