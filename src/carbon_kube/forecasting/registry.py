"""Models by name, as the command line and the benchmark ask for them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import timedelta

from carbon_kube.domain.durations import describe_duration
from carbon_kube.domain.errors import InputError
from carbon_kube.domain.intensity import IntensitySeries
from carbon_kube.forecasting.baselines import (
    PersistenceForecaster,
    ProviderForecaster,
    SeasonalNaiveForecaster,
)
from carbon_kube.forecasting.boosting import BoostingConfig, GradientBoostingForecaster
from carbon_kube.forecasting.protocol import Forecaster

MODEL_NAMES = ("persistence", "seasonal-naive", "provider", "lightgbm")
ALWAYS = ("persistence", "seasonal-naive")
# What ``--model auto`` tries, best first: the first whose history need is met is used.
AUTO_ORDER = ("lightgbm", "seasonal-naive", "persistence")


def build_models(
    names: list[str],
    *,
    horizon: timedelta,
    provider_forecasts: IntensitySeries | None = None,
    boosting: BoostingConfig | None = None,
    always_baselines: bool = True,
) -> list[Forecaster]:
    """The named models, baselines first; ``provider`` needs the source's forecast series.

    Given the source's forecast series, ``lightgbm`` blends its p50 with it (see
    ``boosting``); without one it is LightGBM alone.

    The learned model is trained for exactly ``horizon`` (rounded up to whole hours), which
    keeps training as small as the question asked.
    """
    wanted = list(dict.fromkeys([*ALWAYS, *names] if always_baselines else names))
    unknown = [n for n in wanted if n not in MODEL_NAMES]
    if unknown:
        raise InputError(
            f"unknown model {unknown[0]!r}; choose from {', '.join(MODEL_NAMES)}", field="model"
        )
    models: list[Forecaster] = []
    for name in wanted:
        if name == "persistence":
            models.append(PersistenceForecaster())
        elif name == "seasonal-naive":
            models.append(SeasonalNaiveForecaster())
        elif name == "provider":
            if provider_forecasts is None:
                raise InputError(
                    "model 'provider' needs the source's own forecasts: pass "
                    "--provider-forecast FILE (e.g. a DACF *_carbon_from_src_prod_forecasts file)",
                    field="model",
                )
            models.append(ProviderForecaster(provider_forecasts))
        else:
            config = boosting or BoostingConfig()
            hours = -(-horizon // timedelta(hours=1))
            config = replace(config, max_horizon=timedelta(hours=hours))
            models.append(GradientBoostingForecaster(config, provider_forecasts=provider_forecasts))
    return models


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
