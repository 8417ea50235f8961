"""``carbon-kube forecast show``: the next hours of a zone from live, cached, file or embedded data.

Parses options, reads the history (``planning.history``), picks the model
(``forecasting.selection``), prints a table of p10/p50/p90 per step and writes the plot
atomically (``sim.forecast_plots``). The HTTP client and the clock come from
``make_show_command`` so tests run the real command against ``httpx.MockTransport``; like
``intensity fetch``, only this edge reads the environment (``cli.environment``).
"""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum
from pathlib import Path

import numpy as np
import typer
from rich.console import Console
from rich.table import Table

from carbon_kube.cli import paths
from carbon_kube.cli.environment import cache_path, has_electricitymaps_token, read_credentials
from carbon_kube.cli.fetch import ClientFactory
from carbon_kube.cli.options import (
    INTENSITY_HELP,
    WEATHER_HELP,
    parse_hours,
    parse_instant,
    parse_zone_option,
)
from carbon_kube.cli.output import OUTPUT, Answer, OutputFormat, emit
from carbon_kube.cli.planning import ELECTRICITYMAPS_URL, ENTSOE_URL, UKCARBON_URL
from carbon_kube.cli.schemas import CSV_COLUMNS
from carbon_kube.domain.clock import Clock, SystemClock
from carbon_kube.domain.durations import describe_duration
from carbon_kube.domain.errors import InputError
from carbon_kube.domain.forecasts import QuantileForecast
from carbon_kube.domain.instants import format_rfc3339
from carbon_kube.forecasting import BoostingConfig
from carbon_kube.forecasting.selection import (
    AUTO,
    PROVIDER,
    as_published,
    check_model,
    choose_model,
    default_window,
)
from carbon_kube.planning.history import (
    ShowInputs,
    read_show_inputs,
    resolve_source,
)
from carbon_kube.providers.construction import SourceKind, default_client
from carbon_kube.providers.files import GapFill
from carbon_kube.providers.series_files import read_provider_forecast, read_weather
from carbon_kube.sim.forecast_plots import plot_forecast
from carbon_kube.storage.atomic import write_atomically


class ShowSource(StrEnum):
    """``--source``'s choices: auto, then the ``HISTORY_SOURCES`` (same values)."""

    AUTO = AUTO
    EMBEDDED = SourceKind.EMBEDDED.value
    FILE = SourceKind.FILE.value
    CACHE = SourceKind.CACHE.value
    ELECTRICITYMAPS = SourceKind.ELECTRICITYMAPS.value
    UKCARBON = SourceKind.UKCARBON.value
    ENTSOE = SourceKind.ENTSOE.value


def make_show_command(
    client_factory: ClientFactory = default_client, clock: Clock | None = None
) -> Callable[..., None]:
    """The ``show`` command bound to an HTTP client factory and a clock (tests inject both)."""
    the_clock = clock or SystemClock()

    def show_command(
        zone: str = typer.Option(..., "--zone", "-z", help="Grid zone id, e.g. DE, GB, GB-R13."),
        source: ShowSource = typer.Option(
            ShowSource.AUTO,
            "--source",
            "-s",
            help=(
                "Where history comes from. auto: the --intensity files if given, else "
                "Electricity Maps if ELECTRICITYMAPS_API_TOKEN is set, else the embedded "
                "dataset (offline). cache: only what `intensity fetch` cached. ukcarbon: the "
                "UK Carbon Intensity API (GB, GB-R1..GB-R17; no key). entsoe: ENTSO-E's "
                "generation mix x life-cycle factors (Europe; ENTSOE_API_TOKEN). Live sources "
                "fall back "
                "to the cache, flagged STALE, when the API fails."
            ),
        ),
        intensity: list[Path] = typer.Option(
            [],
            "--intensity",
            "-i",
            parser=paths.INPUT_FILE,
            help=INTENSITY_HELP + " Implies --source file.",
        ),
        history: str | None = typer.Option(
            None,
            help=(
                "How much history to read before now from embedded, cache or live sources, "
                "e.g. 40d. Default: what the model needs (auto: what lightgbm needs, 87 days "
                "for 72h)."
            ),
        ),
        origin: str | None = typer.Option(
            None, help="Forecast from this instant (default: the end of the history)."
        ),
        horizon: str = typer.Option(
            "72h", help="How far to forecast (lightgbm and persistence: at most 72h)."
        ),
        model: str = typer.Option(
            AUTO,
            "--model",
            "-m",
            help=(
                "auto, lightgbm, seasonal-naive, persistence or provider (the source's own "
                "forecast: electricitymaps, ukcarbon, the cache, or --provider-forecast FILE). "
                "auto uses the first of lightgbm, seasonal-naive, persistence that the "
                "history allows and says which."
            ),
        ),
        plot: Path | None = typer.Option(
            None,
            "--plot",
            parser=paths.OUTPUT_FILE,
            help="Also draw history and forecast to this PNG.",
        ),
        cache: Path | None = typer.Option(
            None,
            parser=paths.OUTPUT_FILE,
            help="SQLite cache file (default: $XDG_CACHE_HOME or ~/.cache, "
            "carbon-kube/intensity.sqlite).",
        ),
        weather: Path | None = typer.Option(
            None, "--weather", parser=paths.INPUT_PATH, help=WEATHER_HELP
        ),
        provider_forecast: Path | None = typer.Option(
            None,
            parser=paths.INPUT_FILE,
            help="The source's own forecasts (file) for model 'provider' or the blend.",
        ),
        electricitymaps_url: str = ELECTRICITYMAPS_URL,
        ukcarbon_url: str = UKCARBON_URL,
        entsoe_url: str = ENTSOE_URL,
        seed: int = typer.Option(7, min=0, max=2**31 - 1, help="Seed of the learned model."),
        trees: int = typer.Option(
            300, min=1, max=100_000, help="Boosting rounds of the learned model."
        ),
        fill_gaps: GapFill = typer.Option(GapFill.ERROR, help="How to treat gaps in files."),
        assume_utc: bool = typer.Option(False, help="Read offset-less two-column files as UTC."),
        output: OutputFormat = OUTPUT,
    ) -> None:
        """Print (and plot) p10/p50/p90 for each step of the next hours of a zone.

        Too little history for the model, a horizon the model cannot reach and an unknown zone
        are one-line errors (exit 2); a live API that fails with nothing cached exits 3; a
        live API that fails with history in the cache is served from the cache and the output
        says STALE.
        """
        wanted = parse_zone_option(zone)
        reach = parse_hours(horizon, "--horizon")
        name = check_model(model, reach)
        boosting = BoostingConfig(seed=seed, n_estimators=trees)
        file_forecast = read_provider_forecast(provider_forecast, wanted)
        resolved = resolve_source(
            None if source.value == AUTO else SourceKind(source.value),
            intensity,
            has_electricitymaps_token(),
        )
        window = (
            parse_hours(history, "--history")
            if history is not None
            else default_window(name, reach, boosting)
        )
        console = Console(stderr=True)
        with client_factory() as client, console.status(f"reading {resolved} for {wanted}"):
            inputs = read_show_inputs(
                resolved,
                wanted,
                window=window,
                want_provider_forecast=name == PROVIDER and file_forecast is None,
                horizon=reach,
                clock=the_clock,
                client=client,
                cache_path=cache_path(cache),
                files=intensity,
                fill_gaps=fill_gaps,
                assume_utc=assume_utc,
                credentials=read_credentials(),
                urls={
                    "electricitymaps_url": electricitymaps_url,
                    "ukcarbon_url": ukcarbon_url,
                    "entsoe_url": entsoe_url,
                },
            )
        series = inputs.history
        choice_notes: tuple[str, ...] = ()
        if inputs.provider_forecast is not None:
            if origin is not None:
                raise InputError(
                    "a live forecast starts when it was issued; --origin applies to files only",
                    field="--origin",
                )
            forecast = as_published(inputs.provider_forecast, reach)
        else:
            at = parse_instant(origin, "--origin") if origin else series.end
            known = (
                series.between(series.start, min(at, series.end)) if at > series.start else series
            )
            forecaster, choice_notes = choose_model(name, reach, known, boosting, file_forecast, at)
            forecast = forecaster.forecast(known, at, reach, read_weather(weather, wanted, False))
        if plot is not None:
            plot.parent.mkdir(parents=True, exist_ok=True)
            write_atomically(plot, lambda p: plot_forecast(series, forecast, p))
        emit(_answer(inputs, forecast, (*choice_notes, *forecast.notes)), output)
        if plot is not None:
            Console(stderr=True).print(f"wrote {plot}", markup=False)

    return show_command


show_command = make_show_command()


def _answer(
    inputs: ShowInputs,
    forecast: QuantileForecast,
    notes: tuple[str, ...],
) -> Answer:
    series = inputs.history
    steps = [
        {
            "time": format_rfc3339(instant),
            "p10_g_per_kwh": round(float(lo), 3),
            "p50_g_per_kwh": round(float(mid), 3),
            "p90_g_per_kwh": round(float(hi), 3),
        }
        for instant, lo, mid, hi in zip(
            forecast.target_times(),
            forecast.p10_g_per_kwh,
            forecast.p50_g_per_kwh,
            forecast.p90_g_per_kwh,
            strict=True,
        )
    ]
    document = {
        "zone": str(forecast.zone),
        "model": forecast.model,
        "origin": format_rfc3339(forecast.origin),
        "stale": inputs.fell_back,
        "history": {
            "source": inputs.description,
            "start": format_rfc3339(series.start),
            "end": format_rfc3339(series.end),
        },
        "steps": steps,
        "notes": list(notes),
    }

    def table(console: Console) -> None:
        _print(console, inputs, forecast, notes)

    return Answer(document, steps, table, columns=CSV_COLUMNS["forecast show"])


def _print(
    console: Console,
    inputs: ShowInputs,
    forecast: QuantileForecast,
    notes: tuple[str, ...],
) -> None:
    origin = forecast.origin
    stale = " (STALE: from the cache)" if inputs.fell_back else ""
    table = Table(
        title=f"{forecast.zone}: {forecast.model} forecast from {origin:%Y-%m-%d %H:%M} UTC{stale}"
    )
    for column in ("time (UTC)", "p10", "p50", "p90 g/kWh"):
        table.add_column(column, justify="right")
    for instant, lo, mid, hi in zip(
        forecast.target_times(),
        forecast.p10_g_per_kwh,
        forecast.p50_g_per_kwh,
        forecast.p90_g_per_kwh,
        strict=True,
    ):
        table.add_row(f"{instant:%Y-%m-%d %H:%M}", f"{lo:.0f}", f"{mid:.0f}", f"{hi:.0f}")
    console.print(table)
    series = inputs.history
    console.print(
        f"history: {inputs.description}, {series.start:%Y-%m-%d %H:%M} .. "
        f"{series.end:%Y-%m-%d %H:%M} UTC ({describe_duration(series.end - series.start)})",
        markup=False,
        soft_wrap=True,
    )
    if inputs.fell_back:
        console.print(
            "STALE: the live source could not be reached; this forecast uses data cached "
            f"earlier (history ends {series.end:%Y-%m-%d %H:%M} UTC)",
            markup=False,
            soft_wrap=True,
        )
    best = int(np.argmin(forecast.p50_g_per_kwh))
    console.print(
        f"lowest p50: {forecast.p50_g_per_kwh[best]:.0f} g/kWh at "
        f"{forecast.target_times()[best]:%Y-%m-%d %H:%M} UTC",
        markup=False,
        soft_wrap=True,
    )
    for note in notes:
        console.print(f"note: {note}", markup=False, soft_wrap=True)
