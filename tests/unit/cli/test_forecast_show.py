"""``carbon-kube forecast show`` against the embedded data, a temp cache and recorded APIs."""

from __future__ import annotations

import importlib.util
import sqlite3
import sys
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

import httpx
import numpy as np
import pytest
import typer

from carbon_kube.cli.app import EXIT_INPUT_ERROR, EXIT_PROVIDER_ERROR, run_guarded
from carbon_kube.cli.forecast_show import make_show_command
from carbon_kube.domain.clock import FixedClock
from carbon_kube.domain.errors import InputError
from carbon_kube.domain.intensity import SignalKind
from carbon_kube.domain.zones import Zone
from carbon_kube.forecasting import build_models
from carbon_kube.forecasting.selection import AUTO_ORDER, choose_by_history
from carbon_kube.providers.caching import IntensityCache, SeriesKind
from carbon_kube.providers.embedded import EmbeddedProvider
from tests.http_fixtures import FAKE_SECRET, NOW, Recorded, clock, ok, status
from tests.paths import REPO_ROOT
from tests.provider_server import TOKEN, ElectricityMapsServer, serving

HOUR = timedelta(hours=1)


def run_show(
    recorded: Recorded | Callable[[], httpx.Client], *args: str, at: datetime = NOW
) -> int:
    """Run the real command through the CLI's error boundary; return its exit code."""
    factory = recorded.client if isinstance(recorded, Recorded) else recorded
    app = typer.Typer()
    app.command("show")(make_show_command(client_factory=factory, clock=FixedClock(at)))
    app.command("other")(lambda: None)  # two commands, so "show" is named as on the real CLI
    with pytest.raises(SystemExit) as exited:
        run_guarded(lambda: app(args=["show", *args], standalone_mode=True))
    return int(exited.value.code or 0)


@pytest.fixture(autouse=True)
def no_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ELECTRICITYMAPS_API_TOKEN", raising=False)


@pytest.fixture
def cache_path(tmp_path: Path) -> Path:
    return tmp_path / "cache.sqlite"


def _em_time(instant: datetime) -> str:
    return instant.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def past_range_from_embedded(request: httpx.Request) -> httpx.Response:
    """An Electricity Maps ``/past-range`` answer for the asked range, both ends included.

    The shape is that of ``fixtures/electricitymaps/past_range.json``; the values are the
    embedded DE year replayed at the asked dates, so weeks of history cost no fixture files.
    """
    start = datetime.fromisoformat(request.url.params["start"])
    end = datetime.fromisoformat(request.url.params["end"])
    series = EmbeddedProvider(clock()).history(Zone("DE"), start, end + HOUR)
    data = [
        {"zone": "DE", "carbonIntensity": round(float(v), 1), "datetime": _em_time(t)}
        for t, v in zip(series.timestamps(), series.values_g_per_kwh, strict=True)
    ]
    return httpx.Response(200, json={"zone": "DE", "data": data})


def em_history() -> Recorded:
    return Recorded().on("/v3/carbon-intensity/past-range", past_range_from_embedded)


def test_offline_default_forecasts_the_next_hours_from_the_embedded_data_and_plots(
    tmp_path: Path, cache_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    png = tmp_path / "plots" / "de.png"
    code = run_show(
        Recorded(),
        *("--zone", "DE", "--model", "persistence", "--horizon", "24h"),
        *("--cache", str(cache_path), "--plot", str(png)),
    )
    out = capsys.readouterr().out
    assert code == 0, out
    # The clock says 12:10, so the history ends (and the forecast starts) at 12:00.
    assert "2024-03-01 12:00" in out
    assert "2024-03-02 11:00" in out
    assert "2024-03-02 12:00" not in out
    assert "history: the embedded dataset" in out
    assert "STALE" not in out
    assert png.read_bytes()[:4] == b"\x89PNG"
    assert [p.name for p in png.parent.iterdir()] == ["de.png"]  # no temp file left behind


def test_auto_falls_back_to_a_simpler_model_and_prints_why(
    cache_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = run_show(
        Recorded(),
        *("--zone", "DE", "--history", "40d", "--horizon", "72h", "--cache", str(cache_path)),
    )
    out = capsys.readouterr().out
    assert code == 0, out
    assert "seasonal-naive forecast" in out
    assert "auto: using seasonal-naive (lightgbm needs 87 days of history, found 40 days)" in out


def test_too_little_history_for_the_chosen_model_says_what_is_needed_and_found(
    cache_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = run_show(
        Recorded(),
        *("--zone", "DE", "--model", "seasonal-naive", "--history", "10d"),
        *("--cache", str(cache_path)),
    )
    err = capsys.readouterr().err
    assert code == EXIT_INPUT_ERROR
    assert err.count("\n") == 1
    assert "needs at least 35 days" in err
    assert "found 10 days" in err


def test_too_little_history_for_any_auto_model_is_one_line(
    cache_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = run_show(Recorded(), "--zone", "DE", "--history", "5d", "--cache", str(cache_path))
    err = capsys.readouterr().err
    assert code == EXIT_INPUT_ERROR
    assert err.count("\n") == 1
    assert "persistence needs at least 10 days, found 120 h" in err


@pytest.mark.parametrize(
    ("model", "want"),
    [
        ("lightgbm", "model lightgbm forecasts at most 72 h ahead, asked for 96 h"),
        ("persistence", "model persistence forecasts at most 72 h ahead, asked for 96 h"),
    ],
)
def test_a_horizon_beyond_the_model_is_one_line_and_exit_2(
    model: str, want: str, cache_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = run_show(
        Recorded(),
        *("--zone", "DE", "--model", model, "--horizon", "96h", "--cache", str(cache_path)),
    )
    err = capsys.readouterr().err
    assert code == EXIT_INPUT_ERROR
    assert err.count("\n") == 1
    assert want in err


def test_a_zone_without_embedded_data_is_a_user_error(
    cache_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = run_show(Recorded(), "--zone", "US-CAL-CISO", "--cache", str(cache_path))
    assert code == EXIT_INPUT_ERROR
    assert "zone US-CAL-CISO is not in the embedded dataset" in capsys.readouterr().err


def test_the_provider_model_on_embedded_data_explains_where_forecasts_come_from(
    cache_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = run_show(Recorded(), "--zone", "DE", "--model", "provider", "--cache", str(cache_path))
    assert code == EXIT_INPUT_ERROR
    assert "has no forecast of its own" in capsys.readouterr().err


def test_intensity_files_and_a_live_source_together_are_refused(
    tmp_path: Path, cache_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    history = tmp_path / "x.csv"
    history.write_text("timestamp,zone,g_per_kwh\n")
    code = run_show(
        Recorded(),
        *("--zone", "DE", "--source", "electricitymaps", "--intensity", str(history)),
        *("--cache", str(cache_path)),
    )
    assert code == EXIT_INPUT_ERROR
    assert "drop one of them" in capsys.readouterr().err


def test_with_a_token_history_comes_from_electricity_maps_and_is_cached(
    cache_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ELECTRICITYMAPS_API_TOKEN", FAKE_SECRET)
    recorded = em_history()
    code = run_show(
        recorded,
        *("--zone", "DE", "--model", "persistence", "--horizon", "72h"),
        *("--cache", str(cache_path)),
    )
    out = capsys.readouterr().out
    assert code == 0, out
    # Persistence needs 3 + 7 days for 72 h: one past-range request (at most 10 days each).
    assert recorded.paths() == ["/v3/carbon-intensity/past-range"]
    assert recorded.requests[0].headers["auth-token"] == FAKE_SECRET
    assert "history: electricitymaps" in out
    assert "2024-03-04 11:00" in out
    cached = IntensityCache(cache_path, clock=clock()).last_series(
        SeriesKind.HISTORY, Zone("DE"), NOW - timedelta(days=10), NOW, SignalKind.AVERAGE
    )
    assert cached is not None
    assert len(cached) == 240


def test_an_api_outage_after_a_good_run_serves_the_cache_flagged_stale(
    cache_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ELECTRICITYMAPS_API_TOKEN", FAKE_SECRET)
    args = ("--zone", "DE", "--model", "persistence", "--cache", str(cache_path))
    assert run_show(em_history(), *args) == 0
    with sqlite3.connect(cache_path) as db:
        db.execute("UPDATE series SET fetched_at_s = fetched_at_s - 86400")
    capsys.readouterr()
    broken = Recorded().on("/v3/carbon-intensity/past-range", status(403))
    code = run_show(broken, *args)
    out = capsys.readouterr().out
    assert code == 0, out
    assert broken.requests, "the API must be asked before the cache is used"
    assert "STALE: the live source could not be reached" in out
    assert "(STALE: from the cache)" in out


def test_an_api_outage_with_an_empty_cache_exits_3_with_one_line(
    cache_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ELECTRICITYMAPS_API_TOKEN", FAKE_SECRET)
    broken = Recorded().on("/v3/carbon-intensity/past-range", status(401, "bad token"))
    code = run_show(broken, "--zone", "DE", "--model", "persistence", "--cache", str(cache_path))
    err = capsys.readouterr().err
    assert code == EXIT_PROVIDER_ERROR
    assert err.count("\n") == 1
    assert "nothing is cached" in err


def test_the_cache_source_reads_what_an_earlier_run_fetched(
    cache_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ELECTRICITYMAPS_API_TOKEN", FAKE_SECRET)
    args = ("--zone", "DE", "--model", "persistence", "--cache", str(cache_path))
    assert run_show(em_history(), *args) == 0
    capsys.readouterr()
    monkeypatch.delenv("ELECTRICITYMAPS_API_TOKEN")
    offline = Recorded()
    code = run_show(offline, *args, "--source", "cache")
    out = capsys.readouterr().out
    assert code == 0, out
    assert offline.requests == []
    assert "history: the cache" in out
    assert "could not be reached" not in out


def test_the_cache_source_with_nothing_cached_says_how_to_fill_it(
    cache_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code = run_show(Recorded(), "--zone", "DE", "--source", "cache", "--cache", str(cache_path))
    err = capsys.readouterr().err
    assert code == EXIT_INPUT_ERROR
    assert "carbon-kube intensity fetch --zone DE" in err


def test_the_provider_model_shows_the_live_forecast_up_to_its_own_reach(
    cache_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ELECTRICITYMAPS_API_TOKEN", FAKE_SECRET)
    recorded = (
        Recorded()
        .on("/v3/carbon-intensity/history", ok("electricitymaps", "history.json"))
        .on("/v3/carbon-intensity/forecast", ok("electricitymaps", "forecast.json"))
    )
    args = ("--zone", "DE", "--model", "provider", "--cache", str(cache_path))
    code = run_show(recorded, *args, "--horizon", "24h")
    out = capsys.readouterr().out
    assert code == 0, out
    assert "provider forecast from 2024-03-01 12:00" in out
    assert set(recorded.paths()) == {
        "/v3/carbon-intensity/history",
        "/v3/carbon-intensity/forecast",
    }
    # The recorded forecast runs 12:00 .. 12:00 the next day (25 hours): 72 h is too far.
    code = run_show(recorded, *args, "--horizon", "72h")
    err = capsys.readouterr().err
    assert code == EXIT_INPUT_ERROR
    assert "model provider forecasts at most 25 h ahead, asked for 72 h" in err


def test_auto_choice_takes_the_best_model_the_history_allows() -> None:
    horizon = timedelta(hours=24)
    models = build_models(
        ["lightgbm", "seasonal-naive", "persistence"], horizon=horizon, always_baselines=False
    )
    chosen, notes = choose_by_history(models, timedelta(days=100), horizon)
    assert (chosen.name, notes) == ("lightgbm", ())
    chosen, notes = choose_by_history(models, timedelta(days=9), horizon)
    assert chosen.name == "persistence"
    assert "seasonal-naive needs 35 days of history, found 9 days" in notes[0]
    with pytest.raises(InputError, match="persistence needs at least 8 days, found 48 h"):
        choose_by_history(models, timedelta(days=2), horizon)


def uk_national_range_from_embedded(request: httpx.Request) -> httpx.Response:
    """The UK API's ``/intensity/{from}/{to}``: half-hours from the one ending at ``from``.

    Shape of ``fixtures/ukcarbon/intensity_range.json``; values are the embedded GB year (hourly)
    replayed, each hour given as two equal half-hours, so hourly means must give them back.
    """
    _, _, begin, finish = request.url.path.split("/")
    start = datetime.fromisoformat(begin.replace("Z", ":00+00:00"))
    end = datetime.fromisoformat(finish.replace("Z", ":00+00:00"))
    series = EmbeddedProvider(clock()).history(Zone("GB"), start - HOUR, end)
    half = timedelta(minutes=30)
    data = []
    for hour, value in zip(series.timestamps(), series.values_g_per_kwh, strict=True):
        for at in (hour, hour + half):
            if start - half <= at < end:
                fmt = "%Y-%m-%dT%H:%MZ"
                data.append(
                    {
                        "from": at.strftime(fmt),
                        "to": (at + half).strftime(fmt),
                        "intensity": {"forecast": 1, "actual": float(value), "index": "low"},
                    }
                )
    return httpx.Response(200, json={"data": data})


def test_the_uk_source_forecasts_gb_from_half_hours_averaged_to_hours(
    cache_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    seen: list[str] = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.path)
        return uk_national_range_from_embedded(request)

    code = run_show(
        lambda: httpx.Client(transport=httpx.MockTransport(handle)),
        *("--zone", "GB", "--source", "ukcarbon", "--model", "persistence"),
        *("--horizon", "24h", "--cache", str(cache_path)),
    )
    out = capsys.readouterr().out
    assert code == 0, out
    assert seen
    assert all(path.startswith("/intensity/") for path in seen)
    assert "history: ukcarbon" in out
    assert "values averaged to hours" in out
    assert "2024-03-02 11:00" in out
    assert "2024-03-01 12:30" not in out  # hourly rows, not half-hourly
    # Persistence for tomorrow 11:00 is today's 11:00, which the half-hours must reproduce.
    eleven = NOW.replace(minute=0) - HOUR
    today = EmbeddedProvider(clock()).history(Zone("GB"), eleven, eleven + HOUR)
    row = next(line for line in out.splitlines() if "2024-03-02 11:00" in line)
    p50 = row.split("│")[3].strip()
    assert p50 == f"{today.values_g_per_kwh[0]:.0f}"


def test_hourly_means_drop_partial_hours_at_both_ends() -> None:
    from carbon_kube.domain.intensity import IntensitySeries
    from carbon_kube.planning.history import hourly_means

    half = timedelta(minutes=30)
    series = IntensitySeries(
        Zone("GB"), NOW.replace(minute=30), half, np.array([9.0, 100.0, 200.0, 300.0, 400.0, 7.0])
    )
    hourly = hourly_means(series)
    assert hourly.start == NOW.replace(minute=0) + HOUR
    assert hourly.step == HOUR
    assert list(hourly.values_g_per_kwh) == [150.0, 350.0]


def test_the_docs_section_is_the_bench_scripts_and_its_history_needs_match_the_models() -> None:
    root = REPO_ROOT
    spec = importlib.util.spec_from_file_location(
        "forecast_backtest_bench", root / "bench" / "forecast_backtest.py"
    )
    assert spec is not None
    assert spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = bench  # dataclasses look their module up while the class is built
    spec.loader.exec_module(bench)
    section: str = bench.SHOW_SECTION
    assert section in (root / "docs" / "forecasting.md").read_text(encoding="utf-8")
    horizon = timedelta(hours=72)
    needs = {
        m.name: m.required_history(horizon).days
        for m in build_models(list(AUTO_ORDER), horizon=horizon, always_baselines=False)
    }
    stated = (
        f"lightgbm {needs['lightgbm']} days, seasonal-naive {needs['seasonal-naive']} days, "
        f"persistence {needs['persistence']} days"
    )
    assert stated in " ".join(section.split())


def test_the_uk_forecast_late_in_an_hour_starts_at_the_next_whole_hour(
    tmp_path: Path, cache_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    png = tmp_path / "gb.png"

    def handle(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/fw48h"):
            return ok("ukcarbon", "intensity_fw48h.json")
        return uk_national_range_from_embedded(request)

    # At 12:40 the API's forecast starts with the 12:30 half-hour: no whole hour before 13:00.
    code = run_show(
        lambda: httpx.Client(transport=httpx.MockTransport(handle)),
        *("--zone", "GB", "--source", "ukcarbon", "--model", "provider"),
        *("--horizon", "24h", "--cache", str(cache_path), "--plot", str(png)),
        at=NOW.replace(minute=40),
    )
    out = capsys.readouterr().out
    assert code == 0, out
    assert "provider forecast from 2024-03-01 13:00" in out
    assert "p10 = p90 = p50" in out
    assert "2024-03-02 12:00" in out
    assert "2024-03-02 13:00" not in out
    assert png.read_bytes()[:4] == b"\x89PNG"


def test_a_cache_file_that_cannot_be_opened_is_one_line_naming_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ELECTRICITYMAPS_API_TOKEN", FAKE_SECRET)
    not_a_database = tmp_path / "cache.sqlite"
    not_a_database.write_text("this is not SQLite, " * 100, encoding="utf-8")
    code = run_show(em_history(), "--zone", "DE", "--cache", str(not_a_database))
    err = capsys.readouterr().err
    assert code == EXIT_INPUT_ERROR
    assert err.count("\n") == 1
    assert "cannot open the intensity cache" in err
    assert "cache.sqlite" in err


def test_electricity_maps_without_a_token_names_the_variable_and_asks_nothing(
    cache_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    recorded = em_history()
    code = run_show(
        recorded, "--zone", "DE", "--source", "electricitymaps", "--cache", str(cache_path)
    )
    assert code == EXIT_INPUT_ERROR
    assert "ELECTRICITYMAPS_API_TOKEN" in capsys.readouterr().err
    assert recorded.requests == []


@pytest.mark.loopback
def test_a_settable_base_url_points_forecast_show_at_another_server(
    monkeypatch: pytest.MonkeyPatch, cache_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Tests and air-gapped proxies: the same command, another Electricity Maps endpoint."""
    monkeypatch.setenv("ELECTRICITYMAPS_API_TOKEN", TOKEN)
    start = NOW.replace(minute=0) - timedelta(days=3)
    truth = {Zone("DE"): EmbeddedProvider(clock()).history(Zone("DE"), start, NOW + HOUR)}
    forecast = {Zone("DE"): EmbeddedProvider(clock()).history(Zone("DE"), NOW, NOW + 30 * HOUR)}
    server = ElectricityMapsServer(now=lambda: NOW, truth=truth, forecasts=forecast)
    with serving(server) as running:
        code = run_show(
            httpx.Client,
            *("--zone", "DE", "--source", "electricitymaps", "--model", "provider"),
            *("--horizon", "24h", "--cache", str(cache_path)),
            *("--electricitymaps-url", running.base_url),
        )

    assert code == 0, capsys.readouterr().err
    assert "/v3/carbon-intensity/forecast" in {path for path, _ in server.requests}
