"""Plans: where and when a workload runs, and why.

Every plan names its ``lever`` so that reported savings can be attributed (time, region,
hardware) and never claimed without a cause.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from carbon_kube.domain.zones import Zone


class Lever(StrEnum):
    """What a plan changed relative to the carbon-agnostic baseline."""

    NONE = "none"
    TIME = "time"
    REGION = "region"
    TIME_AND_REGION = "time+region"
    HARDWARE = "hardware"
    # Pausing running work and resuming it later (the controller's estimate per pause); the
    # start's own shift stays ``time``.
    PAUSE = "pause"


REPORTED_LEVERS: tuple[Lever, ...] = (Lever.TIME, Lever.REGION, Lever.TIME_AND_REGION, Lever.PAUSE)
"""The levers a simulation's saving is split by, in the order reports show them."""


@dataclass(frozen=True, slots=True)
class RunSegment:
    """One contiguous stretch of running; interruptible work may have several."""

    start_at: datetime
    end_at: datetime

    @property
    def duration(self) -> timedelta:
        return self.end_at - self.start_at


@dataclass(frozen=True, slots=True)
class SignalProvenance:
    """The data a plan was decided on, so that its saving can be traced to its inputs.

    ``source`` is the provider that answered for the home zone (``electricitymaps``,
    ``embedded``, ...; ``none`` when nothing did), ``model`` the forecast the policy believed
    (``persistence``, ``provider``, ``oracle``), ``stale`` whether the data came from the cache
    after every provider failed (or there were none at all).
    """

    source: str
    model: str
    stale: bool = False


@dataclass(frozen=True, slots=True)
class Plan:
    """The decision for one workload; ``signal`` is set by planning in the cluster."""

    workload_id: str
    zone: Zone
    segments: tuple[RunSegment, ...]
    reason: str
    lever: Lever = Lever.NONE
    forecast_g_per_kwh: float | None = None
    signal: SignalProvenance | None = None

    def __post_init__(self) -> None:
        if not self.segments:
            raise ValueError(f"plan for {self.workload_id}: at least one run segment is required")

    @property
    def start_at(self) -> datetime:
        return self.segments[0].start_at

    @property
    def end_at(self) -> datetime:
        return self.segments[-1].end_at
