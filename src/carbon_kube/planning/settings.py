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
from carbon_kube.policy.registry import POLICIES

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
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    home_zone: str
    policy: str = "temporal"
    forecast: ForecastKind = "persistence"
    history: timedelta = timedelta(days=1)
    threshold_g_per_kwh: float = Field(default=200.0, ge=0.0)

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

    @property
    def home(self) -> Zone:
        return Zone(self.home_zone)
