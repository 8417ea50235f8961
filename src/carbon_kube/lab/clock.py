"""The lab's virtual clock: play a day of carbon-intensity data in minutes.

A :class:`VirtualClock` maps real (wall) time onto virtual time with a constant speed-up::

    virtual_now = virtual_epoch + (real_now - real_epoch) * speedup

What runs on virtual time (everything Carbon-Kube controls):
- Carbon-Kube's own components when handed this clock (``now()`` is injectable everywhere):
  forecasts, deadlines, latest-safe-start decisions, gate release, suspend/resume.
- Pod run durations: a pod declared to run ``duration`` of virtual time gets kwok's
  ``pod-complete`` delay annotation set to ``duration / speedup`` of real time
  (:meth:`VirtualClock.kwok_duration_annotations`).
- Trace replay: a carbon trace indexed by virtual instants is read at ``clock.now()``.

What cannot (the Kubernetes components keep real time; they have no clock to inject):
- kube-scheduler's backoff and requeue timers, the Job controller's backoff, TTL-after-finished,
  lease renewals and node heartbeats (kwok), garbage collection, event TTLs.
- ``metadata.creationTimestamp``, ``status.startTime`` and Job ``completionTime`` are real
  instants; convert with :meth:`VirtualClock.to_virtual` before comparing with virtual ones.
- Job ``activeDeadlineSeconds`` and CronJob schedules run in real seconds: divide by the
  speed-up yourself if you use them in the lab.

With ``speedup=1`` the clock is simply the wall clock shifted to ``virtual_epoch``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

__all__ = ["KWOK_COMPLETE_DELAY_ANNOTATION", "VirtualClock", "real_utc_now"]

# kwok's pod-complete stage reads the run duration of a Job pod from this annotation
# (see lab/stages/pod-complete.yaml); the value is a Go duration string such as "1500ms".
KWOK_COMPLETE_DELAY_ANNOTATION = "pod-complete.stage.kwok.x-k8s.io/delay"


def real_utc_now() -> datetime:
    """The wall clock, tz-aware UTC; the single real-time source the lab injects."""
    return datetime.now(tz=UTC)


@dataclass(frozen=True)
class VirtualClock:
    """Virtual time running ``speedup`` times faster than the real clock from an epoch pair.

    ``real_epoch`` and ``virtual_epoch`` must be tz-aware. ``speedup`` must be positive;
    values below 1 slow time down, which is occasionally useful for debugging.
    """

    speedup: float
    virtual_epoch: datetime
    real_epoch: datetime
    real_now: Callable[[], datetime] = field(default=real_utc_now, compare=False)

    def __post_init__(self) -> None:
        if self.speedup <= 0:
            raise ValueError(f"speedup must be > 0, got {self.speedup}; use 1 for real time.")
        for name in ("virtual_epoch", "real_epoch"):
            value: datetime = getattr(self, name)
            if value.tzinfo is None:
                raise ValueError(f"{name} must be tz-aware (UTC), got naive {value.isoformat()}.")

    @classmethod
    def starting_now(
        cls,
        speedup: float,
        virtual_epoch: datetime | None = None,
        real_now: Callable[[], datetime] = real_utc_now,
    ) -> VirtualClock:
        """A clock whose virtual time starts at ``virtual_epoch`` (default: the real now)."""
        real = real_now()
        return cls(
            speedup=speedup,
            virtual_epoch=virtual_epoch or real,
            real_epoch=real,
            real_now=real_now,
        )

    def now(self) -> datetime:
        """The current virtual instant (tz-aware UTC)."""
        return self.to_virtual(self.real_now())

    def to_virtual(self, real_instant: datetime) -> datetime:
        """Map a real instant (e.g. a pod's creationTimestamp) to virtual time."""
        return self.virtual_epoch + (real_instant - self.real_epoch) * self.speedup

    def to_real(self, virtual_instant: datetime) -> datetime:
        """Map a virtual instant to the real instant at which the clock will show it."""
        return self.real_epoch + (virtual_instant - self.virtual_epoch) / self.speedup

    def real_duration(self, virtual_duration: timedelta) -> timedelta:
        """How long ``virtual_duration`` lasts on the wall clock."""
        return virtual_duration / self.speedup

    def virtual_duration(self, real_duration: timedelta) -> timedelta:
        """How much virtual time passes during ``real_duration``."""
        return real_duration * self.speedup

    def kwok_duration_annotations(self, virtual_duration: timedelta) -> dict[str, str]:
        """Annotations that make kwok complete a Job pod after ``virtual_duration``.

        The real delay is rounded to whole milliseconds and never below 1 ms, because kwok
        treats a missing or zero delay as "use the stage default".
        """
        real_ms = max(1, round(self.real_duration(virtual_duration) / timedelta(milliseconds=1)))
        return {KWOK_COMPLETE_DELAY_ANNOTATION: f"{real_ms}ms"}
