"""Which forecast model to run: a named one checked against the horizon, or ``auto``.

``auto`` tries the models of ``AUTO_ORDER`` from the best (and most demanding) to the simplest
and uses the first that the history allows, with a note naming what was skipped and why; the
source's own published forecast (``provider``) is served as published. Pure: the caller reads
the history and prints the notes.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from carbon_kube.domain.durations import describe_duration
from carbon_kube.domain.errors import InputError
from carbon_kube.domain.forecasts import QuantileForecast
from carbon_kube.domain.intensity import IntensitySeries
from carbon_kube.domain.weather import WeatherSeries
from carbon_kube.forecasting.boosting import BoostingConfig
from carbon_kube.forecasting.decisions import oracle_fraction
from carbon_kube.forecasting.protocol import DAY, Forecaster, steps_in
from carbon_kube.forecasting.registry import MODEL_NAMES, build_models

__all__ = [
    "AUTO",
    "AUTO_ORDER",
    "LEARNED_MAX_HORIZON",
    "PROVIDER",
    "PROVIDER_WINDOW",
    "as_published",
    "check_model",
    "choose_by_decisions",
    "choose_by_history",
    "choose_model",
    "default_window",
]

AUTO = "auto"
PROVIDER = "provider"
# What ``--model auto`` tries, best first: the first whose history need is met is used.
AUTO_ORDER = ("lightgbm", "seasonal-naive", "persistence")
# The learned model is built and validated for 1-72 h; asking it for more is refused.
LEARNED_MAX_HORIZON = BoostingConfig().max_horizon
# ``provider`` needs history only to place the origin (its band needs past forecasts, which a
# live API does not give): a few hours, served by Electricity Maps' one-call /history.
PROVIDER_WINDOW = timedelta(hours=12)


def check_model(name: str, horizon: timedelta) -> str:
    """``name`` (stripped) if it is ``auto`` or a known model that can reach ``horizon``."""
    name = name.strip()
    if name != AUTO and name not in MODEL_NAMES:
        raise InputError(
            f"unknown model {name!r}; choose from {AUTO}, {', '.join(MODEL_NAMES)}",
            field="--model",
        )
    if name == "lightgbm" and horizon > LEARNED_MAX_HORIZON:
        raise InputError(
            f"model lightgbm forecasts at most {describe_duration(LEARNED_MAX_HORIZON)} ahead, "
            f"asked for {describe_duration(horizon)}; choose a shorter --horizon or "
            "--model seasonal-naive",
            field="--horizon",
        )
    return name


def default_window(name: str, horizon: timedelta, boosting: BoostingConfig) -> timedelta:
    """How much history to read when none is asked for: what the model (or auto's) needs."""
    if name == PROVIDER:
        return PROVIDER_WINDOW
    wanted = [name] if name != AUTO else _auto_names(horizon)
    return max(
        model.required_history(horizon)
        for model in build_models(
            wanted, horizon=horizon, boosting=boosting, always_baselines=False
        )
    )


def choose_model(
    name: str,
    horizon: timedelta,
    known: IntensitySeries,
    boosting: BoostingConfig,
    file_forecast: IntensitySeries | None,
    origin: datetime,
) -> tuple[Forecaster, tuple[str, ...]]:
    """The model to run, and a note when ``auto`` had to fall back to a simpler one.

    A forecast file holds day-ahead forecasts (each issued a day before its hour): ``provider``
    serves it with ``build_models``' one-day lead, and ``lightgbm`` blends with it.
    """
    names = [name] if name != AUTO else _auto_names(horizon)
    candidates = build_models(
        names,
        horizon=horizon,
        provider_forecasts=file_forecast,
        boosting=boosting,
        always_baselines=False,
    )
    if name != AUTO:
        return candidates[0], ()
    available = max(min(origin, known.end) - known.start, timedelta(0))
    return choose_by_history(candidates, available, horizon)


def as_published(live: IntensitySeries, horizon: timedelta) -> QuantileForecast:
    """A live source's own forecast as it was published, from its first step.

    It starts at the step holding the time it was fetched (the UK API's half-hour, after
    hourly means the next whole hour), not at the end of our history, and reaches as far as
    the source published. A single live forecast comes with no record of its past errors, so
    there is no band: p10 and p90 equal the published value, and a note says so.
    """
    reach = live.end - live.start
    if horizon > reach:
        raise InputError(
            f"model provider forecasts at most {describe_duration(reach)} ahead, asked for "
            f"{describe_duration(horizon)}; choose a shorter --horizon or another model",
            field="--horizon",
        )
    values = live.values_g_per_kwh[: steps_in(horizon, live.step)]
    note = "provider: the published forecast has no record of its past errors; p10 = p90 = p50"
    return QuantileForecast(
        live.zone, PROVIDER, live.start, live.step, values, values, values, (note,)
    )


def choose_by_history(
    candidates: Sequence[Forecaster], available: timedelta, horizon: timedelta
) -> tuple[Forecaster, tuple[str, ...]]:
    """The first of ``candidates`` that can forecast ``horizon`` from ``available`` history.

    ``candidates`` go from the most demanding (and best) model to the simplest, so live data
    with a few weeks of history still gets a forecast, from a simpler model that the notes
    name, rather than an error. When none fits, the ``InputError`` says what the simplest one
    needs and how much history there is.
    """
    if not candidates:
        raise ValueError("choose_by_history needs at least one candidate")
    skipped: list[str] = []
    for model in candidates:
        if horizon > model.max_horizon:
            skipped.append(
                f"{model.name} reaches at most {describe_duration(model.max_horizon)} ahead"
            )
            continue
        needed = model.required_history(horizon)
        if available >= needed:
            if not skipped:
                return model, ()
            return model, (f"auto: using {model.name} ({'; '.join(skipped)})",)
        skipped.append(
            f"{model.name} needs {describe_duration(needed)} of history, found "
            f"{describe_duration(available)}"
        )
    simplest = candidates[-1]
    raise InputError(
        f"too little history for a {describe_duration(horizon)} forecast: "
        f"{simplest.name} needs at least {describe_duration(simplest.required_history(horizon))}, "
        f"found {describe_duration(available)}; pass --history with a longer window or a longer "
        "--intensity file",
        field="history",
    )


def _auto_names(horizon: timedelta) -> list[str]:
    """Auto's candidates that can reach ``horizon`` at all (lightgbm only up to 72 h)."""
    return [n for n in AUTO_ORDER if n != "lightgbm" or horizon <= LEARNED_MAX_HORIZON]


def choose_by_decisions(
    candidates: Sequence[Forecaster],
    known: IntensitySeries,
    horizon: timedelta,
    *,
    origins: int = 7,
    weather: WeatherSeries | None = None,
) -> tuple[Forecaster, dict[str, float], tuple[str, ...]]:
    """The candidate whose recent forecasts led to the best shifting decisions.

    Each model the history allows forecasts from the last ``origins`` daily origins whose
    horizon the history covers, and is scored by ``decisions.oracle_fraction`` on what then
    happened (each with ``weather``, which models read only as known at their origin). A more
    capable model must do strictly better than a simpler one to be chosen
    (candidates go from the most capable to the simplest), so a zone where the learned model
    does not beat a baseline gets the baseline. With no model backtestable, the choice falls
    back to ``choose_by_history`` and the notes say so.
    """
    lead_days = -(-horizon // DAY)
    latest_origin = known.end - lead_days * DAY
    wanted = [latest_origin - day * DAY for day in range(origins)]
    scores: dict[str, float] = {}
    skipped: list[str] = []
    best: Forecaster | None = None
    for model in candidates:
        if horizon > model.max_horizon:
            skipped.append(f"{model.name} reaches at most {describe_duration(model.max_horizon)}")
            continue
        needed = model.required_history(horizon)
        usable = [o for o in wanted if o - known.start >= needed]
        if not usable:
            skipped.append(f"{model.name} needs {describe_duration(needed)} before a backtest")
            continue
        try:
            forecasts = [
                model.forecast(known.between(known.start, o), o, horizon, weather) for o in usable
            ]
        except InputError as error:  # e.g. archived provider forecasts with a hole
            skipped.append(f"{model.name}: {error.message}")
            continue
        score = oracle_fraction(known, forecasts)
        scores[model.name] = score
        if best is None or not score < scores[best.name]:
            best = model
    if best is None:
        chosen, notes = choose_by_history(candidates, known.end - known.start, horizon)
        return chosen, scores, (*notes, f"auto: no backtest possible ({'; '.join(skipped)})")
    ranked = ", ".join(f"{name} {score:.2f}" for name, score in scores.items())
    return best, scores, (f"auto: {best.name} by oracle fraction of savings ({ranked})",)
