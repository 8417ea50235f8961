"""Typed settings for planning, built once at the edge (CLI options, Helm values) and passed in.

Validation happens here, at construction: an unknown policy or a malformed zone id is an
``InputError`` naming the setting, so a misconfigured webhook fails at start-up with one line
instead of rejecting or mis-planning workloads later. Each default and each range is written
once, here: the CLI's options take their defaults, help and checks from these fields
(``cli.settings_options``). Nothing here reads the environment.

``LatencyRisk`` and ``ThresholdGPerKwh`` are the checked field types other components'
settings (the simulator's) reuse, so the range of a knob is stated in one place.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Literal, get_args

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

from carbon_kube.domain.errors import InputError
from carbon_kube.domain.limits import INTENSITY_G_PER_KWH
from carbon_kube.domain.zones import Zone, parse_zone
from carbon_kube.policy.margins import DEFAULT_LATENCY_RISK, check_latency_risk
from carbon_kube.policy.registry import POLICIES
from carbon_kube.policy.threshold import DEFAULT_THRESHOLD_G_PER_KWH, ThresholdArgs
from carbon_kube.policy.threshold import NAME as THRESHOLD
from carbon_kube.providers.construction import SourceKind, SourceSettings

__all__ = [
    "FORECAST_KINDS",
    "PROVIDER",
    "ForecastKind",
    "LatencyRisk",
    "PlanningSettings",
    "SourceKind",
    "SourceSettings",
    "ThresholdGPerKwh",
]

ForecastKind = Literal["persistence", "provider", "oracle"]
FORECAST_KINDS: tuple[str, ...] = get_args(ForecastKind)
# The source's own published forecast (Electricity Maps, WattTime, UK Carbon Intensity).
PROVIDER: ForecastKind = "provider"


def _share(value: float) -> float:
    # The range is policy.margins'; this only words it for the person who typed the value.
    try:
        return check_latency_risk(value)
    except ValueError:
        raise InputError(
            f"expected a share in [0, 1], got {value}", field="--latency-risk"
        ) from None


def _non_negative_g_per_kwh(value: float) -> float:
    # The range is ThresholdArgs'; this only words it for the person who typed the value.
    try:
        return ThresholdArgs(value).threshold_g_per_kwh
    except ValueError:
        raise InputError(
            f"expected {INTENSITY_G_PER_KWH.describe()}, got {value:g}",
            field="--threshold-g-per-kwh",
        ) from None


def _forecast_kind(value: object) -> object:
    if value not in FORECAST_KINDS:
        raise InputError(
            f"expected {' or '.join(FORECAST_KINDS)}, got {value!r}", field="--forecast"
        )
    return value


LatencyRisk = Annotated[
    float,
    AfterValidator(_share),
    Field(
        description="Deadline margin as a share of each workload's expected duration (0..1): "
        "plans start by deadline - (1 + risk) x expected duration, so a run up to that much "
        "longer than expected (or released that late) still meets its deadline "
        "(Helm threshold.latencyRisk)."
    ),
]
ThresholdGPerKwh = Annotated[
    float,
    AfterValidator(_non_negative_g_per_kwh),
    Field(description="The threshold policy releases at or below this believed intensity."),
]


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

    home_zone: str = Field(
        description="Grid zone of this cluster (Electricity Maps id, e.g. DE, IE)."
    )
    policy: str = Field(
        default="temporal", description="Policy: temporal, threshold, spatial, spatiotemporal, ..."
    )
    forecast: Annotated[ForecastKind, BeforeValidator(_forecast_kind)] = Field(
        default="persistence",
        description="persistence (value 24 h earlier), provider (the live source's published "
        "forecast; persistence where it has none) or oracle (a replayed source's own future; "
        "lab/demo only).",
    )
    history: timedelta = timedelta(days=1)
    threshold_g_per_kwh: ThresholdGPerKwh = DEFAULT_THRESHOLD_G_PER_KWH
    latency_risk: LatencyRisk = DEFAULT_LATENCY_RISK
    adaptive_threshold: bool = Field(
        default=False,
        description="With --policy threshold: let the replay-buffer learner re-pick the "
        "threshold every 6 h from the last 14 days (Helm rl.enabled). Enable only for zones "
        "where `python bench/adaptive_threshold.py` shows it beats the fixed threshold (see "
        "docs/adaptive.md).",
    )
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
