"""The files of a forecast backtest, written atomically: metrics, tables, details and the plot.

Every file goes out through a temp file and a rename, so nothing is ever half-written.
``metrics.json`` is a contract (``{model: {mape_pct, mae_g_per_kwh, n}}``) that the benchmark
and the docs read.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from carbon_kube.forecasting.backtesting import BacktestResult
from carbon_kube.sim.forecast_plots import plot_backtest
from carbon_kube.storage.atomic import write_atomically

__all__ = ["metrics_document", "write_backtest"]


def _text(content: str) -> Callable[[Path], None]:
    def write(path: Path) -> None:
        path.write_text(content, encoding="utf-8")

    return write


def _finite(value: float) -> float | None:
    return None if math.isnan(value) else round(value, 4)


def metrics_document(result: BacktestResult) -> dict[str, dict[str, Any]]:
    """``{model: {mape_pct, mae_g_per_kwh, n}}``, the contract of ``metrics.json``."""
    return {
        s.model: {
            "mape_pct": _finite(s.mape_pct),
            "mae_g_per_kwh": _finite(s.mae_g_per_kwh),
            "n": s.n,
        }
        for s in result.scores()
    }


def write_backtest(result: BacktestResult, out: Path, meta: dict[str, Any]) -> list[Path]:
    """``metrics.json``, ``per_horizon.csv``, ``coverage.json``, ``backtest.png`` in ``out``."""
    scores = result.scores()
    out.mkdir(parents=True, exist_ok=True)
    written = []
    metrics = out / "metrics.json"
    write_atomically(
        metrics,
        _text(json.dumps(metrics_document(result), indent=2) + "\n"),
    )
    written.append(metrics)
    details = out / "details.json"
    document = {
        **meta,
        "origins": len(result.origins),
        "models": {
            s.model: {
                "coverage_p10_p90": _finite(s.coverage_p10_p90),
                "notes": list(s.notes),
            }
            for s in scores
        },
    }
    write_atomically(details, _text(json.dumps(document, indent=2) + "\n"))
    written.append(details)
    table = out / "per_horizon.csv"
    lines = ["horizon_h,model,mape_pct,mae_g_per_kwh"]
    step_h = result.step / timedelta(hours=1)
    for s in scores:
        for i, (mape, mae) in enumerate(
            zip(s.mape_pct_by_step, s.mae_g_per_kwh_by_step, strict=True)
        ):
            lines.append(f"{(i + 1) * step_h:g},{s.model},{mape:.4f},{mae:.4f}")
    write_atomically(table, _text("\n".join(lines) + "\n"))
    written.append(table)
    plot = out / "backtest.png"
    write_atomically(plot, lambda p: plot_backtest(result, p))
    written.append(plot)
    return written
