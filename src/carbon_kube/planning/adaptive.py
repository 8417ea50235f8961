"""``ThresholdLearner``: the planning service's replay buffer and its periodic refit (rl.enabled).

It remembers the workloads the service planned (the last ``MAX_REMEMBERED``, by id, so a
re-planned workload counts once) and, every ``adaptive_refit``, asks the source for the home
zone's observed intensity over the last ``adaptive_buffer`` (plus a day for the persistence
forecast to look back on), keeps the workloads whose runs had finished by then under any plan,
and lets ``policy.adaptive_threshold.choose_threshold`` re-pick the threshold and margin from
``threshold_g_per_kwh`` and ``latency_risk`` (the fixed default it must beat).

What the cluster does not report back is assumed: workloads ran for their expected duration
(so only the threshold is tuned; the margin candidates all replay alike and the default wins the
tie) and drew the default power model's watts. Any failure to refit (no data, a gap) keeps the
current choice and is logged: the learner never blocks planning. Each process learns from what
it plans: the webhook from every admission, the controller from the workloads it re-plans.
"""

from __future__ import annotations

import dataclasses
import logging
from datetime import datetime, timedelta

import numpy as np

from carbon_kube.domain.errors import ProviderError
from carbon_kube.domain.instants import floor_to_hour
from carbon_kube.domain.intensity import to_epoch_s
from carbon_kube.domain.workloads import Workload
from carbon_kube.energy.power import default_power_model
from carbon_kube.planning.settings import PlanningSettings
from carbon_kube.policy.adaptive_threshold import (
    AdaptiveThresholdArgs,
    ReplayBuffer,
    ThresholdChoice,
    choose_threshold,
)
from carbon_kube.policy.forecasts import make_forecast
from carbon_kube.policy.grids import IntensityGrid
from carbon_kube.policy.jobs import JobTable
from carbon_kube.providers.base import IntensityProvider

log = logging.getLogger(__name__)

MAX_REMEMBERED = 5_000
_FORECAST_LOOKBACK = timedelta(days=1)


class ThresholdLearner:
    """Workloads seen, the last refit and the knobs in force (not thread-safe: callers lock)."""

    def __init__(self, settings: PlanningSettings) -> None:
        self._settings = settings
        self._args = AdaptiveThresholdArgs(
            default_threshold_g_per_kwh=settings.threshold_g_per_kwh,
            default_latency_risk=settings.latency_risk,
            latency_risks=(settings.latency_risk,),
        )
        self._seen: dict[str, Workload] = {}
        self._refit_at: datetime | None = None
        self.threshold_g_per_kwh = settings.threshold_g_per_kwh
        self.latency_risk = settings.latency_risk
        self.last_choice: ThresholdChoice | None = None

    def observe(self, workload: Workload) -> None:
        """Remember ``workload`` (its latest version, if it was planned before)."""
        self._seen.pop(workload.workload_id, None)
        self._seen[workload.workload_id] = workload
        while len(self._seen) > MAX_REMEMBERED:
            self._seen.pop(next(iter(self._seen)))

    def refit_if_due(self, source: IntensityProvider, now: datetime) -> None:
        """Re-pick the knobs when ``adaptive_refit`` has passed since the last refit."""
        if self._refit_at is not None and now - self._refit_at < self._settings.adaptive_refit:
            return
        self._refit_at = now
        try:
            choice = self._refit(source, now)
        except (ProviderError, KeyError, ValueError) as error:
            log.warning("adaptive threshold: refit failed (%s); keeping the current knobs", error)
            return
        self.last_choice = choice
        self.threshold_g_per_kwh = choice.threshold_g_per_kwh
        self.latency_risk = choice.latency_risk
        log.info(
            "adaptive threshold: %.1f g/kWh, latency risk %.2f (beats the default in replay: %s)",
            choice.threshold_g_per_kwh,
            choice.latency_risk,
            choice.beats_default,
            extra={"threshold_g_per_kwh": choice.threshold_g_per_kwh},
        )

    def _refit(self, source: IntensityProvider, now: datetime) -> ThresholdChoice:
        home = self._settings.home
        end = floor_to_hour(now)
        buffer_start = end - self._settings.adaptive_buffer
        series = source.history(home, buffer_start - _FORECAST_LOOKBACK, end)
        truth = IntensityGrid({home: series})
        data_end_s = truth.grid.end_s
        # The threshold policy runs at home: other allowed zones play no part in the replay.
        finished = [
            dataclasses.replace(w, allowed_zones=())
            for w in self._seen.values()
            if w.home_zone == home
            and w.submit_at >= buffer_start
            and to_epoch_s(max(w.latest_start, w.submit_at) + w.expected_duration) <= data_end_s
        ]
        jobs = JobTable.from_workloads(finished, truth.grid.zones)
        power = default_power_model()
        power_kw = (
            (jobs.cpus * power.watts_per_vcpu + jobs.memory_gib * power.watts_per_gib)
            * power.pue
            / 1000.0
        )
        buffer = ReplayBuffer(
            truth=truth,
            forecast=make_forecast(self._settings.forecast, truth),
            zone_index=0,
            jobs=jobs,
            power_kw=power_kw,
            actual_duration_s=np.asarray(jobs.duration_s, dtype=np.float64),
            observed_from_s=float(to_epoch_s(buffer_start)),
            observed_to_s=float(to_epoch_s(end)),
        )
        return choose_threshold(buffer, self._args)
