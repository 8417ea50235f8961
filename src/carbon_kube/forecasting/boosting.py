"""The learned forecaster: LightGBM median regression per zone, bands calibrated out of sample.

Training rows are (origin, horizon) pairs taken every ``origin_stride`` over the
``train_window`` before a *training cut-off*; the cut-off is the origin rounded down to a
multiple of ``retrain_every`` since the epoch, so a forecast is a pure function of
(history, origin, weather, config): the same call gives the same answer whatever was asked
before, and fitted models are memoised by cut-off and data fingerprint. LightGBM runs with
``deterministic=True``, a fixed seed and ``num_threads`` threads, so results repeat exactly.

Each fit trains twice: once without the ``calibration_window`` before the cut-off, to forecast
that window out of sample (``calibration.CalibrationSet``: the p10/p90 band and the provider
blend are learned from it), and once on everything up to the cut-off for the forecasts served.
Given a provider's day-ahead forecast (``provider_forecasts``, e.g. DACF's), the served p50 is
a per-horizon-step blend of it and the model's own, using only provider values issued by the
origin; without one the model is LightGBM alone. With ``bands=False`` (the simulator, which
plans on the median) each fit trains once and serves point forecasts; ``forecast_medians``
then answers many origins per fit in one ``predict`` call.

Weather is optional. Without it (or with none known at the origin) the model trains on lags
and calendar features only, logs that once per fit and says so in every forecast's notes.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import numpy as np

from carbon_kube.domain.arrays import FloatArray, IntArray
from carbon_kube.domain.forecasts import QuantileForecast
from carbon_kube.domain.intensity import IntensitySeries, to_epoch_s
from carbon_kube.domain.weather import WeatherKind, WeatherSeries
from carbon_kube.forecasting.calibration import (
    CalibrationSet,
    blend,
    blend_weights,
    check_provider,
    corrected_central,
    issued_values,
    residual_band,
)
from carbon_kube.forecasting.features import build_features
from carbon_kube.forecasting.protocol import (
    DAY,
    KnownHistory,
    check_request,
    known_before,
    steps_in,
)

if TYPE_CHECKING:
    import lightgbm as lgb

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
    # Held out of the first fit and forecast out of sample: the band and the provider blend.
    calibration_window: timedelta = timedelta(days=28)
    origin_stride: timedelta = timedelta(hours=3)
    max_horizon: timedelta = timedelta(hours=72)
    # False: no held-out fit (half the training time), so no p10/p90 band and no provider
    # blend; for callers that plan on the median only (the simulator's ``--forecast lightgbm``).
    bands: bool = True

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
    booster: lgb.Booster
    weather_names: tuple[str, ...]
    notes: tuple[str, ...]
    n_rows: int
    calibration: CalibrationSet
    cutoff_s: int


PROVIDER_NOTE = (
    "lightgbm: p50 blended with the provider's day-ahead forecast for hours whose UTC day had "
    "begun at the origin; one weight for all hours, fitted (min MAPE) on the model's "
    "out-of-sample forecasts of the last {days}-{days2} days (same origin hour)"
)
PROVIDER_EQUAL_NOTE = (
    "lightgbm: under 7 days of provider forecasts before the training cut-off, "
    "so provider and lightgbm are blended with equal weights"
)
NO_BAND_NOTE = "lightgbm: trained without bands (config bands=False): p10 = p90 = p50"
BAND_NOTE = (
    "lightgbm: p10/p90 = p50 + low/high percentile of out-of-sample residuals on the "
    "last {days} days before the origin (same origin hour, per horizon hour), widened past "
    "10th/90th by the coverage the {days} days before them fell short on them"
)


@dataclass
class GradientBoostingForecaster:
    """LightGBM median regression on lags, calendar and (optional) weather, per zone.

    ``provider_forecasts`` (optional) is a provider's own day-ahead forecast of the same zone;
    when given, p50 is blended with it (see the module docstring). ``fit_cache`` may be shared
    between instances of the same config: the fits do not depend on the provider forecast.
    """

    config: BoostingConfig = field(default_factory=BoostingConfig)
    name: str = "lightgbm"
    provider_forecasts: IntensitySeries | None = None
    # Where ``provider_forecasts`` ends in a live forecast: the instant it was issued, from
    # which all its values (every hour ahead, not only the current UTC day's) are known.
    provider_issued_at: datetime | None = None
    fit_cache: dict[tuple[str, int, int, str], _Fitted] = field(default_factory=dict, repr=False)
    _told: set[str] = field(default_factory=set, repr=False)

    def __post_init__(self) -> None:
        if self.provider_forecasts is not None and not self.config.bands:
            raise ValueError("the provider blend is learned with the bands: set bands=True")

    @property
    def max_horizon(self) -> timedelta:
        return self.config.max_horizon

    def required_history(self, horizon: timedelta) -> timedelta:
        """Training data, the lags of its first origin (four weeks), calibration, horizon."""
        calibration = self.config.calibration_window if self.config.bands else timedelta(0)
        return self.config.min_train + timedelta(days=28) + calibration + DAY * -(-horizon // DAY)

    def forecast_medians(
        self,
        history: IntensitySeries,
        origins_s: IntArray,
        horizon: timedelta,
        weather: WeatherSeries | None = None,
    ) -> tuple[FloatArray, tuple[str, ...]]:
        """p50 for many origins of one series at once: rows ``(origin, horizon step)``, notes.

        The same values as ``forecast(...).p50_g_per_kwh`` origin by origin (no provider blend),
        but the origins that share a training cut-off share one fit and one ``predict`` call:
        what makes the simulator's thousands of decisions affordable. Each row reads only
        history before its own origin (``build_features``) and its fit only history before
        its cut-off (<= the origin). Origins must lie on the series' step grid, with at least
        ``required_history(horizon)`` before them and none after the series' end.
        """
        if self.provider_forecasts is not None:
            raise ValueError("forecast_medians has no provider blend; use forecast()")
        step_s = history.step_s
        n_steps = steps_in(horizon, history.step)
        if horizon > self.max_horizon:
            raise ValueError(f"horizon {horizon} is beyond the model's {self.max_horizon}")
        origins = np.asarray(origins_s, dtype=np.int64)
        index = (origins - history.start_s) // step_s
        needed_steps = steps_in(self.required_history(horizon), history.step)
        if origins.size == 0:
            return np.empty((0, n_steps)), ()
        if np.any((origins - history.start_s) % step_s) or np.any(index < needed_steps):
            raise ValueError("origins must be on the step grid, after the required history")
        if index.max() > len(history):
            raise ValueError("an origin lies past the end of the history")
        # Nothing at or after the latest origin is even passed on: no look-ahead by construction.
        known = IntensitySeries(
            history.zone,
            history.start,
            history.step,
            history.values_g_per_kwh[: int(index.max())],
        )
        cutoffs = np.array([self._cutoff_s(known, int(o)) for o in origins], dtype=np.int64)
        result = np.empty((origins.size, n_steps), dtype=np.float64)
        notes: tuple[str, ...] = ()
        for cutoff_s in np.unique(cutoffs).tolist():
            rows_of = cutoffs == cutoff_s
            fitted = self._fitted(known, cutoff_s, weather)
            notes = fitted.notes
            rows = build_features(
                known.values_g_per_kwh,
                known.start_s,
                step_s,
                index[rows_of],
                n_steps,
                weather,
                fitted.weather_names,
            )
            p50 = np.maximum(_predict(fitted.booster, rows.matrix) * rows.level_g_per_kwh, 0.0)
            result[rows_of] = p50.reshape(-1, n_steps)
        return result, notes

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
        level = float(rows.level_g_per_kwh[0])
        p50 = np.maximum(_predict(fitted.booster, rows.matrix) * rows.level_g_per_kwh, 0.0)
        if not self.config.bands:
            # No held-out fit, so nothing to calibrate a band on: a point forecast, said so.
            return QuantileForecast(
                known.zone,
                self.name,
                known.origin,
                known.step,
                p50,
                p50,
                p50,
                (*fitted.notes, NO_BAND_NOTE),
            )
        window_s = int(self.config.calibration_window.total_seconds())
        # The blend learns from every out-of-sample row (up to two windows); the band from the
        # last window only, so that it follows the current spread of errors.
        everything = fitted.calibration.at_hour_of(known.origin_s).joined(
            _served_since_cutoff(known, fitted, weather)
        )
        point = everything.predicted_g_per_kwh[:, :n_steps]
        days = self.config.calibration_window.days
        notes = [*fitted.notes, BAND_NOTE.format(days=days)]
        if self.provider_forecasts is not None:
            check_provider(self.provider_forecasts, str(known.zone), known.step_s)
            provider_now = issued_values(
                self.provider_forecasts,
                known.target_epochs(n_steps),
                np.full(n_steps, known.origin_s, dtype=np.int64),
                live_issued_s=None
                if self.provider_issued_at is None
                else to_epoch_s(self.provider_issued_at),
            )
            provider_then = issued_values(
                self.provider_forecasts,
                everything.target_s(n_steps),
                everything.origin_s[:, None],
            )
            weights, learned = blend_weights(
                point, provider_then, everything.actual_g_per_kwh[:, :n_steps]
            )
            p50 = np.maximum(blend(p50, provider_now, weights), 0.0)
            point = blend(point, provider_then, weights)
            notes.append(
                PROVIDER_NOTE.format(days=days, days2=2 * days) if learned else PROVIDER_EQUAL_NOTE
            )
        residual_ratio = (
            everything.actual_g_per_kwh[:, :n_steps] - point
        ) / everything.level_g_per_kwh[:, None]
        in_time_order = np.argsort(everything.origin_s, kind="stable")
        ordered_ratio = residual_ratio[in_time_order]
        newest_s = int(everything.origin_s.max()) if everything.origin_s.size else 0
        in_window = everything.origin_s[in_time_order] > newest_s - window_s
        window_ratio = ordered_ratio[in_window]
        central = corrected_central(ordered_ratio[~in_window], window_ratio)
        p10, p90 = residual_band(p50, level, window_ratio, central)
        return QuantileForecast(
            known.zone, self.name, known.origin, known.step, p10, p50, p90, tuple(notes)
        )

    def _fit_for(
        self, history: IntensitySeries, origin: datetime, weather: WeatherSeries | None
    ) -> _Fitted:
        return self._fitted(history, self._cutoff_s(history, to_epoch_s(origin)), weather)

    def _cutoff_s(self, history: IntensitySeries, origin_s: int) -> int:
        """The training cut-off of a forecast at ``origin_s``: never after the origin."""
        cfg = self.config
        every_s = int(cfg.retrain_every.total_seconds())
        cutoff_s = origin_s - origin_s % every_s
        earliest_s = history.start_s + int(self.required_history(cfg.max_horizon).total_seconds())
        if cutoff_s < earliest_s:
            # Too early in the data for the regular cut-off: the earliest one the data allows
            # (shared by every origin up to the next regular cut-off), or the origin itself.
            cutoff_s = earliest_s if earliest_s <= origin_s else origin_s
        return cutoff_s

    def _fitted(
        self, history: IntensitySeries, cutoff_s: int, weather: WeatherSeries | None
    ) -> _Fitted:
        step_s = history.step_s
        n_known = (cutoff_s - history.start_s) // step_s
        y = history.values_g_per_kwh[:n_known]
        key = (str(history.zone), cutoff_s, step_s, _fingerprint(y, weather))
        if key not in self.fit_cache:
            fitted = self._fit(y, history.start_s, step_s, weather, history.zone)
            fitted.cutoff_s = cutoff_s
            self.fit_cache[key] = fitted
        return self.fit_cache[key]

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
        weather_names, notes = _weather_plan(weather, zone, tell=zone not in self._told)
        self._told.add(zone)
        booster, n_rows = self._train(y, start_s, step_s, weather, weather_names)
        log.info(
            "trained %s for %s on %d rows, weather: %s",
            self.name,
            zone,
            n_rows,
            ", ".join(weather_names) or "none",
        )
        if not cfg.bands:
            empty = CalibrationSet(
                np.empty(0, dtype=np.int64),
                np.empty(0),
                np.empty((0, n_steps)),
                np.empty((0, n_steps)),
                step_s,
            )
            return _Fitted(booster, weather_names, notes, n_rows, empty, start_s + y.size * step_s)
        held_out = steps_in(cfg.calibration_window, step)
        early, _ = self._train(y[: y.size - held_out], start_s, step_s, weather, weather_names)
        # Every origin of the held-out window whose whole horizon is known before the cut-off.
        origins = np.arange(y.size - held_out, y.size - n_steps + 1, dtype=np.int64)
        rows = build_features(y, start_s, step_s, origins, n_steps, weather, weather_names)
        level = rows.level_g_per_kwh.reshape(origins.size, n_steps)
        predicted = np.maximum(_predict(early, rows.matrix).reshape(level.shape) * level, 0.0)
        actual = y[origins[:, None] + np.arange(n_steps, dtype=np.int64)]
        calibration = CalibrationSet(
            start_s + origins * step_s, level[:, 0].copy(), predicted, actual, step_s
        )
        return _Fitted(
            booster, weather_names, notes, n_rows, calibration, start_s + y.size * step_s
        )

    def _train(
        self,
        y: FloatArray,
        start_s: int,
        step_s: int,
        weather: WeatherSeries | None,
        weather_names: tuple[str, ...],
    ) -> tuple[lgb.Booster, int]:
        """A median (p50) booster on every stride origin of ``y`` whose horizon ``y`` covers."""
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
            raise ValueError("too little history to train (internal check)")
        rows = build_features(y, start_s, step_s, origins, n_steps, weather, weather_names)
        targets = np.repeat(origins, n_steps) + np.tile(np.arange(n_steps), origins.size)
        ratio = y[targets] / rows.level_g_per_kwh
        # MAPE is the target metric: an L1 loss weighted by 1/actual has the MAPE-optimal
        # point as its minimum (a plain median over-forecasts on average).
        finite = np.isfinite(ratio) & (ratio > 0)
        weight = np.where(finite, 1.0 / np.where(finite, ratio, 1.0), 0.0)
        import lightgbm as lgb  # imported when training: ~0.1 s every other command saves

        data = lgb.Dataset(
            rows.matrix,
            label=np.where(finite, ratio, 0.0),
            weight=weight / weight[finite].mean(),
            feature_name=list(rows.names),
            free_raw_data=True,
            params={"verbosity": -1, "seed": cfg.seed},
        )
        booster = lgb.train(cfg.lightgbm_params(0.5), data, num_boost_round=cfg.n_estimators)
        return booster, int(ratio.size)


def _predict(booster: lgb.Booster, matrix: FloatArray) -> FloatArray:
    return np.asarray(booster.predict(matrix), dtype=np.float64)


def _served_since_cutoff(
    known: KnownHistory, fitted: _Fitted, weather: WeatherSeries | None
) -> CalibrationSet:
    """Forecasts of the served booster at whole days before the origin, after its cut-off.

    Their targets are all known at the origin and the booster never trained on them, so they
    extend the calibration window up to the origin.
    """
    n_steps = fitted.calibration.predicted_g_per_kwh.shape[1]
    per_day = known.steps_per_day
    y = known.values_g_per_kwh
    start_s = known.origin_s - known.step_s * y.size
    days_back = np.arange(1, y.size // max(per_day, 1) + 1, dtype=np.int64)
    origins = y.size - days_back * per_day
    origins_s = start_s + origins * known.step_s
    usable = (origins_s >= fitted.cutoff_s) & (origins + n_steps <= y.size) & (origins >= 0)
    origins = origins[usable][::-1]
    if origins.size == 0:
        return CalibrationSet(
            np.empty(0, dtype=np.int64),
            np.empty(0),
            np.empty((0, n_steps)),
            np.empty((0, n_steps)),
            known.step_s,
        )
    rows = build_features(y, start_s, known.step_s, origins, n_steps, weather, fitted.weather_names)
    level = rows.level_g_per_kwh.reshape(origins.size, n_steps)
    predicted = np.maximum(_predict(fitted.booster, rows.matrix).reshape(level.shape) * level, 0.0)
    actual = y[origins[:, None] + np.arange(n_steps, dtype=np.int64)]
    return CalibrationSet(
        start_s + origins * known.step_s, level[:, 0].copy(), predicted, actual, known.step_s
    )


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
