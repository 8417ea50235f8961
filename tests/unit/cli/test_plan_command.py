"""``carbon-kube plan``: the webhook's plan for the options given, offline and on a live API."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from carbon_kube.cli.app import main
from carbon_kube.domain.annotations import EXPECTED_DURATION, MAX_DELAY
from carbon_kube.domain.clock import FixedClock
from carbon_kube.domain.instants import parse_rfc3339
from carbon_kube.domain.intensity import IntensitySeries
from carbon_kube.domain.zones import Zone
from carbon_kube.planning import PlanningService, PlanningSettings
from carbon_kube.providers.embedded import EmbeddedProvider
from carbon_kube.providers.regions import load_region_zone_map
from carbon_kube.webhook.admission import serve_mutate
from carbon_kube.webhook.reviews import AdmissionReviewRequest
from tests.admission_builders import an_object, recorded_annotations
from tests.entsoe_server import TOKEN as ENTSOE_TOKEN
from tests.entsoe_server import EntsoeServer
from tests.provider_server import TOKEN, ElectricityMapsServer, serving

AT = datetime(2026, 3, 2, 6, 10, tzinfo=UTC)
HOUR = timedelta(hours=1)
REQUIRED_KEYS = {
    "zone",
    "release_at",
    "latest_start",
    "reason",
    "forecast_g_per_kwh",
    "source",
    "model",
    "stale",
    "expected_co2_g",
    "baseline_co2_g",
}


def run_plan(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, Any], str]:
    with pytest.raises(SystemExit) as exited:
        main(["plan", "-o", "json", *args])
    out = capsys.readouterr()
    code = int(exited.value.code or 0)
    return code, (json.loads(out.out) if code == 0 else {}), out.err


def test_offline_on_the_embedded_default_it_prints_the_plan_the_webhook_records(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, report, _ = run_plan(
        capsys,
        *("--zone", "DE", "--max-delay", "8h", "--expected-duration", "2h"),
        *("--cpus", "1", "--memory-gib", "1", "--at", "2026-03-02T06:10:00Z"),
    )

    assert code == 0
    assert report.keys() >= REQUIRED_KEYS
    assert (report["source"], report["model"], report["stale"]) == (
        "embedded",
        "persistence",
        False,
    )
    clock = FixedClock(AT)
    webhook_planner = PlanningService(
        EmbeddedProvider(clock), clock, PlanningSettings(home_zone="DE")
    )
    review = (
        an_object("Job", "j")
        .flexible()
        .annotated(MAX_DELAY, "8h")
        .annotated(EXPECTED_DURATION, "2h")
        .review()
    )
    answer = serve_mutate(
        AdmissionReviewRequest.model_validate(review),
        webhook_planner,
        regions=load_region_zone_map(),
    )
    assert report["annotations"] == recorded_annotations(answer)
    release_at = parse_rfc3339(report["release_at"], "release_at")
    assert AT <= release_at <= parse_rfc3339(report["latest_start"], "latest_start")
    assert report["expected_co2_g"] <= report["baseline_co2_g"]


def test_the_table_output_names_the_source_and_the_model(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["plan", "--zone", "FR", "--max-delay", "4h", "--at", "2026-03-02T06:10:00Z"])

    out = capsys.readouterr().out
    assert exited.value.code in (0, None)
    for shown in ("embedded", "persistence", "release at"):
        assert shown in out


def _hourly(zone: str, start: datetime, values: list[float]) -> IntensitySeries:
    return IntensitySeries(
        zone=Zone(zone), start=start, step=HOUR, values_g_per_kwh=np.asarray(values)
    )


@pytest.fixture
def api(monkeypatch: pytest.MonkeyPatch) -> Iterator[ElectricityMapsServer]:
    """Electricity Maps on loopback: a flat DE day observed, a forecast with one clean hour."""
    monkeypatch.setenv("ELECTRICITYMAPS_API_TOKEN", TOKEN)
    day_before = AT.replace(minute=0) - timedelta(days=2)
    truth = {Zone("DE"): _hourly("DE", day_before, [300.0] * 48)}
    forecast = [400.0] * 24
    forecast[3] = 55.0  # 09:00 UTC
    forecasts = {Zone("DE"): _hourly("DE", AT.replace(minute=0), forecast)}
    server = ElectricityMapsServer(now=lambda: AT, truth=truth, forecasts=forecasts)
    with serving(server) as running:
        yield running


def _live_args(
    api: ElectricityMapsServer, tmp_path: Path, *more: str, at: str = "2026-03-02T06:10:00Z"
) -> tuple[str, ...]:
    return (
        *("--zone", "DE", "--max-delay", "8h", "--expected-duration", "1h"),
        *("--source", "electricitymaps", "--electricitymaps-url", api.base_url),
        *("--cache", str(tmp_path / "cache.sqlite"), "--at", at),
        *more,
    )


@pytest.mark.loopback
def test_online_it_plans_on_the_providers_forecast_and_names_it(
    capsys: pytest.CaptureFixture[str], api: ElectricityMapsServer, tmp_path: Path
) -> None:
    code, report, _ = run_plan(capsys, *_live_args(api, tmp_path, "--forecast", "provider"))

    assert code == 0
    assert report["release_at"] == "2026-03-02T09:00:00Z"
    assert report["forecast_g_per_kwh"] == pytest.approx(55.0)
    assert (report["source"], report["model"], report["stale"]) == (
        "electricitymaps",
        "provider",
        False,
    )
    assert report["annotations"]["carbon-kube.io/forecast-model"] == "provider"
    assert {path for path, _ in api.requests} >= {
        "/v3/carbon-intensity/past-range",
        "/v3/carbon-intensity/forecast",
    }


@pytest.mark.loopback
def test_a_provider_down_gives_the_no_signal_plan_and_exit_zero(
    capsys: pytest.CaptureFixture[str], api: ElectricityMapsServer, tmp_path: Path
) -> None:
    api.fault = "garbage"  # a permanent failure: no retries, so the test stays quick

    code, report, err = run_plan(capsys, *_live_args(api, tmp_path, "--forecast", "provider"))

    assert code == 0
    assert report["reason"] == "no-signal"
    assert report["stale"] is True
    assert report["source"] == "none"
    # Released by its latest safe start (less the latency-risk margin), never held past it.
    assert (
        AT < parse_rfc3339(report["release_at"], "r") <= parse_rfc3339(report["latest_start"], "l")
    )
    assert "Traceback" not in err


@pytest.mark.loopback
def test_after_the_provider_fails_the_cache_serves_and_the_plan_says_stale(
    capsys: pytest.CaptureFixture[str], api: ElectricityMapsServer, tmp_path: Path
) -> None:
    code, fresh, _ = run_plan(capsys, *_live_args(api, tmp_path))
    assert code == 0
    assert fresh["stale"] is False
    api.fault = "wrong-zone"  # an answer for another zone is garbage, never data

    code, report, _ = run_plan(capsys, *_live_args(api, tmp_path, at="2026-03-02T08:10:00Z"))

    assert code == 0
    assert report["reason"] != "no-signal"
    assert report["stale"] is True
    assert report["source"] == "electricitymaps"


@pytest.mark.parametrize(
    ("args", "want"),
    [
        (("--source", "electricitymaps", "--forecast", "oracle"), "use --forecast provider"),
        (("--deadline", "2026-03-02T12:00:00Z"), "set exactly one of"),
        (("--expected-duration", "soon"), "carbon-kube.io/expected-duration"),
        (("--at", "yesterday"), "--at"),
    ],
)
def test_user_mistakes_are_one_line_and_exit_two(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    args: tuple[str, ...],
    want: str,
) -> None:
    monkeypatch.setenv("ELECTRICITYMAPS_API_TOKEN", TOKEN)

    code, _, err = run_plan(capsys, "--zone", "DE", "--max-delay", "6h", *args)

    assert code == 2
    assert want in err
    assert "Traceback" not in err


@pytest.mark.loopback
def test_on_entsoe_it_plans_on_the_generation_mix_and_never_logs_the_token(
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    monkeypatch.setenv("ENTSOE_API_TOKEN", ENTSOE_TOKEN)
    caplog.set_level(logging.INFO)  # as a server at --log-level INFO
    # Three weeks of a daily shape that is clean at 12:00 UTC, the hour persistence repeats.
    start = AT.replace(hour=0, minute=0) - timedelta(days=21)
    day = [300.0] * 24
    day[12] = 40.0
    truth = {Zone("DE"): _hourly("DE", start, day * 22)}
    with serving(EntsoeServer(now=lambda: AT, truth=truth)) as api:
        code, report, err = run_plan(
            capsys,
            *("--zone", "DE", "--max-delay", "10h", "--expected-duration", "1h"),
            *("--source", "entsoe", "--entsoe-url", api.base_url),
            *("--cache", str(tmp_path / "cache.sqlite"), "--at", "2026-03-02T06:10:00Z"),
        )

    assert code == 0, err
    assert (report["source"], report["stale"]) == ("entsoe", False)
    assert report["release_at"] == "2026-03-02T12:00:00Z"
    assert report["forecast_g_per_kwh"] == pytest.approx(40.0, abs=0.01)
    assert set(api.requests) == {"10Y1001A1001A83F"}
    # ENTSO-E's token travels in the query string; httpx would log it with each URL.
    assert ENTSOE_TOKEN not in caplog.text
