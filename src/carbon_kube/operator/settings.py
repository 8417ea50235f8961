"""The controller's typed settings and the clock it runs on, built once by the CLI.

Durations marked *virtual* are measured on the controller's clock (sped up in the lab); real
ones (API timeouts, lease timing, the longest sleep) are wall-clock seconds, because the
Kubernetes side keeps real time.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Literal, Protocol, get_args

from pydantic import BaseModel, ConfigDict, Field, model_validator

from carbon_kube.domain.workloads import WorkloadKind
from carbon_kube.domain.zones import RegionZoneMap, Zone
from carbon_kube.kinds.registry import KINDS
from carbon_kube.operator.leadership import LeaseSettings
from carbon_kube.planning.signal_poll import PollModel
from carbon_kube.policy.replanning import DEFAULT_REPLAN_TOLERANCE
from carbon_kube.policy.segment_steps import PauseLimits
from carbon_kube.providers.weather_openmeteo import ARCHIVE_URL, FORECAST_URL

__all__ = [
    "POLL_WEATHER",
    "ControllerClock",
    "ControllerSettings",
    "PollWeather",
    "SignalPublishing",
    "WallClock",
]

PollWeather = Literal["none", "open-meteo"]
POLL_WEATHER: tuple[str, ...] = get_args(PollWeather)


class ControllerClock(Protocol):
    """The controller's notion of now, and how fast it runs against the wall clock.

    ``to_virtual`` maps a real instant written by the apiserver (``creationTimestamp``) onto
    this clock. The lab's ``VirtualClock`` satisfies this protocol; so does :class:`WallClock`.
    """

    @property
    def speedup(self) -> float: ...

    def now(self) -> datetime: ...

    def to_virtual(self, real_instant: datetime) -> datetime: ...


class WallClock:
    """Real time, unchanged: what the controller uses in a real cluster."""

    speedup = 1.0

    def __init__(self, now: Callable[[], datetime]) -> None:
        self._now = now

    def now(self) -> datetime:
        return self._now()

    def to_virtual(self, real_instant: datetime) -> datetime:
        return real_instant


class SignalPublishing(BaseModel):
    """The leader's poll of the carbon signal, published per zone for the cluster's planners.

    Every ``interval`` (virtual) the leading controller reads ``history`` of each zone in
    ``zones`` and a ``horizon`` forecast (``model``: the source's own, or a baseline where it
    has none) from its source and writes one ConfigMap per zone into ``namespace``
    (``providers.published``). The webhook and the extender watch those objects.
    """

    model_config = ConfigDict(frozen=True)

    zones: tuple[Zone, ...] = Field(min_length=1)
    namespace: str = "carbon-kube"
    interval: timedelta = timedelta(minutes=5)
    history: timedelta = timedelta(hours=48)
    horizon: timedelta = timedelta(hours=72)
    model: PollModel = "provider"
    # SQLite file keeping every forecast the poller saw (None: keep none, so no online error
    # and no provider candidate for auto); the CLI uses the live source's cache file.
    archive: Path | None = None
    # Weather covariates for the learned model (lightgbm, auto): the zone's observed weather
    # from Open-Meteo (no key), or none. Only fetched when a learned model is fitted.
    weather: PollWeather = "none"
    openmeteo_forecast_url: str = FORECAST_URL
    openmeteo_archive_url: str = ARCHIVE_URL

    @model_validator(mode="after")
    def _positive(self) -> SignalPublishing:
        for name in ("interval", "history", "horizon"):
            if getattr(self, name) <= timedelta(0):
                raise ValueError(f"signal publishing: {name} must be positive")
        return self


class PauseSettings(BaseModel):
    """How the controller carries out interruptible workloads' segment plans (pause/resume).

    ``max_pauses`` and ``min_run`` bound the pauses of one workload (``policy.segment_steps``);
    ``latency_risk`` stretches the work planned when guarding the deadline of a paused workload,
    as the webhook's ``threshold.latencyRisk`` does for a held one; ``confirm_within`` is how
    long the kind's own controller may take to confirm a pause (a Flink savepoint) before the
    pause is undone and the workload runs to its end.
    """

    model_config = ConfigDict(frozen=True)

    max_pauses: int = Field(default=4, ge=0, le=100)
    min_run: timedelta = timedelta(minutes=30)
    latency_risk: float = Field(default=0.0, ge=0.0, le=1.0)
    confirm_within: timedelta = timedelta(minutes=15)

    @model_validator(mode="after")
    def _limits_valid(self) -> PauseSettings:
        self.limits()  # one place checks them: PauseLimits
        return self

    def limits(self) -> PauseLimits:
        return PauseLimits(
            max_pauses=self.max_pauses, min_run=self.min_run, confirm_within=self.confirm_within
        )


class ControllerSettings(BaseModel):
    """What the controller does and how often (see the field comments for units).

    A pydantic model like every component's settings (``PlanningSettings``,
    ``SimulateSettings``): typed fields, each default written once, checked on construction
    (a ``ValidationError`` is a ``ValueError``), read by the CLI for its option defaults.
    """

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    regions: RegionZoneMap
    kinds: tuple[WorkloadKind, ...] = tuple(KINDS)
    # Virtual: release this long before the due instant, to absorb release and scheduling
    # latency (at speed-up 600 one real second is ten virtual minutes).
    release_lead: timedelta = timedelta(0)
    # Virtual: how much earlier than due a burst may start being released (0: never). Work
    # due together (plans start on the same green hour) is released ahead at
    # ``release_ahead_rate_per_s`` so the last of it goes out near its due instant instead
    # of a queue's length after it. See ``Controller._release_window``.
    release_ahead_max: timedelta = timedelta(0)
    # Real: the release rate assumed when spreading a burst ahead (releases per second the
    # apiserver sustains; lower is safer: the burst then starts earlier).
    release_ahead_rate_per_s: float = Field(default=100.0, gt=0)
    # Virtual: how often node intensity labels and NodePool weights are refreshed.
    node_label_interval: timedelta = timedelta(minutes=15)
    label_nodes: bool = True
    nodepool_weights: bool = False
    # Virtual: how often held workloads are re-planned (when a re-planner is configured), and
    # how far a new plan must move the release to be written.
    replan_interval: timedelta = timedelta(minutes=30)
    replan_tolerance: timedelta = DEFAULT_REPLAN_TOLERANCE
    # Real: concurrent release PATCHes, and the longest the release loop sleeps unwoken.
    release_concurrency: int = Field(default=32, ge=1)
    max_sleep: timedelta = timedelta(seconds=1)
    retry_after: timedelta = timedelta(seconds=2)
    lease: LeaseSettings = Field(default_factory=LeaseSettings)
    identity: str = "carbon-kube-controller"
    # The leader's signal poll (None: this controller publishes no signal).
    publishing: SignalPublishing | None = None
    # Pausing and resuming released interruptible work by its segment plan (None: never).
    pausing: PauseSettings | None = Field(default_factory=PauseSettings)

    @model_validator(mode="after")
    def _durations_not_negative(self) -> ControllerSettings:
        if self.release_lead < timedelta(0):
            raise ValueError("release_lead must not be negative")
        if self.release_ahead_max < timedelta(0):
            raise ValueError("release_ahead_max must not be negative")
        return self
