"""The live path end to end: a day of real jobs planned on a provider's forecast over loopback.

A loopback server speaks Electricity Maps v3 (``tests/provider_server.py``) on a virtual clock
(speed-up 720) and serves a DACF region's real direct intensity (CISO, September 2021) as
history and DACF's own day-ahead forecast as its forecast endpoint, each UTC day issued at its
start and never beyond it (what DACF knew when). The controller, a real process, polls it every
5 virtual minutes and publishes the zone's signal as a ConfigMap; the webhook has no API URL,
only the published signal (``--source published``, ``--forecast provider``); the first day of
GAIA's pai_1k trace (143 jobs) is submitted at its trace instants, held by the webhook and
released by the controller. The simulator plans the same jobs with ``temporal`` on DACF's
forecast (``--forecast provider``, 24 h lead, the last day repeated beyond it): the savings the
lab achieved must be within 1 point of the simulator's, with no deadline missed.

Emissions are power x the true intensity over [start, start + duration] for both, started at
the submission (off) or the controller's recorded release (on), as in
``test_e2e_trace_replay.py``, whose helpers this test shares.
"""

from __future__ import annotations

import json
import os
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from carbon_kube.cli.planning import build_planner
from carbon_kube.domain.annotations import (
    FORECAST_MODEL,
    RELEASED_AT,
    SIGNAL_SOURCE,
    SIGNAL_STALE,
    parse_rfc3339,
)
from carbon_kube.domain.intensity import to_epoch_s
from carbon_kube.energy.power import default_power_model
from carbon_kube.kube.client import JOBS, NAMESPACES, KubeApiError, KubeClient
from carbon_kube.kube.resources import CONFIG_MAPS
from carbon_kube.lab.clock import VirtualClock
from carbon_kube.lab.control_plane import wait_for
from carbon_kube.lab.state import LabState
from carbon_kube.policy.grids import IntensityGrid
from carbon_kube.providers.construction import SourceKind, SourceSettings
from carbon_kube.providers.dacf import REGION_ZONES, read_dacf_forecast, read_dacf_intensity
from carbon_kube.providers.electricitymaps import TOKEN_ENV_VAR
from carbon_kube.providers.published import decode, object_name
from carbon_kube.sim.engine import SimulationSettings, simulate
from carbon_kube.sim.job_trace import OnMissing, check_against_intensity, read_job_trace
from carbon_kube.sim.model_forecasts import ForecastInputs, build_forecast
from tests.integration.controller_process import ControllerProcess
from tests.integration.test_e2e_trace_replay import (
    _convert_first_day,
    _namespace,
    _submit_twice_and_wait,
    webhook_for,  # noqa: F401 - the fixture, used by name
)
from tests.provider_server import TOKEN, ElectricityMapsServer, serving

pytestmark = [pytest.mark.lab, pytest.mark.shared_data]

SPEEDUP = 720.0
REGION = "CISO"
ZONE = REGION_ZONES[REGION]
DAY_START = datetime(2021, 9, 6, tzinfo=UTC)  # a Monday in DACF's test period (Jul-Dec 2021)
POLICY = "temporal"
DAY = timedelta(days=1)
SIGNAL_INTERVAL = "5m"
# Where the bench (bench/live_replay.py) wants the figures.
FIGURES_ENV = "LIVE_REPLAY_OUT"


def _next_utc_midnight(now: datetime) -> datetime:
    return now.replace(hour=0, minute=0, second=0, microsecond=0) + DAY


def test_a_day_planned_on_the_published_dacf_forecast_saves_what_the_simulator_predicts(
    lab: LabState,
    kube: KubeClient,
    shared_data: Path,
    webhook_for: Any,  # noqa: F811 - the fixture imported above
    tmp_path: Path,
) -> None:
    folder = shared_data / "dacf-carbon-forecasts-2020-2021"
    ((_, truth_series),) = read_dacf_intensity(folder / f"{REGION}_direct_emissions.csv.gz").items()
    dacf = read_dacf_forecast(folder / f"{REGION}_carbon_from_src_prod_forecasts_direct.csv.gz")
    truth = IntensityGrid({ZONE: truth_series})
    jobs_csv = _convert_first_day(shared_data, tmp_path, start=DAY_START, zone=ZONE)
    jobs = check_against_intensity(
        read_job_trace(jobs_csv), truth.grid, OnMissing.ERROR, source=str(jobs_csv)
    ).jobs
    n = len(jobs)
    assert n > 100
    power = default_power_model()
    belief = build_forecast(
        "provider", truth, 0.5, ForecastInputs(provider_forecasts={ZONE: dacf}), DAY
    )
    predicted = simulate(
        jobs,
        truth,
        SimulationSettings(policies=(POLICY,), power=power, forecast="provider"),
        forecast=belief,
    )

    suffix = uuid.uuid4().hex[:6]
    clock = VirtualClock.starting_now(SPEEDUP, virtual_epoch=DAY_START - timedelta(minutes=10))
    api = ElectricityMapsServer(
        now=clock.now,
        truth={ZONE: truth_series},
        forecasts={ZONE: dacf},
        forecast_until=_next_utc_midnight,
    )
    signal_ns = _namespace(kube, f"live-signal-{suffix}")
    off_ns = _namespace(kube, f"live-off-{suffix}")
    on_ns = _namespace(kube, f"live-on-{suffix}")
    try:  # the controller's Lease lives in the chart's namespace
        kube.create(
            NAMESPACES,
            {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "carbon-kube"}},
        )
    except KubeApiError as error:
        if not error.is_conflict:
            raise
    with serving(api):
        controller = ControllerProcess(
            lab.state_dir,
            clock,
            f"live-{suffix}",
            tmp_path / "controller.log",
            identity="live",
            # Release 2 virtual minutes early, as the e2e replay: at speed-up 720 every real
            # millisecond of API latency is 0.7 virtual seconds.
            extra_args=(
                *("--kinds", "job", "--no-label-nodes", "--release-lead", "2m"),
                *("--source", "electricitymaps", "--electricitymaps-url", api.base_url),
                *("--cache", str(tmp_path / "controller-cache.sqlite")),
                *("--publish-zones", str(ZONE), "--signal-namespace", signal_ns),
                *("--signal-interval", SIGNAL_INTERVAL, "--signal-model", "provider"),
            ),
            env={TOKEN_ENV_VAR: TOKEN},
        ).start()
        try:
            controller.wait_leading()

            def published() -> bool:
                try:
                    config_map = kube.get(CONFIG_MAPS, object_name(ZONE), signal_ns)
                except KubeApiError:
                    return False
                return decode(config_map["data"]).model == "provider"

            wait_for(published, timedelta(seconds=60), f"{ZONE}'s signal published")
            planner = build_planner(
                home_zone=str(ZONE),
                policy=POLICY,
                forecast="provider",
                source=SourceSettings(kind=SourceKind.PUBLISHED, signal_namespace=signal_ns),
                lab_state_dir=lab.state_dir,
                clock=clock,
            )
            webhook_for(clock, on_ns, planner)
            names, submitted_s = _submit_twice_and_wait(kube, jobs, clock, off_ns, on_ns)
        finally:
            controller.stop()

    on_jobs = {j["metadata"]["name"]: j for j in kube.list(JOBS, on_ns)}
    released_s = np.zeros(n)
    sources, models, stale = set(), set(), 0
    for i, name in enumerate(names):
        annotations = on_jobs[name]["metadata"]["annotations"]
        released = parse_rfc3339(annotations[RELEASED_AT], RELEASED_AT)
        released_s[i] = to_epoch_s(released)
        sources.add(annotations.get(SIGNAL_SOURCE))
        models.add(annotations.get(FORECAST_MODEL))
        stale += annotations.get(SIGNAL_STALE) == "true"

    power_kw = predicted.baseline.power_w / 1000.0
    zone_index = np.zeros(n, dtype=np.int64)

    def grams(start_s: np.ndarray) -> float:
        integral = truth.integral_by_zone(zone_index, start_s, start_s + jobs.duration_s)
        return float((power_kw * integral).sum())

    off_g, on_g = grams(submitted_s), grams(released_s)
    predicted_off_g = float(predicted.baseline.co2_g.sum())
    predicted_on_g = float(predicted.outcomes[POLICY].co2_g.sum())
    late_s = released_s + jobs.duration_s - jobs.deadline_s
    figures = {
        "jobs": n,
        "region": REGION,
        "day": f"{DAY_START:%Y-%m-%d}",
        "speedup": SPEEDUP,
        "lab_saved_pct": 100 * (1 - on_g / off_g),
        "simulator_saved_pct": 100 * (1 - predicted_on_g / predicted_off_g),
        "misses": int((late_s > 0).sum()),
        "plans_on_stale_signal": stale,
        "signal_sources": sorted(str(s) for s in sources),
        "forecast_models": sorted(str(m) for m in models),
        "release_minus_simulated_start_virtual_s_p50": float(
            np.median(released_s - predicted.outcomes[POLICY].schedule.start_s)
        ),
        "releases_off_the_simulated_hour": int(
            (np.abs(released_s - predicted.outcomes[POLICY].schedule.start_s) > 600).sum()
        ),
        "provider_requests": len(api.requests),
    }
    print("\nLive replay figures:", json.dumps(figures, indent=2))
    if FIGURES_ENV in os.environ:
        Path(os.environ[FIGURES_ENV]).write_text(json.dumps(figures, indent=2))
    for ns in (on_ns, off_ns, signal_ns):  # before the checks: a failure leaves nothing behind
        kube.delete(NAMESPACES, ns)
    assert sources == {"electricitymaps"}, (tmp_path / "controller.log").read_text()[-3000:]
    assert models == {"provider"}
    assert figures["misses"] == 0
    assert abs(figures["lab_saved_pct"] - figures["simulator_saved_pct"]) <= 1.0
    assert on_g < off_g
