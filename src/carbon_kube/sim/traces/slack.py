"""Slack rules: how long a trace job may wait before it starts, which sets its deadline.

Traces record when jobs arrived and how long they ran, never how long they could have waited,
so every conversion picks a rule and says which. ``deadline = submit + max_delay + duration``
(the deadline is the latest *finish*, as in the job-trace contract).

Rules, as written on the command line:

* ``gaia`` (default): GAIA's (ASPLOS'24) two queues, 6 h of waiting for jobs shorter than 2 h
  and 24 h otherwise; ``gaia:SHORT,LONG[,CUTOFF]`` changes the numbers, e.g. ``gaia:3h,12h,1h``.
* a duration such as ``6h``, ``90m``, ``1d``: the same waiting limit for every job;
* a factor such as ``2x``: wait up to that multiple of the job's own duration;
* ``none``: no deadline column; the simulator's default applies.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum

import numpy as np

from carbon_kube.domain.arrays import IntArray
from carbon_kube.domain.durations import parse_duration
from carbon_kube.domain.errors import InputError

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd])\s*$")
_FACTOR = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*x\s*$")

GAIA_SHORT_LIMIT = timedelta(hours=6)
GAIA_LONG_LIMIT = timedelta(hours=24)
GAIA_CUTOFF = timedelta(hours=2)


class SlackKind(StrEnum):
    GAIA = "gaia"
    FIXED = "fixed"
    FACTOR = "factor"
    NONE = "none"


@dataclass(frozen=True, slots=True)
class SlackRule:
    """One of the rules in the module docstring, already validated."""

    kind: SlackKind
    short_limit: timedelta = GAIA_SHORT_LIMIT
    long_limit: timedelta = GAIA_LONG_LIMIT
    cutoff: timedelta = GAIA_CUTOFF
    fixed_limit: timedelta = timedelta(0)
    factor: float = 0.0

    def describe(self) -> str:
        """The rule in words, for reports and the CLI summary."""
        if self.kind is SlackKind.GAIA:
            return (
                f"GAIA waiting limits: {_hours(self.short_limit)} for jobs < "
                f"{_hours(self.cutoff)}, {_hours(self.long_limit)} otherwise"
            )
        if self.kind is SlackKind.FIXED:
            return f"every job may wait {_hours(self.fixed_limit)}"
        if self.kind is SlackKind.FACTOR:
            return f"every job may wait {self.factor:g} x its duration"
        return "no deadline (simulator default)"

    def max_delay_s(self, duration_s: IntArray) -> IntArray | None:
        """Waiting limit per job in whole seconds, or ``None`` for rule ``none``."""
        durations = np.asarray(duration_s, dtype=np.int64)
        if self.kind is SlackKind.NONE:
            return None
        if self.kind is SlackKind.GAIA:
            short = durations < _seconds(self.cutoff)
            limits = np.where(short, _seconds(self.short_limit), _seconds(self.long_limit))
            return limits.astype(np.int64)
        if self.kind is SlackKind.FIXED:
            return np.full(durations.shape, _seconds(self.fixed_limit), dtype=np.int64)
        return np.round(durations * self.factor).astype(np.int64)

    def deadlines_s(self, submit_s: IntArray, duration_s: IntArray) -> IntArray | None:
        """Latest finish per job in epoch seconds, or ``None`` for rule ``none``."""
        delay = self.max_delay_s(duration_s)
        if delay is None:
            return None
        deadline: IntArray = submit_s + duration_s + delay
        return deadline


DEFAULT_SLACK = SlackRule(SlackKind.GAIA)


def parse_slack(text: str) -> SlackRule:
    """Parse a rule as written on the command line (see the module docstring)."""
    spec = text.strip().lower()
    if spec == "none":
        return SlackRule(SlackKind.NONE)
    if spec == "gaia":
        return DEFAULT_SLACK
    if spec.startswith("gaia:"):
        parts = spec.removeprefix("gaia:").split(",")
        if len(parts) not in (2, 3):
            raise _slack_error(text)
        limits = [parse_duration(part, "--slack") for part in parts]
        return SlackRule(
            SlackKind.GAIA,
            short_limit=limits[0],
            long_limit=limits[1],
            cutoff=limits[2] if len(limits) == 3 else GAIA_CUTOFF,
        )
    factor = _FACTOR.match(spec)
    if factor:
        return SlackRule(SlackKind.FACTOR, factor=float(factor.group(1)))
    if _DURATION.match(spec):
        return SlackRule(SlackKind.FIXED, fixed_limit=parse_duration(spec, "--slack"))
    raise _slack_error(text)


def _seconds(duration: timedelta) -> int:
    return round(duration.total_seconds())


def _hours(duration: timedelta) -> str:
    return f"{duration.total_seconds() / 3600:g} h"


def _slack_error(text: str) -> InputError:
    return InputError(
        f"unknown slack rule {text!r}; use gaia, gaia:SHORT,LONG[,CUTOFF] (e.g. gaia:6h,24h,2h), "
        "a duration such as 6h, a factor such as 2x, or none",
        field="--slack",
    )
