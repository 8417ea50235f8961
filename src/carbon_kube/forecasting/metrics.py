"""Forecast error metrics, defined once so every model (and DACF) is scored the same way.

MAPE is the mean of ``|actual - forecast| / actual`` over hours whose actual is positive, in
percent; hours with a zero actual have no percentage error and are excluded (and counted by the
caller through ``n``). This is the metric DACF (e-Energy'22) reports, and it reproduces their
published numbers on their files.
"""

from __future__ import annotations

import numpy as np

from carbon_kube.domain.arrays import FloatArray


def _pairs(actual: FloatArray, forecast: FloatArray) -> tuple[FloatArray, FloatArray]:
    a = np.asarray(actual, dtype=np.float64).ravel()
    f = np.asarray(forecast, dtype=np.float64).ravel()
    if a.shape != f.shape:
        raise ValueError(f"actual and forecast differ in shape: {a.shape} vs {f.shape}")
    keep = np.isfinite(a) & np.isfinite(f)
    return a[keep], f[keep]


def mape_pct(actual: FloatArray, forecast: FloatArray) -> float:
    """Mean absolute percentage error in %; NaN when no actual is positive."""
    a, f = _pairs(actual, forecast)
    positive = a > 0
    if not positive.any():
        return float("nan")
    return float(np.mean(np.abs(a[positive] - f[positive]) / a[positive]) * 100.0)


def mae_g_per_kwh(actual: FloatArray, forecast: FloatArray) -> float:
    """Mean absolute error in gCO2eq/kWh; NaN for no pairs."""
    a, f = _pairs(actual, forecast)
    if a.size == 0:
        return float("nan")
    return float(np.mean(np.abs(a - f)))


def scored_count(actual: FloatArray, forecast: FloatArray) -> int:
    """How many hours enter the MAPE (finite pairs with a positive actual)."""
    a, _ = _pairs(actual, forecast)
    return int(np.count_nonzero(a > 0))


def coverage(actual: FloatArray, low: FloatArray, high: FloatArray) -> float:
    """Share of actuals inside ``[low, high]``: 0.8 is ideal for a p10-p90 band."""
    a = np.asarray(actual, dtype=np.float64).ravel()
    lo = np.asarray(low, dtype=np.float64).ravel()
    hi = np.asarray(high, dtype=np.float64).ravel()
    keep = np.isfinite(a) & np.isfinite(lo) & np.isfinite(hi)
    if not keep.any():
        return float("nan")
    return float(np.mean((a[keep] >= lo[keep]) & (a[keep] <= hi[keep])))
