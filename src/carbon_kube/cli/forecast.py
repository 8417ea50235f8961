"""``carbon-kube forecast ...``: backtest forecasters and show the next hours of a zone.

Parses options, reads files, calls ``carbon_kube.forecasting``, prints and writes results.
Register in ``cli/app.py`` with ``app.add_typer(forecast.app, name="forecast")``; ``show`` lives
in ``forecast_show`` and is registered there too.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from carbon_kube.cli import paths
from carbon_kube.cli.forecast_show import show_command
from carbon_kube.cli.options import (
    INTENSITY_HELP,
    WEATHER_HELP,
    parse_hours,
    parse_instant,
    parse_zone_option,
)
from carbon_kube.cli.output import stdout_console
from carbon_kube.forecasting import BoostingConfig, build_models, run_backtest
from carbon_kube.forecasting.backtesting import daily_origins
from carbon_kube.providers.files import GapFill
from carbon_kube.providers.series_files import read_history, read_provider_forecast, read_weather
from carbon_kube.sim.backtest_outputs import write_backtest

app = typer.Typer(
    help=(
        "Forecast grid carbon intensity 1-72 h ahead (persistence, seasonal-naive, the source's "
        "own forecast, LightGBM with out-of-sample calibrated p10-p90, blended with the "
        "source's forecast when one is given) and backtest the forecasts."
    ),
    no_args_is_help=True,
)


@app.command("backtest")
def backtest(
    intensity: list[Path] = typer.Option(
        ..., "--intensity", "-i", parser=paths.INPUT_FILE, help=INTENSITY_HELP
    ),
    zone: str = typer.Option(..., "--zone", "-z", help="Grid zone id, e.g. DE or US-MIDA-PJM."),
    start: str = typer.Option(..., help="First forecast origin (date = 00:00 UTC)."),
    end: str = typer.Option(..., help="Origins stop before this instant."),
    horizon: str = typer.Option("24h", help="How far each forecast reaches, e.g. 24h or 72h."),
    model: str | None = typer.Option(
        None,
        "--model",
        "-m",
        help=(
            "Comma-separated models: lightgbm, provider, persistence, seasonal-naive. "
            "persistence and seasonal-naive are always scored. Default: lightgbm."
        ),
    ),
    out: Path = typer.Option(
        ...,
        "--out",
        parser=paths.OUTPUT_FOLDER,
        help="Directory for metrics.json, tables, PNG.",
    ),
    weather: Path | None = typer.Option(
        None, "--weather", parser=paths.INPUT_PATH, help=WEATHER_HELP
    ),
    weather_as_perfect_forecast: bool = typer.Option(
        False,
        help=(
            "Treat Open-Meteo reanalysis as a perfect forecast of the target hours. Leaks "
            "future weather: an upper bound, labelled so in the output, never a fair score."
        ),
    ),
    provider_forecast: Path | None = typer.Option(
        None,
        parser=paths.INPUT_FILE,
        help="The source's own forecasts for model 'provider' (DACF forecast file or long CSV).",
    ),
    seed: int = typer.Option(
        7, min=0, max=2**31 - 1, help="Seed of the learned model (results repeat exactly)."
    ),
    trees: int = typer.Option(
        300, min=1, max=100_000, help="Boosting rounds of the learned model."
    ),
    fill_gaps: GapFill = typer.Option(GapFill.ERROR, help="How to treat gaps in the data."),
    assume_utc: bool = typer.Option(False, help="Read offset-less two-column files as UTC."),
) -> None:
    """Rolling-origin backtest: one forecast per day from the data known at its origin.

    Writes metrics.json ({model: {mape_pct, mae_g_per_kwh, n}}), per_horizon.csv, details.json
    (interval coverage, fallbacks taken) and backtest.png into --out.
    """
    _log_to_stderr()
    wanted = parse_zone_option(zone)
    reach = parse_hours(horizon, "--horizon")
    first = parse_instant(start, "--start")
    stop = parse_instant(end, "--end")
    series = read_history(intensity, wanted, fill_gaps, assume_utc)
    covariates = read_weather(weather, wanted, weather_as_perfect_forecast)
    models = build_models(
        _models_option(model),
        horizon=reach,
        provider_forecasts=read_provider_forecast(provider_forecast, wanted),
        boosting=BoostingConfig(seed=seed, n_estimators=trees),
    )
    origins = daily_origins(series, first, stop, reach, timedelta(days=1))
    with Progress(
        TextColumn("backtest {task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=True,
    ) as progress:
        task = progress.add_task(str(wanted), total=len(origins))
        result = run_backtest(
            series,
            models,
            start=first,
            end=stop,
            horizon=reach,
            weather=covariates,
            on_origin=lambda _: progress.advance(task),
        )
    meta = {
        "zone": str(wanted),
        "start": first.isoformat(),
        "end": stop.isoformat(),
        "horizon_h": reach / timedelta(hours=1),
        "weather": covariates.source if covariates else None,
        "seed": seed,
        "trees": trees,
    }
    written = write_backtest(result, out, meta)
    table = Table(title=f"{wanted}: {len(result.origins)} daily origins, horizon {horizon}")
    for column in ("model", "MAPE %", "MAE g/kWh", "n", "p10-p90 coverage"):
        table.add_column(column, justify="right" if column != "model" else "left")
    console = stdout_console()
    for score in result.scores():
        table.add_row(
            score.model,
            f"{score.mape_pct:.2f}",
            f"{score.mae_g_per_kwh:.1f}",
            str(score.n),
            f"{score.coverage_p10_p90:.2f}",
        )
    console.print(table)
    for score in result.scores():
        for note in score.notes:
            console.print(f"note: {note}", markup=False)
    console.print(f"wrote {', '.join(str(p) for p in written)}", markup=False)


def _log_to_stderr() -> None:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")


def _models_option(text: str | None) -> list[str]:
    if not text:
        return ["lightgbm"]
    return [name.strip() for name in text.split(",") if name.strip()]


app.command("show")(show_command)
