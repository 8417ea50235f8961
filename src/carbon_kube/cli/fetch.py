"""``carbon-kube intensity fetch``: fill the local cache from a live carbon-intensity API.

Parses options, reads credentials and the cache location from the environment
(``cli.environment``), builds the source with ``providers.construction`` and prints what came
back. The HTTP client and the clock come from ``make_fetch_command`` so tests can run the real
command against ``httpx.MockTransport``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from enum import StrEnum
from pathlib import Path

import httpx
import typer
from rich.table import Table

from carbon_kube.cli import paths
from carbon_kube.cli.environment import cache_path, read_credentials
from carbon_kube.cli.options import parse_instant, parse_zone_option
from carbon_kube.cli.output import stdout_console
from carbon_kube.cli.planning import ELECTRICITYMAPS_URL, ENTSOE_URL, UKCARBON_URL, WATTTIME_URL
from carbon_kube.domain.clock import Clock, SystemClock
from carbon_kube.domain.errors import InputError
from carbon_kube.domain.intensity import IntensitySeries
from carbon_kube.providers.base import IntensityReading
from carbon_kube.providers.construction import (
    SourceKind,
    SourceSettings,
    build_source,
    default_client,
)

ClientFactory = Callable[[], httpx.Client]


class Source(StrEnum):
    """The live APIs ``fetch`` can read: the live ``SourceKind`` values."""

    ELECTRICITYMAPS = SourceKind.ELECTRICITYMAPS.value
    UKCARBON = SourceKind.UKCARBON.value
    ENTSOE = SourceKind.ENTSOE.value
    WATTTIME = SourceKind.WATTTIME.value


def make_fetch_command(
    client_factory: ClientFactory = default_client, clock: Clock | None = None
) -> Callable[..., None]:
    """The ``fetch`` command bound to an HTTP client factory and a clock (tests inject both)."""
    the_clock = clock or SystemClock()

    def fetch_command(
        source: Source = typer.Option(..., "--source", "-s", help="Live API to read."),
        zone: str = typer.Option(
            ..., "--zone", "-z", help="Grid zone, e.g. DE, GB, GB-R13 (UK regions), US-CAL-CISO."
        ),
        start: str | None = typer.Option(
            None, help="Fetch history from this instant (RFC 3339 or date) instead of now."
        ),
        end: str | None = typer.Option(
            None, help="End of the history range (exclusive; default: now). Needs --start."
        ),
        horizon_hours: int = typer.Option(
            24, min=1, max=72, help="Without --start: how far ahead to fetch the forecast."
        ),
        cache: Path | None = typer.Option(
            None,
            parser=paths.OUTPUT_FILE,
            help="SQLite cache file (default: $XDG_CACHE_HOME or ~/.cache, "
            "carbon-kube/intensity.sqlite).",
        ),
        watttime_region: str | None = typer.Option(
            None, help=SourceSettings.model_fields["watttime_region"].description
        ),
        electricitymaps_url: str = ELECTRICITYMAPS_URL,
        watttime_url: str = WATTTIME_URL,
        ukcarbon_url: str = UKCARBON_URL,
        entsoe_url: str = ENTSOE_URL,
    ) -> None:
        """Fetch carbon intensity from a live API into the local cache and summarise it.

        Without --start: the latest value and the forecast. With --start: history over
        [start, end). Electricity Maps needs ELECTRICITYMAPS_API_TOKEN; WattTime needs
        WATTTIME_USERNAME and WATTTIME_PASSWORD (its values are marginal, MOER, in g/kWh).
        If the API fails, the last cached data is shown and marked stale.
        """
        wanted = parse_zone_option(zone)
        if end is not None and start is None:
            raise InputError("--end needs --start", field="--end")
        settings = SourceSettings(
            kind=SourceKind(source.value),
            cache_path=cache_path(cache),
            watttime_region=watttime_region,
            electricitymaps_url=electricitymaps_url,
            watttime_url=watttime_url,
            ukcarbon_url=ukcarbon_url,
            entsoe_url=entsoe_url,
        )
        with client_factory() as client:
            chain = build_source(
                settings, the_clock, zone=wanted, client=client, credentials=read_credentials()
            )
            console = stdout_console()
            table = _summary_table(f"{source} {wanted} -> {settings.cache_path}")
            if start is not None:
                begin = parse_instant(start, "--start")
                stop = parse_instant(end, "--end") if end is not None else the_clock.now()
                if stop <= begin:
                    raise InputError("--end must be after --start", field="--end")
                with console.status(f"fetching {source} history for {wanted}"):
                    _add_series(table, "history", chain.history(wanted, begin, stop))
            else:
                with console.status(f"fetching {source} latest and forecast for {wanted}"):
                    _add_reading(table, chain.latest(wanted))
                    forecast = chain.forecast(wanted, timedelta(hours=horizon_hours))
                _add_series(table, "forecast", forecast)
            console.print(table)

    return fetch_command


fetch_command = make_fetch_command()


def _summary_table(title: str) -> Table:
    table = Table(title=title)
    for column in ("what", "from (UTC)", "to (UTC)", "values", "step", "mean g/kWh", "signal"):
        table.add_column(column, justify="right" if column in ("values", "mean g/kWh") else "left")
    return table


def _add_series(table: Table, what: str, series: IntensitySeries) -> None:
    table.add_row(
        what + (" (STALE: cached, API failed)" if series.stale else ""),
        f"{series.start:%Y-%m-%d %H:%M}",
        f"{series.end:%Y-%m-%d %H:%M}",
        str(len(series)),
        str(series.step),
        f"{series.mean_g_per_kwh():.1f}",
        series.signal.value,
    )


def _add_reading(table: Table, reading: IntensityReading) -> None:
    table.add_row(
        "latest" + (" (STALE: cached, API failed)" if reading.stale else ""),
        f"{reading.at:%Y-%m-%d %H:%M}",
        "",
        "1",
        "",
        f"{reading.intensity_g_per_kwh:.1f}",
        reading.signal.value,
    )
