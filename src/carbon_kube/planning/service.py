"""``PlanningService``: plan one workload now, or tell a zone's intensity now.

The webhook plans at admission, the controller re-plans held work, the extender asks for
current intensities; all three go through here so that the same policy code the simulator runs
makes every decision in the cluster.

``plan`` fetches the candidate zones' intensity from ``history`` before now (what the forecast
may look at) up to the latest instant the workload could still be running, completes it where
a live source stops at now (with the source's own forecast on ``forecast: provider``, by daily
repetition otherwise; ``planning.beliefs``), builds the forecast and calls
``policy.registry.plan_workload``. Every plan names the source, the model and whether the
data were stale (``Plan.signal``), which the webhook records as annotations. At the edges:

* a candidate zone other than the home zone without data is dropped from the candidates (the
  work can still run at home);
* no data for the home zone, or any failure building the forecast, gives the ``no-signal``
  plan: release at the latest safe start (or now, if that has passed) in the home zone. The
  workload is never blocked and never held past its deadline for want of data.

``outcome`` estimates a released workload's emissions and the baseline's from the same source
(for the controller's savings metrics).

``latency_risk`` moves every plan's latest start earlier by that share of the expected duration
(``policy.margins``), the no-signal plan's too. With ``adaptive_threshold`` the threshold and
margin come from the replay-buffer learner (``planning.adaptive``), refitted as planning goes.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from carbon_kube.domain.clock import Clock
from carbon_kube.domain.errors import ProviderError
from carbon_kube.domain.instants import floor_to_hour
from carbon_kube.domain.intensity import IntensitySeries
from carbon_kube.domain.plans import Lever, Plan, RunSegment, SignalProvenance
from carbon_kube.domain.workloads import Workload
from carbon_kube.domain.zones import Zone
from carbon_kube.energy.power import PowerModel, default_power_model
from carbon_kube.observability.metrics import (
    PROVIDER_DATA_AGE_SECONDS,
    ZONE_INTENSITY_G_PER_KWH,
)
from carbon_kube.planning.adaptive import ThresholdLearner
from carbon_kube.planning.beliefs import extended_daily, persistence_belief, with_forecast
from carbon_kube.planning.outcomes import JobOutcome, PauseRecord, job_outcome, pause_avoided_g
from carbon_kube.planning.settings import PROVIDER, PlanningSettings
from carbon_kube.policy.forecasts import (
    BelievedForecast,
    Forecast,
    OracleForecast,
    PersistenceForecast,
    make_forecast,
)
from carbon_kube.policy.grids import IntensityGrid
from carbon_kube.policy.margins import guarded_latest_start
from carbon_kube.policy.registry import plan_workload
from carbon_kube.policy.temporal import DEFAULT_RESUME_OVERHEAD
from carbon_kube.policy.threshold import NAME as THRESHOLD
from carbon_kube.policy.threshold import ThresholdArgs
from carbon_kube.providers.base import IntensityProvider

log = logging.getLogger(__name__)

NO_SIGNAL = "no-signal"
# The source and model named on a plan decided without any data.
NO_SOURCE = "none"
_HOUR = timedelta(hours=1)


@dataclass(frozen=True, slots=True)
class ExplainedPlan:
    """A plan with its believed outcome; ``expected`` is None without a signal to estimate on."""

    plan: Plan
    expected: JobOutcome | None


@dataclass(frozen=True, slots=True)
class _Beliefs:
    """Per zone: the series the policy plans on, and what the plan believes will happen."""

    grid: dict[Zone, IntensitySeries]
    believed: dict[Zone, IntensitySeries]
    model: str


class PlanningService:
    """Plans and current intensities from one source, clock and settings (thread-safe)."""

    def __init__(
        self,
        source: IntensityProvider,
        clock: Clock,
        settings: PlanningSettings,
        *,
        power: PowerModel | None = None,
    ) -> None:
        self._source = source
        self._clock = clock
        self._settings = settings
        self._power = power or default_power_model()
        # Providers (HTTP clients, caches) are not guaranteed thread-safe; the webhook and
        # extender call from worker threads. Planning one workload takes milliseconds.
        self._lock = threading.Lock()
        self._learner = ThresholdLearner(settings) if settings.adaptive_threshold else None

    @property
    def learner(self) -> ThresholdLearner | None:
        """The adaptive learner when ``adaptive_threshold`` is on."""
        return self._learner

    @property
    def settings(self) -> PlanningSettings:
        return self._settings

    @property
    def clock(self) -> Clock:
        return self._clock

    def plan(self, workload: Workload) -> Plan:
        """The plan for ``workload`` decided now (see module docstring for the edges)."""
        return self._decide(workload)[0]

    def explain(self, workload: Workload) -> ExplainedPlan:
        """The plan and its believed emissions against the baseline's (``carbon-kube plan``).

        The estimate is made on the series the plan was decided on (history, then the
        forecast), so it says what the plan expects, not what will happen.
        """
        plan, series = self._decide(workload)
        if series is None or plan.zone not in series:
            return ExplainedPlan(plan, None)
        try:
            expected = job_outcome(
                workload,
                start=plan.start_at,
                zone=plan.zone,
                run_series=series[plan.zone],
                home_series=series[workload.home_zone],
                power=self._power,
            )
        except (KeyError, ValueError):
            expected = None
        return ExplainedPlan(plan, expected)

    def _decide(self, workload: Workload) -> tuple[Plan, dict[Zone, IntensitySeries] | None]:
        """The plan and the series it believed (None for the no-signal plan)."""
        now = self._clock.now()
        with self._lock:
            if self._learner is not None:
                self._learner.observe(workload)
                self._learner.refit_if_due(self._source, now)
            threshold_g_per_kwh, latency_risk = self._knobs()
            try:
                beliefs = self._believe(self._series_for(workload, now), workload, now)
            except ProviderError as error:
                log.warning(
                    "no carbon signal for %s: %s; releasing at its latest safe start",
                    workload.workload_id,
                    error,
                    extra={"workload": workload.workload_id, "error": str(error)},
                )
                return self.no_signal_plan(workload), None
        series, model = beliefs.grid, beliefs.model
        try:
            candidates = tuple(z for z in workload.allowed_zones if z in series)
            planned = dataclasses.replace(workload, allowed_zones=candidates)
            forecast: Forecast = (
                make_forecast(model, IntensityGrid(series))
                if model in (PersistenceForecast.name, OracleForecast.name)
                else BelievedForecast(model, IntensityGrid(series))
            )
            plan = plan_workload(
                planned,
                self._settings.policy,
                forecast,
                self._clock,
                self._policy_args(threshold_g_per_kwh),
                latency_risk,
            )
            home = series[workload.home_zone]
            provenance = SignalProvenance(
                source=home.source or self._source.name, model=model, stale=home.stale
            )
            return dataclasses.replace(plan, signal=provenance), beliefs.believed
        except (KeyError, ValueError) as error:
            # The data do not fit the request (gaps, mixed steps, a run beyond the data):
            # deciding without a signal is safe, refusing the workload is not.
            log.warning(
                "cannot plan %s on the available data (%s); releasing at its latest safe start",
                workload.workload_id,
                error,
                extra={"workload": workload.workload_id, "error": str(error)},
            )
            return self.no_signal_plan(workload), None

    def _knobs(self) -> tuple[float, float]:
        """Threshold and latency risk in force: the learner's, or the settings'."""
        if self._learner is not None:
            return self._learner.threshold_g_per_kwh, self._learner.latency_risk
        return self._settings.threshold_g_per_kwh, self._settings.latency_risk

    def _policy_args(self, threshold_g_per_kwh: float) -> ThresholdArgs | None:
        """The policy's arguments from settings; other policies keep their defaults."""
        if self._settings.policy == THRESHOLD:
            return ThresholdArgs(threshold_g_per_kwh)
        return None

    def no_signal_plan(self, workload: Workload) -> Plan:
        """Run in the home zone from the latest safe start (now, if that has passed).

        The latest safe start keeps the ``latency_risk`` margin, as every other plan does.
        """
        start = max(self._guarded_latest_start(workload), self._clock.now(), workload.submit_at)
        return Plan(
            workload_id=workload.workload_id,
            zone=workload.home_zone,
            segments=(RunSegment(start, start + workload.expected_duration),),
            reason=NO_SIGNAL,
            lever=Lever.NONE if start == workload.submit_at else Lever.TIME,
            signal=SignalProvenance(source=NO_SOURCE, model=NO_SOURCE, stale=True),
        )

    def _guarded_latest_start(self, workload: Workload) -> datetime:
        risk = self._settings.latency_risk if self._learner is None else self._learner.latency_risk
        return guarded_latest_start(workload, risk)

    def outcome(self, workload: Workload, *, start: datetime, zone: Zone) -> JobOutcome | None:
        """``workload``'s estimated outcome run from ``start`` in ``zone`` (``planning.outcomes``).

        None when the source lacks either zone's data for the run or the baseline's.
        """
        first = floor_to_hour(min(start, workload.submit_at))
        last = (
            floor_to_hour(max(start, workload.submit_at) + workload.expected_duration) + 2 * _HOUR
        )
        try:
            with self._lock:
                home_series = self._source.history(workload.home_zone, first, last)
                run_series = (
                    home_series
                    if zone == workload.home_zone
                    else self._source.history(zone, first, last)
                )
            return job_outcome(
                workload,
                start=start,
                zone=zone,
                run_series=run_series,
                home_series=home_series,
                power=self._power,
            )
        except (ProviderError, ValueError, KeyError):
            return None

    def pause_avoided_g(
        self, workload: Workload, *, zone: Zone, pause: PauseRecord
    ) -> float | None:
        """Grams one pause of ``workload`` in ``zone`` saved (``planning.outcomes``).

        None when the source lacks the zone's data for either run. The restart cost in the
        plan is the policy's (``TemporalArgs.resume_overhead``, as the webhook planned it).
        """
        restart = DEFAULT_RESUME_OVERHEAD
        first = floor_to_hour(min(pause.paused_at, pause.resumed_at))
        end = max(pause.paused_at, pause.resumed_at) + pause.work_left + pause.lost_work
        try:
            with self._lock:
                series = self._source.history(zone, first, floor_to_hour(end) + 2 * _HOUR)
            power_w = self._power.power_w(workload.cpus, workload.memory_gib)
            return pause_avoided_g(series, power_w=power_w, pause=pause, restart_in_plan=restart)
        except (ProviderError, ValueError, KeyError):
            return None

    def intensity_now(self, zone: Zone) -> float | None:
        """The zone's current intensity in g/kWh, or None when no source has it."""
        with self._lock:
            try:
                reading = self._source.latest(zone)
            except ProviderError as error:
                log.info("no current intensity for %s: %s", zone, error, extra={"zone": zone})
                return None
        ZONE_INTENSITY_G_PER_KWH.labels(zone, reading.provider).set(reading.intensity_g_per_kwh)
        age_s = (self._clock.now() - reading.at).total_seconds()
        PROVIDER_DATA_AGE_SECONDS.labels(zone, reading.provider).set(max(age_s, 0.0))
        return reading.intensity_g_per_kwh

    def intensities_now(self, zones: Iterable[Zone]) -> dict[Zone, float]:
        """Current intensity of every zone in ``zones`` that has data (others are left out)."""
        found: dict[Zone, float] = {}
        for zone in dict.fromkeys(zones):
            value = self.intensity_now(zone)
            if value is not None:
                found[zone] = value
        return found

    def _window_end(self, workload: Workload, now: datetime) -> datetime:
        """The end of the data a plan needs: past the latest instant the workload could run."""
        return floor_to_hour(max(workload.deadline, now + workload.expected_duration)) + 2 * _HOUR

    def _believe(
        self, observed: dict[Zone, IntensitySeries], workload: Workload, now: datetime
    ) -> _Beliefs:
        """What the policy plans on, what the plan believes, and the model that says so.

        ``provider``: the source's own forecast joined to the history (``planning.beliefs``);
        a zone without one continues as persistence believes, and when the home zone has none
        the plan falls back to ``persistence`` (and says so). ``persistence`` plans on the
        history, extended by repetition where a live source stops at now (it never reads those
        values). ``oracle`` plans on the source's own future, never on a made-up one.
        """
        until = self._window_end(workload, now)
        wanted: str = self._settings.forecast
        if wanted == OracleForecast.name:
            return _Beliefs(observed, observed, wanted)
        if wanted == PROVIDER:
            provided = self._with_provider_forecasts(observed, workload, now, until)
            if provided is not None:
                joined, model = provided
                return _Beliefs(joined, joined, model)
        grid = {zone: extended_daily(s, until) for zone, s in observed.items()}
        try:
            believed = {
                zone: persistence_belief(s, now=now, until=until) for zone, s in observed.items()
            }
        except ValueError:  # nothing observed before now: estimate on what there is
            believed = grid
        return _Beliefs(grid, believed, PersistenceForecast.name)

    def _with_provider_forecasts(
        self,
        observed: dict[Zone, IntensitySeries],
        workload: Workload,
        now: datetime,
        until: datetime,
    ) -> tuple[dict[Zone, IntensitySeries], str] | None:
        """Each zone's history joined to its provider forecast, and the home forecast's model.

        The model is ``provider`` unless the forecast names another (the published signal
        names what its poller ran). None without a forecast for the home zone.
        """
        joined: dict[Zone, IntensitySeries] = {}
        model: str = PROVIDER
        for zone, series in observed.items():
            try:
                forecast = self._source.forecast(zone, until - now)
                joined[zone] = with_forecast(series, forecast, now=now, until=until)
                if zone == workload.home_zone and forecast.model:
                    model = forecast.model
                continue
            except (ProviderError, ValueError) as error:
                log.info(
                    "no provider forecast for %s: %s",
                    zone,
                    error,
                    extra={"zone": zone, "workload": workload.workload_id},
                )
                if zone == workload.home_zone:
                    return None
            try:
                joined[zone] = persistence_belief(series, now=now, until=until)
            except ValueError:
                continue  # dropped from the candidates, as a zone without data is
        return joined, model

    def _series_for(self, workload: Workload, now: datetime) -> dict[Zone, IntensitySeries]:
        """Every candidate zone's series over the planning window; home first (the grid's order).

        Raises ``ProviderError`` only when the home zone has no data.
        """
        start = floor_to_hour(min(now, workload.submit_at)) - self._settings.history
        end = self._window_end(workload, now)
        series = {workload.home_zone: self._source.history(workload.home_zone, start, end)}
        for zone in workload.candidate_zones[1:]:
            try:
                series[zone] = self._source.history(zone, start, end)
            except ProviderError as error:
                log.info(
                    "zone %s dropped from the candidates of %s: %s",
                    zone,
                    workload.workload_id,
                    error,
                    extra={"zone": zone, "workload": workload.workload_id},
                )
        return series
