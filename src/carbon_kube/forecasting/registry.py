"""Models by name, as the command line and the benchmark ask for them.

Which model to use when asked for ``auto`` is ``forecasting.selection``'s.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

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
