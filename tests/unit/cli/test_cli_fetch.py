from __future__ import annotations

import sqlite3
from datetime import timedelta
from pathlib import Path

import pytest
import typer

from carbon_kube.cli.app import EXIT_INPUT_ERROR, EXIT_PROVIDER_ERROR, run_guarded
from carbon_kube.cli.fetch import make_fetch_command
from carbon_kube.domain.zones import Zone
from carbon_kube.providers.caching import IntensityCache, SeriesKind
from tests.http_fixtures import FAKE_SECRET, NOW, Recorded, clock, ok, status


def run_fetch(recorded: Recorded, *args: str) -> int:
    """Run the real command through the CLI's error boundary; return its exit code."""
    app = typer.Typer()
    app.command("fetch")(make_fetch_command(client_factory=recorded.client, clock=clock()))
    app.command("other")(lambda: None)  # two commands, so "fetch" is named as on the real CLI
    with pytest.raises(SystemExit) as exited:
        run_guarded(lambda: app(args=["fetch", *args], standalone_mode=True))
    return int(exited.value.code or 0)


@pytest.fixture(autouse=True)
def no_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("ELECTRICITYMAPS_API_TOKEN", "WATTTIME_USERNAME", "WATTTIME_PASSWORD"):
        monkeypatch.delenv(name, raising=False)


def em_routes() -> Recorded:
    return (
        Recorded()
        .on("/v3/carbon-intensity/latest", ok("electricitymaps", "latest.json"))
        .on("/v3/carbon-intensity/forecast", ok("electricitymaps", "forecast.json"))
    )


def test_fetch_fills_the_cache_with_latest_and_forecast(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ELECTRICITYMAPS_API_TOKEN", FAKE_SECRET)
    cache_path = tmp_path / "cache.sqlite"
    recorded = em_routes()
    code = run_fetch(
        recorded, "--source", "electricitymaps", "--zone", "DE", "--cache", str(cache_path)
    )
    assert code == 0
    assert recorded.requests[0].headers["auth-token"] == FAKE_SECRET
    cache = IntensityCache(cache_path, clock=clock())
    assert cache.fresh_reading("electricitymaps", Zone("DE")) is not None
    forecast = cache.fresh_series(
        "electricitymaps",
        SeriesKind.FORECAST,
        Zone("DE"),
        NOW,
        NOW + timedelta(hours=24),
    )
    assert forecast is not None
    assert "forecast" in capsys.readouterr().out


def test_fetch_with_start_and_end_caches_history(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ELECTRICITYMAPS_API_TOKEN", FAKE_SECRET)
    recorded = Recorded().on(
        "/v3/carbon-intensity/past-range", ok("electricitymaps", "past_range.json")
    )
    code = run_fetch(
        recorded,
        *("--source", "electricitymaps", "--zone", "DE", "--cache", str(tmp_path / "c.sqlite")),
        *("--start", "2024-01-10", "--end", "2024-01-10T06:00:00Z"),
    )
    assert code == 0
    assert recorded.requests[0].url.params["start"] == "2024-01-10T00:00:00Z"


def test_a_missing_token_is_one_line_naming_the_variable_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    recorded = em_routes()
    code = run_fetch(
        recorded, "--source", "electricitymaps", "--zone", "DE", "--cache", str(tmp_path / "c")
    )
    err = capsys.readouterr().err
    assert code == EXIT_INPUT_ERROR
    assert err.count("\n") == 1
    assert "ELECTRICITYMAPS_API_TOKEN" in err
    assert recorded.requests == []


def test_missing_watttime_credentials_name_both_variables_in_turn(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ("--source", "watttime", "--zone", "US-CAL-CISO", "--cache", str(tmp_path / "c"))
    assert run_fetch(Recorded(), *args) == EXIT_INPUT_ERROR
    assert "WATTTIME_USERNAME" in capsys.readouterr().err
    monkeypatch.setenv("WATTTIME_USERNAME", "ada")
    assert run_fetch(Recorded(), *args) == EXIT_INPUT_ERROR
    assert "WATTTIME_PASSWORD" in capsys.readouterr().err


def test_watttime_values_are_shown_as_marginal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("WATTTIME_USERNAME", "ada")
    monkeypatch.setenv("WATTTIME_PASSWORD", FAKE_SECRET)
    recorded = (
        Recorded()
        .on("/login", ok("watttime", "login.json"))
        .on("/v3/historical", ok("watttime", "historical.json"))
        .on("/v3/forecast", ok("watttime", "forecast.json"))
    )
    code = run_fetch(
        recorded,
        *("--source", "watttime", "--zone", "US-MIDA-PJM", "--watttime-region", "CAISO_NORTH"),
        *("--cache", str(tmp_path / "c")),
    )
    assert code == 0
    assert "marginal" in capsys.readouterr().out


def test_a_zone_the_uk_api_does_not_know_is_a_user_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = run_fetch(
        Recorded(), "--source", "ukcarbon", "--zone", "DE", "--cache", str(tmp_path / "c")
    )
    assert code == EXIT_INPUT_ERROR
    assert "GB-R1 .. GB-R17" in capsys.readouterr().err


def test_an_api_outage_with_an_empty_cache_exits_3_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Retries would sleep for real here: a 401 fails at once without retrying.
    monkeypatch.setenv("ELECTRICITYMAPS_API_TOKEN", FAKE_SECRET)
    recorded = Recorded().on("/v3/carbon-intensity/latest", status(401, "bad token"))
    code = run_fetch(
        recorded, "--source", "electricitymaps", "--zone", "DE", "--cache", str(tmp_path / "c")
    )
    err = capsys.readouterr().err
    assert code == EXIT_PROVIDER_ERROR
    assert err.count("\n") == 1
    assert "ELECTRICITYMAPS_API_TOKEN" in err


def test_an_api_outage_after_a_good_fetch_shows_stale_data(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ELECTRICITYMAPS_API_TOKEN", FAKE_SECRET)
    cache_path = tmp_path / "c.sqlite"
    args = ("--source", "electricitymaps", "--zone", "DE", "--cache", str(cache_path))
    assert run_fetch(em_routes(), *args) == 0
    # Expire the fresh entries, then let the API refuse.
    with sqlite3.connect(cache_path) as db:
        db.execute("UPDATE readings SET fetched_at_s = fetched_at_s - 86400")
        db.execute("UPDATE series SET fetched_at_s = fetched_at_s - 86400")
    capsys.readouterr()
    broken = (
        Recorded()
        .on("/v3/carbon-intensity/latest", status(403))
        .on("/v3/carbon-intensity/forecast", status(403))
    )
    assert run_fetch(broken, *args) == 0
    assert "STALE" in capsys.readouterr().out
