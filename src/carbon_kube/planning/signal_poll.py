"""One poll of one zone: the signal the leading controller publishes for the cluster's planners.

``poll_zone`` asks the configured source (the live API behind its cache) for the zone's recent
history and, with ``model: provider``, the source's own forecast; where the source publishes no
forecast (or another model is asked for) a forecasting baseline is run on that history, the
most capable one the history allows (``forecasting.selection.choose_by_history``). The result is
a ``providers.published.ZoneSignal``: what every planner in the cluster then decides on.

A failure of the source with nothing cached raises ``ProviderError``: the caller keeps the
last published document, whose growing age then flags it stale to every reader.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal, get_args

from carbon_kube.domain.errors import InputError, ProviderError
from carbon_kube.domain.forecasts import QuantileForecast
from carbon_kube.domain.intensity import IntensitySeries
from carbon_kube.domain.zones import Zone
from carbon_kube.forecasting.registry import build_models
from carbon_kube.forecasting.selection import choose_by_history
from carbon_kube.providers.base import IntensityProvider
from carbon_kube.providers.published import ZoneSignal

__all__ = ["BASELINES", "NO_MODEL", "POLL_MODELS", "REFIT_EVERY", "PollModel", "poll_zone"]

PollModel = Literal["provider", "seasonal-naive", "persistence"]
POLL_MODELS: tuple[str, ...] = get_args(PollModel)
# What stands in for a missing provider forecast, most capable first.
BASELINES = ("seasonal-naive", "persistence")
# How often a baseline is refitted (its forecast is reused between polls).
REFIT_EVERY = timedelta(hours=1)
# The model named when not even a baseline could run (too little history).
NO_MODEL = "none"


def poll_zone(
    source: IntensityProvider,
    zone: Zone,
    now: datetime,
    *,
    history: timedelta,
    horizon: timedelta,
    model: str = "provider",
    previous: ZoneSignal | None = None,
    refit_every: timedelta = REFIT_EVERY,
) -> ZoneSignal:
    """The zone's signal at ``now`` (see the module docstring).

    A baseline needs weeks of history (its band is calibrated on its own past errors), so it is
    fitted at most every ``refit_every`` and ``previous``' forecast is reused in between: the
    poll every few minutes then costs one short history request, within the APIs' limits.
    """
    observed = source.history(zone, now - history, now)
    notes: list[str] = []
    forecast: QuantileForecast | None = None
    fitted_at = now
    stale = observed.stale
    if model == "provider":
        try:
            published = source.forecast(zone, horizon)
            forecast = _as_quantiles(published)
            stale = stale or published.stale
        except ProviderError as error:
            notes.append(f"no provider forecast ({error}); using a baseline")
    if forecast is None:
        names = [model] if model in BASELINES else list(BASELINES)
        reusable = _reusable(previous, names, now, refit_every)
        if reusable is not None and reusable.forecast is not None:
            forecast, fitted_at = reusable.forecast, reusable.fitted_at or now
        else:
            try:
                forecast = _baseline(source, zone, now, horizon, names)
            except InputError as error:
                notes.append(f"no baseline either: {error.message}")
    return ZoneSignal(
        zone=zone,
        source=observed.source or source.name,
        issued_at=now,
        history=observed,
        forecast=forecast,
        model=NO_MODEL if forecast is None else forecast.model,
        stale=stale,
        error="; ".join(notes) or None,
        fitted_at=None if forecast is None else fitted_at,
    )


def _reusable(
    previous: ZoneSignal | None, names: list[str], now: datetime, refit_every: timedelta
) -> ZoneSignal | None:
    if previous is None or previous.model not in names or previous.fitted_at is None:
        return None
    return previous if now - previous.fitted_at < refit_every else None


def _as_quantiles(published: IntensitySeries) -> QuantileForecast:
    """A source's forecast as published: one value per step, so p10 = p50 = p90 (no band)."""
    values = published.values_g_per_kwh
    return QuantileForecast(
        published.zone, "provider", published.start, published.step, values, values, values
    )


def _baseline(
    source: IntensityProvider, zone: Zone, now: datetime, horizon: timedelta, names: list[str]
) -> QuantileForecast:
    """The first of ``names`` the zone's history allows, run from the end of that history."""
    candidates = build_models(names, horizon=horizon, always_baselines=False)
    needed = max(model.required_history(horizon) for model in candidates)
    known = source.history(zone, now - needed, now)
    chosen, notes = choose_by_history(candidates, known.end - known.start, horizon)
    forecast = chosen.forecast(known, known.end, horizon)
    if not notes:
        return forecast
    return QuantileForecast(
        forecast.zone,
        forecast.model,
        forecast.origin,
        forecast.step,
        forecast.p10_g_per_kwh,
        forecast.p50_g_per_kwh,
        forecast.p90_g_per_kwh,
        (*forecast.notes, *notes),
    )
