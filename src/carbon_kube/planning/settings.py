"""Typed settings for planning, built once at the edge (CLI options, Helm values) and passed in.

Validation happens here, at construction: an unknown policy or a malformed zone id is an
``InputError`` naming the setting, so a misconfigured webhook fails at start-up with one line
instead of rejecting or mis-planning workloads later. Nothing here reads the environment.
"""

from __future__ import annotations

from datetime import timedelta
from enum import StrEnum
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from carbon_kube.domain.errors import InputError
from carbon_kube.domain.zones import Zone, parse_zone
from carbon_kube.policy.margins import DEFAULT_LATENCY_RISK
from carbon_kube.policy.registry import POLICIES
from carbon_kube.policy.threshold import NAME as THRESHOLD

ForecastKind = Literal["persistence", "oracle"]


class SourceKind(StrEnum):
    """Where intensity comes from."""

    # The shipped year of real data, replayed at today's date: offline, no key (the lab's).
    EMBEDDED = "embedded"
    # A CSV/Parquet file (timestamp,zone,g_per_kwh or an Electricity Maps export), falling
    # back to the embedded data for zones or times the file does not cover.
    FILE = "file"


class SourceSettings(BaseModel):
    """Which intensity source to build (see ``planning.sources.build_intensity_source``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: SourceKind = SourceKind.EMBEDDED
    path: Path | None = None

    @model_validator(mode="after")
    def _file_needs_path(self) -> SourceSettings:
        if self.kind is SourceKind.FILE and self.path is None:
            raise InputError("an intensity source of kind 'file' needs a path", field="--intensity")
        return self


class PlanningSettings(BaseModel):
    """How workloads are planned.

    ``home_zone`` is the grid zone of the cluster itself: every workload may run there.
    ``history`` is how much past data the forecast sees (the persistence forecast needs a
    day). ``forecast`` ``oracle`` reads the source's future values as if known: with the
    embedded data that is a replay of the real year, fine for the lab and demos, never a claim
    about a real grid's future.

    ``latency_risk`` (Helm ``threshold.latencyRisk``) is the deadline margin as a share of each
    workload's expected duration: plans start by ``deadline - (1 + latency_risk) x expected
    duration`` (``policy.margins``). ``adaptive_threshold`` (Helm ``rl.enabled``) lets the
    replay-buffer learner (``policy.adaptive_threshold``) re-pick the threshold and margin every
    ``adaptive_refit`` from the last ``adaptive_buffer`` of observed intensity and planned
    workloads; ``threshold_g_per_kwh`` and ``latency_risk`` are then its fixed default, kept
    until a replay beats them. It tunes the threshold policy only.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    home_zone: str
    policy: str = "temporal"
    forecast: ForecastKind = "persistence"
    history: timedelta = timedelta(days=1)
    threshold_g_per_kwh: float = Field(default=200.0, ge=0.0)
    latency_risk: float = DEFAULT_LATENCY_RISK
    adaptive_threshold: bool = False
    adaptive_buffer: timedelta = timedelta(days=14)
    adaptive_refit: timedelta = timedelta(hours=6)

    @field_validator("home_zone")
    @classmethod
    def _zone(cls, value: str) -> str:
        return str(parse_zone(value))

    @field_validator("policy")
    @classmethod
    def _policy(cls, value: str) -> str:
        if value not in POLICIES:
            raise InputError(
                f"unknown policy {value!r}; choose from {', '.join(POLICIES)}", field="--policy"
            )
        return value

    @field_validator("history")
    @classmethod
    def _history(cls, value: timedelta) -> timedelta:
        if value < timedelta(0):
            raise InputError("history must not be negative", field="--history")
        return value

    @field_validator("latency_risk")
    @classmethod
    def _latency_risk(cls, value: float) -> float:
        if not 0.0 <= value <= 1.0:
            raise InputError(f"expected a share in [0, 1], got {value}", field="--latency-risk")
        return value

    @field_validator("adaptive_buffer", "adaptive_refit")
    @classmethod
    def _positive(cls, value: timedelta) -> timedelta:
        if value <= timedelta(0):
            raise InputError("the learner's buffer and refit period must be positive")
        return value

    @model_validator(mode="after")
    def _adaptive_needs_threshold(self) -> PlanningSettings:
        if self.adaptive_threshold and self.policy != THRESHOLD:
            raise InputError(
                f"the adaptive learner tunes the threshold policy; got policy {self.policy!r} "
                "(use --policy threshold, or turn the learner off)",
                field="--adaptive-threshold",
            )
        return self

    @property
    def home(self) -> Zone:
        return Zone(self.home_zone)
