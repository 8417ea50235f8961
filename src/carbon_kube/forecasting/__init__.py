"""Forecast carbon intensity 1-72 h ahead and measure how good the forecasts are.

Pure: no I/O, no network, no wall clock. Models receive the history, the origin and optional
weather; they may use only values known at the origin (``known_before(history, origin)``).
The rolling backtest and its metrics live here too; reading files and plotting are the CLI's.
"""

from carbon_kube.forecasting.backtesting import BacktestResult, ModelScore, run_backtest
from carbon_kube.forecasting.baselines import (
    PersistenceForecaster,
    ProviderForecaster,
    SeasonalNaiveForecaster,
)
from carbon_kube.forecasting.boosting import BoostingConfig, GradientBoostingForecaster
from carbon_kube.forecasting.metrics import mae_g_per_kwh, mape_pct
from carbon_kube.forecasting.protocol import Forecaster, KnownHistory, known_before
from carbon_kube.forecasting.registry import MODEL_NAMES, build_models

__all__ = [
    "MODEL_NAMES",
    "BacktestResult",
    "BoostingConfig",
    "Forecaster",
    "GradientBoostingForecaster",
    "KnownHistory",
    "ModelScore",
    "PersistenceForecaster",
    "ProviderForecaster",
    "SeasonalNaiveForecaster",
    "build_models",
    "known_before",
    "mae_g_per_kwh",
    "mape_pct",
    "run_backtest",
]
