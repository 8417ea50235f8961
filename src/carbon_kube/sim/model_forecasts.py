"""The forecasting models as the simulator's belief about the future (``--forecast``).

``oracle`` and ``persistence`` come from ``policy.forecasts``; every other name is a model of
``carbon_kube.forecasting`` (``seasonal-naive``, ``provider``, ``lightgbm``), one per zone. For
each zone and decision step the model forecasts ``horizon`` (72 h; ``provider`` at most its
lead, 24 h) from the start of that step using only the true intensity *before* it, and policies
plan on the chosen quantile: 0.5 is the median, 0.9 a risk-averse belief (assume the grid will be
dirtier than expected).

``ForecastInputs`` carries what the intensity series alone lacks: the source's own forecasts
(``provider``; ``lightgbm`` then blends its median with them) and weather covariates per zone.

Edges, all explicit:

* runs reaching past the horizon see the forecast's last day repeated (the model says nothing
  further);
* decisions too early in the data for the model (it needs ``required_history``) use
  ``persistence`` instead; how many did is counted in ``fallback_decisions`` and logged;
* without weather for a zone the learned model runs on lags and calendar only (its notes say
  so); ``provider`` without the source's forecast for every zone is an ``InputError``.

Cost: ``lightgbm`` at the median without a provider blend uses ``SIM_MEDIAN_CONFIG`` and answers
all new decision steps of a zone in one batch (``GradientBoostingForecaster.forecast_medians``):
one fit per zone and training cut-off, one ``predict`` per fit. Other models, quantiles and the
blend are asked step by step.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np

from carbon_kube.domain.arrays import FloatArray, IntArray
from carbon_kube.domain.errors import InputError
from carbon_kube.domain.intensity import IntensitySeries, from_epoch_s
from carbon_kube.domain.weather import WeatherSeries
from carbon_kube.domain.zones import Zone
from carbon_kube.forecasting import Forecaster, build_models
from carbon_kube.forecasting.boosting import BoostingConfig, GradientBoostingForecaster
from carbon_kube.policy.forecasts import (
    Forecast,
    PersistenceForecast,
    SeriesForecast,
    make_forecast,
)
from carbon_kube.policy.grids import IntensityGrid, StepGrid

log = logging.getLogger(__name__)

POLICY_FORECASTS = ("oracle", "persistence")
MODEL_FORECASTS = ("seasonal-naive", "provider", "lightgbm")
FORECAST_NAMES = (*POLICY_FORECASTS, *MODEL_FORECASTS)
DEFAULT_HORIZON = timedelta(hours=72)
# The simulator's median ``lightgbm``: no band fit (the median is all it plans on), retrained
# quarterly on origins every 12 h. With the backtest's config (monthly, every 3 h, bands) the
# embedded default took minutes per zone; this one trains a few boosters per zone. Measured
# in docs/forecasting_simulation.md (bench/forecast_savings.py).
SIM_MEDIAN_CONFIG = BoostingConfig(
    retrain_every=timedelta(days=91), origin_stride=timedelta(hours=12), bands=False
)


@dataclass(frozen=True)
class ForecastInputs:
    """Per zone: the source's own forecast series and weather covariates (both optional)."""

    provider_forecasts: Mapping[Zone, IntensitySeries] = field(default_factory=dict)
    weather: Mapping[Zone, WeatherSeries] = field(default_factory=dict)


def build_forecast(
    name: str,
    truth: IntensityGrid,
    quantile: float = 0.5,
    inputs: ForecastInputs | None = None,
    horizon: timedelta = DEFAULT_HORIZON,
) -> Forecast:
    """The belief called ``name``; a quantile other than the median needs a model forecast.

    ``horizon`` is how far a model forecasts from each decision (beyond it the last day
    repeats); the learned model trains for exactly that horizon, so a shorter one is cheaper.
    """
    inputs = inputs or ForecastInputs()
    if name in POLICY_FORECASTS:
        if quantile != 0.5:
            raise ValueError(f"forecast {name} has no quantiles; use one of {MODEL_FORECASTS}")
        return make_forecast(name, truth)
    if name not in MODEL_FORECASTS:
        raise ValueError(f"unknown forecast {name!r}; expected one of {', '.join(FORECAST_NAMES)}")
    zones = truth.grid.zones
    if name == "provider":
        missing = [str(z) for z in zones if z not in inputs.provider_forecasts]
        if missing:
            raise InputError(
                f"forecast 'provider' needs the source's own forecast for every zone; none for "
                f"{', '.join(missing)} (pass --provider-forecast FILE, e.g. a DACF "
                "*_carbon_from_src_prod_forecasts file)",
                field="--forecast",
            )
    models: dict[Zone, Forecaster] = {}
    for zone in zones:
        provider = inputs.provider_forecasts.get(zone)
        if name == "lightgbm" and quantile == 0.5 and provider is None:
            models[zone] = GradientBoostingForecaster(SIM_MEDIAN_CONFIG)
        else:
            (models[zone],) = build_models(
                [name],
                horizon=horizon,
                provider_forecasts=provider,
                always_baselines=False,
            )
    return ModelForecast(models, truth, quantile, horizon, inputs.weather)


class ModelForecast:
    """A ``policy.forecasts.Forecast`` answered by one forecasting model per zone."""

    def __init__(
        self,
        models: Mapping[Zone, Forecaster],
        truth: IntensityGrid,
        quantile: float = 0.5,
        horizon: timedelta = DEFAULT_HORIZON,
        weather: Mapping[Zone, WeatherSeries] | None = None,
    ) -> None:
        missing = [str(z) for z in truth.grid.zones if z not in models]
        if missing or not models:
            raise ValueError(f"no forecasting model for {', '.join(missing) or 'any zone'}")
        self._models = models
        self._truth = truth
        self._quantile = quantile
        # Each model forecasts as far as it can, up to ``horizon`` (``provider``: its lead).
        self._horizons = {zone: min(horizon, model.max_horizon) for zone, model in models.items()}
        self._weather = weather or {}
        self._fallback = PersistenceForecast(truth)
        self._series = {
            zone: IntensitySeries(
                zone,
                from_epoch_s(truth.grid.origin_s),
                timedelta(seconds=truth.grid.step_s),
                truth.values_g_per_kwh[i],
            )
            for i, zone in enumerate(truth.grid.zones)
        }
        self._believed: dict[tuple[Zone, datetime], FloatArray] = {}
        self._by_model = SeriesForecast(self.name, truth.grid, self._believe)
        self.fallback_decisions = 0
        self.notes: set[str] = set()

    @property
    def name(self) -> str:
        model = next(iter(self._models.values()))
        suffix = "" if self._quantile == 0.5 else f"-p{round(self._quantile * 100)}"
        return f"{model.name}{suffix}"

    @property
    def grid(self) -> StepGrid:
        return self._truth.grid

    def integral(
        self, zone_index: int, decided_s: FloatArray, start_s: FloatArray, end_s: FloatArray
    ) -> FloatArray:
        grid = self._truth.grid
        zone = grid.zones[zone_index]
        model = self._models[zone]
        decided = np.broadcast_to(np.asarray(decided_s, dtype=np.float64), np.shape(start_s))
        needed_s = model.required_history(self._horizons[zone]).total_seconds()
        decided_step_s = grid.origin_s + grid.step_of(decided) * grid.step_s
        early = decided_step_s - grid.origin_s < needed_s
        result = np.empty(np.shape(start_s), dtype=np.float64)
        start = np.asarray(start_s, dtype=np.float64)
        end = np.asarray(end_s, dtype=np.float64)
        if early.any():
            # Too little history for the model: persistence, counted so reports can say so.
            self.fallback_decisions += int(np.count_nonzero(early))
            result[early] = self._fallback.integral(
                zone_index, decided[early], start[early], end[early]
            )
        late = ~early
        if late.any():
            self._believe_in_batch(zone, decided_step_s[late])
            result[late] = self._by_model.integral(
                zone_index, decided[late], start[late], end[late]
            )
        return result

    def _believe_in_batch(self, zone: Zone, decided_step_s: IntArray) -> None:
        """Forecast every new decision step of ``zone`` at once, when the model can batch.

        ``GradientBoostingForecaster.forecast_medians`` shares one fit and one ``predict`` per
        training cut-off; models without it are asked step by step in ``_believe``.
        """
        model = self._models[zone]
        if not isinstance(model, GradientBoostingForecaster) or self._quantile != 0.5:
            return
        if model.provider_forecasts is not None:
            return
        steps_s = [
            int(s)
            for s in np.unique(decided_step_s)
            if (zone, from_epoch_s(int(s))) not in self._believed
        ]
        if not steps_s:
            return
        medians, notes = model.forecast_medians(
            self._series[zone],
            np.array(steps_s, dtype=np.int64),
            self._horizons[zone],
            self._weather.get(zone),
        )
        self.notes.update(notes)
        for at_s, values in zip(steps_s, medians, strict=True):
            self._believed[(zone, from_epoch_s(at_s))] = values

    def _believe(self, zone: Zone, at: datetime) -> IntensitySeries:
        key = (zone, at)
        if key not in self._believed:
            series = self._series[zone]
            forecast = self._models[zone].forecast(
                series.between(series.start, at),
                at,
                self._horizons[zone],
                self._weather.get(zone),
            )
            self.notes.update(forecast.notes)
            self._believed[key] = forecast.quantile_g_per_kwh(self._quantile)
        values = self._believed[key]
        grid = self._truth.grid
        steps_to_end = max(len(values), (grid.end_s - int(at.timestamp())) // grid.step_s + 1)
        per_day = grid.steps_per_day
        tail = np.resize(values[-per_day:], max(0, steps_to_end - len(values)))
        return IntensitySeries(
            zone, at, timedelta(seconds=grid.step_s), np.concatenate([values, tail])
        )
