"""The learned forecaster: LightGBM quantile regression, one model per quantile, per zone.

Training rows are (origin, horizon) pairs taken every ``origin_stride`` over the
``train_window`` before a *training cut-off*; the cut-off is the origin rounded down to a
multiple of ``retrain_every`` since the epoch, so a forecast is a pure function of
(history, origin, weather, config): the same call gives the same answer whatever was asked
before, and fitted models are memoised by cut-off and data fingerprint. LightGBM runs with
``deterministic=True``, a fixed seed and ``num_threads`` threads, so results repeat exactly.

Weather is optional. Without it (or with none known at the origin) the model trains on lags
and calendar features only, logs that once per fit and says so in every forecast's notes.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import lightgbm as lgb
import numpy as np

from carbon_kube.domain.forecasts import QUANTILES, QuantileForecast
from carbon_kube.domain.intensity import FloatArray, IntensitySeries, to_epoch_s
from carbon_kube.domain.weather import WeatherKind, WeatherSeries
from carbon_kube.forecasting.features import build_features
from carbon_kube.forecasting.protocol import DAY, check_request, known_before, steps_in

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class BoostingConfig:
    """Knobs of the learned model; the defaults fit in seconds on two shared cores."""

    seed: int = 7
    n_estimators: int = 300
    learning_rate: float = 0.05
    num_leaves: int = 31
    min_child_samples: int = 100
    feature_fraction: float = 0.8
    lambda_l2: float = 1.0
    # One thread: on two shared cores, two OpenMP threads made a fit 7x slower (0.7 s -> 5.2 s).
    num_threads: int = 1
    train_window: timedelta = timedelta(days=365)
    min_train: timedelta = timedelta(days=28)
    retrain_every: timedelta = timedelta(days=28)
    origin_stride: timedelta = timedelta(hours=3)
    max_horizon: timedelta = timedelta(hours=72)

    def lightgbm_params(self, alpha: float) -> dict[str, Any]:
        return {
            "objective": "quantile",
            "alpha": alpha,
            "learning_rate": self.learning_rate,
            "num_leaves": self.num_leaves,
            "min_child_samples": self.min_child_samples,
            "feature_fraction": self.feature_fraction,
            "feature_fraction_seed": self.seed,
            "lambda_l2": self.lambda_l2,
            "num_threads": self.num_threads,
            "seed": self.seed,
            "deterministic": True,
            "force_row_wise": True,
            "verbosity": -1,
        }


@dataclass
class _Fitted:
    boosters: dict[float, lgb.Booster]
    weather_names: tuple[str, ...]
    notes: tuple[str, ...]
    n_rows: int


@dataclass
class GradientBoostingForecaster:
    """LightGBM quantile regression on lags, calendar and (optional) weather, per zone."""

    config: BoostingConfig = field(default_factory=BoostingConfig)
    name: str = "lightgbm"
    _fitted: dict[tuple[str, int, int, str], _Fitted] = field(default_factory=dict, repr=False)
    _told: set[str] = field(default_factory=set, repr=False)

    @property
    def max_horizon(self) -> timedelta:
        return self.config.max_horizon

    def required_history(self, horizon: timedelta) -> timedelta:
        """Training data plus the lags of its first origin (four weeks) and the horizon."""
        return self.config.min_train + timedelta(days=28) + DAY * -(-horizon // DAY)

    def forecast(
        self,
        history: IntensitySeries,
        origin: datetime,
        horizon: timedelta,
        weather: WeatherSeries | None = None,
    ) -> QuantileForecast:
        known = known_before(history, origin)
        n_steps = check_request(self, known, horizon)
        fitted = self._fit_for(history, known.origin, weather)
        start_s = known.origin_s - known.step_s * known.values_g_per_kwh.size
        rows = build_features(
            known.values_g_per_kwh,
            start_s,
            known.step_s,
            np.array([known.values_g_per_kwh.size], dtype=np.int64),
            n_steps,
            weather,
            fitted.weather_names,
        )
        predicted = np.vstack(
            [fitted.boosters[q].predict(rows.matrix) * rows.level_g_per_kwh for q in QUANTILES]
        )
        # Quantile models are fitted separately and may cross; sorting restores p10<=p50<=p90.
        p10, p50, p90 = np.sort(np.maximum(predicted, 0.0), axis=0)
        return QuantileForecast(
            known.zone, self.name, known.origin, known.step, p10, p50, p90, fitted.notes
        )

    def _fit_for(
        self, history: IntensitySeries, origin: datetime, weather: WeatherSeries | None
    ) -> _Fitted:
        cfg = self.config
        origin_s = to_epoch_s(origin)
        every_s = int(cfg.retrain_every.total_seconds())
        cutoff_s = origin_s - origin_s % every_s
        earliest_s = history.start_s + int(self.required_history(cfg.max_horizon).total_seconds())
        if cutoff_s < earliest_s:
            # Too early in the data for the regular cut-off: train on everything up to the origin.
            cutoff_s = origin_s
        step_s = history.step_s
        n_known = (cutoff_s - history.start_s) // step_s
        y = history.values_g_per_kwh[:n_known]
        key = (str(history.zone), cutoff_s, step_s, _fingerprint(y, weather))
        if key not in self._fitted:
            self._fitted[key] = self._fit(y, history.start_s, step_s, weather, history.zone)
        return self._fitted[key]

    def _fit(
        self,
        y: FloatArray,
        start_s: int,
        step_s: int,
        weather: WeatherSeries | None,
        zone: str,
    ) -> _Fitted:
        cfg = self.config
        step = timedelta(seconds=step_s)
        n_steps = steps_in(cfg.max_horizon, step)
        lag_steps = steps_in(timedelta(days=28), step)
        stride = max(1, steps_in(cfg.origin_stride, step))
        first = max(lag_steps, y.size - steps_in(cfg.train_window, step))
        # Origins whose whole horizon lies inside the known data, newest last.
        last = y.size - n_steps
        origins = np.arange(last, first - 1, -stride, dtype=np.int64)[::-1]
        if origins.size < 2:
            raise ValueError(f"{zone}: too little history to train (internal check)")
        weather_names, notes = _weather_plan(weather, zone, tell=zone not in self._told)
        self._told.add(zone)
        rows = build_features(y, start_s, step_s, origins, n_steps, weather, weather_names)
        targets = np.repeat(origins, n_steps) + np.tile(np.arange(n_steps), origins.size)
        ratio = y[targets] / rows.level_g_per_kwh
        boosters = {}
        for q in QUANTILES:
            data = lgb.Dataset(
                rows.matrix,
                label=ratio,
                feature_name=list(rows.names),
                free_raw_data=True,
                params={"verbosity": -1, "seed": cfg.seed},
            )
            boosters[q] = lgb.train(cfg.lightgbm_params(q), data, num_boost_round=cfg.n_estimators)
        log.info(
            "trained %s for %s on %d rows (%d origins), weather: %s",
            self.name,
            zone,
            ratio.size,
            origins.size,
            ", ".join(weather_names) or "none",
        )
        return _Fitted(boosters, weather_names, notes, int(ratio.size))


def _weather_plan(
    weather: WeatherSeries | None, zone: str, *, tell: bool
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Which weather columns to use, and the notes that make a fallback visible in output.

    The fallback is logged once per zone (``tell``) and noted on every forecast.
    """
    if weather is None:
        note = "lightgbm: no weather covariates given; trained on lags and calendar only"
        if tell:
            log.warning("%s: %s", zone, note)
        return (), (note,)
    names = tuple(weather.names)
    if weather.kind is WeatherKind.OBSERVED:
        note = (
            f"lightgbm: weather from {weather.source} is observed, so only values up to the "
            "origin are used (no weather forecast for the target hours)"
        )
        if tell:
            log.info("%s: %s", zone, note)
        return names, (note,)
    return names, (f"lightgbm: weather forecasts from {weather.source}: {', '.join(names)}",)


def _fingerprint(y: FloatArray, weather: WeatherSeries | None) -> str:
    digest = hashlib.sha256(np.ascontiguousarray(y).tobytes())
    if weather is not None:
        digest.update(weather.source.encode())
        digest.update(weather.kind.encode())
        digest.update(to_epoch_s(weather.start).to_bytes(8, "little", signed=True))
        digest.update(np.ascontiguousarray(weather.known_at_s).tobytes())
        for name in weather.names:
            digest.update(name.encode())
            digest.update(np.ascontiguousarray(weather.variables[name]).tobytes())
    return digest.hexdigest()[:16]
