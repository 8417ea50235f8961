"""One poll of one zone: the signal the leading controller publishes for the cluster's planners.

``poll_zone`` asks the configured source (the live API behind its cache) for the zone's recent
history and, with ``model: provider``, the source's own forecast; where the source publishes no
forecast (or another model is asked for) a forecasting baseline is run on that history, the
most capable one the history allows (``forecasting.selection.choose_by_history``). With
``lightgbm`` or ``auto`` and a provider forecast on the history's step, the learned model blends
its median with the provider's day-ahead values (the archived days, then the live forecast;
``_provider_for_blend``), as it does with DACF's in the backtests. Given the poller's weather
(``providers.recent_weather``), the learned model trains on the zone's observed weather too.
The result is a ``providers.published.ZoneSignal``: what every planner in the cluster then
decides on.

A failure of the source with nothing cached raises ``ProviderError``: the caller keeps the
last published document, whose growing age then flags it stale to every reader.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta
from typing import Literal, get_args

import numpy as np

from carbon_kube.domain.errors import InputError, ProviderError
from carbon_kube.domain.forecasts import QuantileForecast
from carbon_kube.domain.instants import floor_to_hour, format_rfc3339
from carbon_kube.domain.intensity import IntensitySeries
from carbon_kube.domain.weather import WeatherSeries
from carbon_kube.domain.zones import Zone
from carbon_kube.forecasting.baselines import ProviderForecaster
from carbon_kube.forecasting.boosting import GradientBoostingForecaster
from carbon_kube.forecasting.metrics import mape_pct
from carbon_kube.forecasting.protocol import DAY, Forecaster
from carbon_kube.forecasting.registry import build_models
from carbon_kube.forecasting.selection import choose_by_decisions, choose_by_history
from carbon_kube.providers.base import IntensityProvider
from carbon_kube.providers.forecast_archive import ForecastArchive
from carbon_kube.providers.published import ZoneSignal
from carbon_kube.providers.recent_weather import RecentWeather

__all__ = ["BASELINES", "NO_MODEL", "POLL_MODELS", "REFIT_EVERY", "PollModel", "poll_zone"]

PollModel = Literal["provider", "auto", "lightgbm", "seasonal-naive", "persistence"]
POLL_MODELS: tuple[str, ...] = get_args(PollModel)
# What stands in for a missing provider forecast, most capable first.
BASELINES = ("seasonal-naive", "persistence")
# How often a fitted model runs again (its forecast is reused between polls): baselines
# hourly; the learned model and auto's backtest (seconds of CPU each) every six hours.
REFIT_EVERY = timedelta(hours=1)
REFIT_LEARNED_EVERY = timedelta(hours=6)
# auto's candidates, most capable first; the provider's own forecast joins them once the
# archive holds a week of its day-ahead forecasts (a live API keeps no past).
AUTO_CANDIDATES = ("lightgbm", "seasonal-naive", "persistence")
PROVIDER = "provider"
# auto's backtest: daily origins over the last week.
BACKTEST_DAYS = 7
# Asked for beyond what the models need: the live APIs publish an hour late or more.
HISTORY_SLACK = timedelta(hours=6)
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
    archive: ForecastArchive | None = None,
    weather: RecentWeather | None = None,
) -> ZoneSignal:
    """The zone's signal at ``now`` (see the module docstring).

    A baseline needs weeks of history (its band is calibrated on its own past errors), so it is
    fitted at most every ``refit_every`` and ``previous``' forecast is reused in between: the
    poll every few minutes then costs one short history request, within the APIs' limits.

    With an ``archive`` every forecast seen is kept: the provider's (so ``auto`` can backtest
    it once a week of them is kept) and the published one (so its day-ahead error against what
    happened is published as ``online_mape_pct``, beside persistence's). With ``weather`` the
    learned model (and auto's backtest of it) trains on the zone's observed weather.
    """
    observed = source.history(zone, now - history, now)
    notes: list[str] = []
    stale = observed.stale
    live: IntensitySeries | None = None
    # The learned model blends the provider's forecast in; auto may pick the provider itself.
    if model in ("provider", "auto", "lightgbm"):
        try:
            live = source.forecast(zone, horizon)
            if archive is not None and not live.stale:
                archive.add(PROVIDER, live, now)
        except ProviderError as error:
            instead = "the model alone" if model == "lightgbm" else "a baseline"
            notes.append(f"no provider forecast ({error}); using {instead}")
    forecast: QuantileForecast | None = None
    fitted_at = now
    score: float | None = None
    weather_used: str | None = None
    # Why the fit lacks something (its weather): kept, and said again, while the fit is reused.
    fit_notes: tuple[str, ...] = ()
    if model == "provider" and live is not None:
        forecast = _as_quantiles(live)
        stale = stale or live.stale
    else:
        names = _candidates(model)
        learned = model in ("auto", "lightgbm")
        every = max(refit_every, REFIT_LEARNED_EVERY) if learned else refit_every
        reusable = _reusable(previous, [*names, PROVIDER] if model == "auto" else names, now, every)
        if reusable is not None and reusable.forecast is not None:
            forecast, fitted_at = reusable.forecast, reusable.fitted_at or now
            score, weather_used = reusable.backtest_oracle_fraction, reusable.weather
            fit_notes = reusable.fit_notes
            if forecast.model == PROVIDER and live is not None:
                forecast = _as_quantiles(live)  # the provider won: serve its newest forecast
        else:
            try:
                fit = _fitted(
                    source, zone, now, horizon, names, auto=model == "auto", archive=archive,
                    live=live, weather=weather,
                )  # fmt: skip
                forecast, score, weather_used = fit.forecast, fit.score, fit.weather
                fit_notes = fit.notes
            except InputError as error:
                notes.append(f"no baseline either: {error.message}")
    if archive is not None and forecast is not None and forecast.model != PROVIDER:
        archive.add(forecast.model, _median(forecast), now)
    online, baseline_online = _online_errors(archive, observed, forecast, now)
    return ZoneSignal(
        zone=zone,
        source=observed.source or source.name,
        issued_at=now,
        history=observed,
        forecast=forecast,
        model=NO_MODEL if forecast is None else forecast.model,
        stale=stale,
        error="; ".join([*notes, *fit_notes]) or None,
        fitted_at=None if forecast is None else fitted_at,
        backtest_oracle_fraction=score,
        online_mape_pct=online,
        baseline_online_mape_pct=baseline_online,
        weather=weather_used,
        fit_notes=fit_notes,
    )


def _median(forecast: QuantileForecast) -> IntensitySeries:
    return IntensitySeries(
        zone=forecast.zone,
        start=forecast.origin,
        step=forecast.step,
        values_g_per_kwh=forecast.p50_g_per_kwh,
    )


def _online_errors(
    archive: ForecastArchive | None,
    observed: IntensitySeries,
    forecast: QuantileForecast | None,
    now: datetime,
) -> tuple[float | None, float | None]:
    """Day-ahead MAPE over the last day: of the published model, and of persistence.

    Persistence's day-ahead forecast of an hour is the value a day earlier, read off the
    history; the model's comes from the archive (None until it holds a day of forecasts).
    """
    steps = DAY // observed.step
    if len(observed) < 2 * steps:
        return None, None
    actual = observed.values_g_per_kwh[-steps:]
    baseline = mape_pct(actual, observed.values_g_per_kwh[-2 * steps : -steps])
    if archive is None or forecast is None:
        return None, baseline
    day = observed.end - DAY
    believed = archive.day_ahead(
        forecast.model, observed.zone, day, observed.end, step=observed.step
    )
    if believed is None:
        return None, baseline
    return mape_pct(actual, believed.values_g_per_kwh), baseline


def _candidates(model: str) -> list[str]:
    """What runs for ``model`` when it is not the provider's own forecast, best first."""
    if model == "auto":
        return list(AUTO_CANDIDATES)
    if model == "lightgbm":
        return ["lightgbm", *BASELINES]
    return [model] if model in BASELINES else list(BASELINES)


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


@dataclasses.dataclass(frozen=True)
class _Fit:
    """A fitted forecast, auto's score, the weather source it used, notes for the signal."""

    forecast: QuantileForecast
    score: float | None
    weather: str | None
    notes: tuple[str, ...]


def _fitted(
    source: IntensityProvider,
    zone: Zone,
    now: datetime,
    horizon: timedelta,
    names: list[str],
    *,
    auto: bool,
    archive: ForecastArchive | None = None,
    live: IntensitySeries | None = None,
    weather: RecentWeather | None = None,
) -> _Fit:
    """A forecast from the end of the zone's history by the first (or, ``auto``, the best) model.

    ``auto`` backtests every candidate the history allows on the last week of daily origins
    and keeps the one whose decisions came closest to the oracle's
    (``forecasting.selection.choose_by_decisions``); its score is returned with the forecast.
    With ``weather`` the learned model (in auto's backtest too) trains on the zone's observed
    weather; the fit names it when the chosen model used it, and says why when it could not.
    """
    candidates = build_models(names, horizon=horizon, always_baselines=False)
    needed = max(model.required_history(horizon) for model in candidates)
    if auto:
        needed += BACKTEST_DAYS * DAY + -(-horizon // DAY) * DAY
    # A live API's newest hour or two are not published yet, so a window of exactly ``needed``
    # came back an hour short and the learned model was never chosen (seen in the lab).
    known = source.history(zone, now - needed - HISTORY_SLACK, now)
    blend_with = _provider_for_blend(archive, zone, live, known)
    if blend_with is not None and "lightgbm" in names:
        # The learned model blends its median with the provider's forecast, one weight per
        # step fitted on the past days where the archive holds the provider's day-ahead values
        # (equal weights until it holds a week); the name stays lightgbm, the notes say so.
        series, issued_at = blend_with
        candidates = [
            dataclasses.replace(model, provider_forecasts=series, provider_issued_at=issued_at)
            if isinstance(model, GradientBoostingForecaster)
            else model
            for model in candidates
        ]
    covariates, weather_notes = _covariates(weather, candidates, zone, known, now, horizon)
    covariates_name = None if covariates is None else covariates.source
    score: float | None = None
    if auto:
        provider = _archived_provider(archive, zone, known, now) if live is not None else None
        if provider is not None:
            candidates = [provider, *candidates]
        chosen, scores, notes = choose_by_decisions(
            candidates, known, min(horizon, DAY), origins=BACKTEST_DAYS, weather=covariates
        )
        score = scores.get(chosen.name)
        if chosen.name == PROVIDER and live is not None:
            return _Fit(_with_notes(_as_quantiles(live), notes), score, None, weather_notes)
    else:
        chosen, notes = choose_by_history(candidates, known.end - known.start, horizon)
    forecast = chosen.forecast(known, known.end, horizon, covariates)
    used = covariates_name if isinstance(chosen, GradientBoostingForecaster) else None
    return _Fit(_with_notes(forecast, notes), score, used, weather_notes)


def _covariates(
    weather: RecentWeather | None,
    candidates: list[Forecaster],
    zone: Zone,
    known: IntensitySeries,
    now: datetime,
    horizon: timedelta,
) -> tuple[WeatherSeries | None, tuple[str, ...]]:
    """The weather a learned candidate trains on, or None and why (fetched only for one).

    Weather that stops before the history's end is not used: the model's newest-hour features
    would read as a gap it never saw in training (``WeatherSeries.reaches``).
    """
    span = known.end - known.start
    wanted = any(
        isinstance(model, GradientBoostingForecaster) and model.required_history(horizon) <= span
        for model in candidates
    )
    if weather is None or not wanted:
        return None, ()
    covariates, note = weather.for_zone(zone, known.start, now)
    if covariates is not None and not covariates.reaches(known.end):
        until = format_rfc3339(known.end)
        return None, (f"weather: {covariates.source} stops before {until}; trained without it",)
    return covariates, () if note is None else (note,)


# The longest stretch of the provider's archived day-ahead values the blend is fitted on.
BLEND_ARCHIVE_DAYS = 56


def _provider_for_blend(
    archive: ForecastArchive | None,
    zone: Zone,
    live: IntensitySeries | None,
    known: IntensitySeries,
) -> tuple[IntensitySeries, datetime] | None:
    """The provider's values to blend: the newest unbroken archived days, then its live forecast.

    Returned with the instant the live part was issued (from then on all of it is known).
    None without a fresh live forecast on the history's step (a half-hourly source, or the
    cache's stale copy while the API is down); the live forecast alone (no archive yet) still
    blends, with equal weights. The live forecast is cut to start where the history ends, so no
    hour is both observed and believed.
    """
    if live is None or live.stale or live.step != known.step or live.zone != known.zone:
        return None
    ahead = live.between(max(live.start, known.end), live.end) if live.end > known.end else None
    if ahead is None or (ahead.start - known.end) % known.step:
        return None
    past = _archived_run(archive, zone, ahead.start, ahead.step)
    if past is None:
        return ahead, ahead.start
    values = np.concatenate([past.values_g_per_kwh, ahead.values_g_per_kwh])
    return dataclasses.replace(past, values_g_per_kwh=values), ahead.start


def _archived_run(
    archive: ForecastArchive | None, zone: Zone, end: datetime, step: timedelta
) -> IntensitySeries | None:
    """The longest run of archived day-ahead values ending at ``end``, in whole days.

    At most ``BLEND_ARCHIVE_DAYS``; a run covers every step or is None, and coverage only
    shrinks as the run grows, so a binary search finds it in a few queries.
    """
    if archive is None:
        return None
    best: IntensitySeries | None = None
    low, high = 1, BLEND_ARCHIVE_DAYS
    while low <= high:
        days = (low + high) // 2
        run = archive.day_ahead(PROVIDER, zone, end - days * DAY, end, step=step)
        if run is None:
            high = days - 1
        else:
            best, low = run, days + 1
    return best


def _archived_provider(
    archive: ForecastArchive | None, zone: Zone, known: IntensitySeries, now: datetime
) -> Forecaster | None:
    """The provider's archived day-ahead forecasts as a model auto can backtest, if a week+."""
    if archive is None:
        return None
    start = floor_to_hour(now) - (BACKTEST_DAYS + 2) * DAY
    day_ahead = archive.day_ahead(PROVIDER, zone, start, floor_to_hour(now), step=known.step)
    return None if day_ahead is None else ProviderForecaster(day_ahead)


def _with_notes(forecast: QuantileForecast, notes: tuple[str, ...]) -> QuantileForecast:
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
