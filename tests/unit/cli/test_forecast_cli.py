import json
from datetime import timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from carbon_kube.cli import app as cli_app
from carbon_kube.providers.files import write_intensity_csv
from tests.builders import make_daily_series


@pytest.fixture
def intensity_csv(tmp_path: Path) -> Path:
    path = tmp_path / "de.csv"
    write_intensity_csv([make_daily_series(50)], path)
    return path


def run(args: list[str]) -> tuple[int, str, str]:
    """Run the CLI behind its error boundary, as the console script does."""
    runner = CliRunner()
    result = runner.invoke(cli_app.app, args, catch_exceptions=True, standalone_mode=True)
    if result.exception and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result.exit_code, result.stdout, result.stderr


def test_backtest_writes_metrics_for_the_baselines_always(intensity_csv, tmp_path):
    out = tmp_path / "out"
    code, stdout, _ = run(
        [
            "forecast",
            "backtest",
            "--intensity",
            str(intensity_csv),
            "--zone",
            "DE",
            "--start",
            "2022-02-06",
            "--end",
            "2022-02-16",
            "--horizon",
            "24h",
            "--model",
            "persistence",
            "--out",
            str(out),
        ]
    )
    assert code == 0, stdout
    metrics = json.loads((out / "metrics.json").read_text())
    assert set(metrics) == {"persistence", "seasonal-naive"}
    assert metrics["persistence"]["n"] == 10 * 24
    assert set(metrics["persistence"]) == {"mape_pct", "mae_g_per_kwh", "n"}
    assert (out / "per_horizon.csv").read_text().startswith("horizon_h,model,mape_pct")
    assert (out / "backtest.png").read_bytes()[:4] == b"\x89PNG"
    assert not [p for p in out.iterdir() if p.name.startswith(".")]  # no temp files left


def test_a_start_too_early_for_a_model_is_one_line_and_exit_code_2(intensity_csv, tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli_app.main(
            [
                "forecast",
                "backtest",
                "--intensity",
                str(intensity_csv),
                "--zone",
                "DE",
                "--start",
                "2022-01-10",
                "--end",
                "2022-01-20",
                "--out",
                str(tmp_path / "o"),
                "--model",
                "persistence",
            ]
        )
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip()
    assert "model seasonal-naive needs 35 days of history" in err
    assert "start on or after 2022-02-05" in err
    assert "\n" not in err


def test_an_unknown_model_is_refused_with_the_choices(intensity_csv, tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli_app.main(
            [
                "forecast",
                "backtest",
                "--intensity",
                str(intensity_csv),
                "--zone",
                "DE",
                "--start",
                "2022-02-06",
                "--end",
                "2022-02-08",
                "--out",
                str(tmp_path / "o"),
                "--model",
                "prophet",
            ]
        )
    assert exit_info.value.code == 2
    assert "choose from persistence, seasonal-naive, provider, lightgbm" in capsys.readouterr().err


def test_show_prints_the_next_hours_and_plots_them(intensity_csv, tmp_path):
    plot = tmp_path / "show.png"
    code, stdout, _ = run(
        [
            "forecast",
            "show",
            "--zone",
            "DE",
            "--intensity",
            str(intensity_csv),
            "--model",
            "seasonal-naive",
            "--origin",
            "2022-02-10",
            "--horizon",
            "72h",
            "--plot",
            str(plot),
        ]
    )
    assert code == 0, stdout
    assert "2022-02-12 23:00" in stdout
    assert "2022-02-13 00:00" not in stdout
    assert "lowest p50" in stdout
    assert plot.read_bytes()[:4] == b"\x89PNG"


def test_show_with_the_learned_model_without_weather_says_so(tmp_path):
    intensity_csv = tmp_path / "long.csv"
    write_intensity_csv([make_daily_series(90)], intensity_csv)
    code, stdout, _ = run(
        [
            "forecast",
            "show",
            "--zone",
            "DE",
            "--intensity",
            str(intensity_csv),
            "--horizon",
            "24h",
        ]
    )
    assert code == 0, stdout
    assert "no weather covariates" in stdout


def test_a_malformed_horizon_is_an_input_error(intensity_csv, capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli_app.main(
            [
                "forecast",
                "show",
                "--zone",
                "DE",
                "--intensity",
                str(intensity_csv),
                "--horizon",
                "soon",
            ]
        )
    assert exit_info.value.code == 2
    assert "expected a duration such as 24h" in capsys.readouterr().err


def test_horizon_durations_parse_hours_and_days():
    from carbon_kube.cli.options import parse_hours

    assert parse_hours("24h", "--horizon") == timedelta(hours=24)
    assert parse_hours("3d", "--horizon") == timedelta(hours=72)


def test_backtest_reads_the_electricity_maps_export(tmp_path):
    series = make_daily_series(45, zone="GB")
    path = tmp_path / "GB_2022_hourly.csv"
    lines = [
        "Datetime (UTC),Country,Zone Name,Zone Id,Carbon Intensity gCO₂eq/kWh (direct),"
        "Carbon Intensity gCO₂eq/kWh (LCA),Low Carbon Percentage,Renewable Percentage,"
        "Data Source,Data Estimated,Data Estimation Method"
    ]
    for instant, value in zip(series.timestamps(), series.values_g_per_kwh, strict=True):
        lines.append(
            f"{instant:%Y-%m-%d %H:%M:%S},United Kingdom,Great Britain,GB,{value * 0.9:.2f},"
            f"{value:.2f},50,40,elexon.co.uk,false,"
        )
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = tmp_path / "out"
    code, stdout, _ = run(
        [
            "forecast",
            "backtest",
            "--intensity",
            str(path),
            "--zone",
            "GB",
            "--start",
            "2022-02-06",
            "--end",
            "2022-02-10",
            "--model",
            "persistence",
            "--out",
            str(out),
        ]
    )
    assert code == 0, stdout
    assert json.loads((out / "metrics.json").read_text())["persistence"]["n"] == 4 * 24


@pytest.mark.shared_data
def test_backtest_scores_dacfs_own_forecast_as_the_provider_model(shared_data, tmp_path):
    folder = shared_data / "dacf-carbon-forecasts-2020-2021"
    out = tmp_path / "out"
    code, stdout, _ = run(
        [
            "forecast",
            "backtest",
            "--zone",
            "US-MIDA-PJM",
            "--intensity",
            str(folder / "PJM_direct_emissions.csv.gz"),
            "--provider-forecast",
            str(folder / "PJM_carbon_from_src_prod_forecasts_direct.csv.gz"),
            "--start",
            "2021-07-01",
            "--end",
            "2022-01-01",
            "--model",
            "provider",
            "--out",
            str(out),
        ]
    )
    assert code == 0, stdout
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["provider"]["n"] == 4416
    assert round(metrics["provider"]["mape_pct"], 2) == 3.30  # DACF's published PJM figure


def test_show_without_a_file_forecasts_from_the_embedded_dataset():
    code, stdout, _ = run(
        [
            "forecast",
            "show",
            "--zone",
            "DE",
            "--model",
            "persistence",
            "--horizon",
            "24h",
        ]
    )
    assert code == 0, stdout
    assert "history: the embedded dataset" in stdout
