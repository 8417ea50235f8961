"""The intensity chart of ``intensity show --plot``, drawn off-screen (Agg), written atomically.

No pyplot: a ``Figure`` with its own Agg canvas has no global state and needs no display, so it
works on servers and in CI. A failed save leaves no partial PNG behind.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from carbon_kube.domain.errors import InputError
from carbon_kube.domain.intensity import IntensitySeries
from carbon_kube.storage.atomic import write_atomically


def write_intensity_chart(series: IntensitySeries, path: Path, *, source: str) -> None:
    """Plot ``series`` (and its daily mean when it spans several days) to the PNG ``path``."""
    if path.suffix.lower() != ".png":
        raise InputError(f"expected a .png path, got {str(path)!r}", field="--plot")
    if not path.parent.is_dir():
        raise InputError(
            f"directory {str(path.parent)!r} does not exist; create it first", field="--plot"
        )
    times = pd.DatetimeIndex(series.timestamps())
    values = series.values_g_per_kwh
    # Imported when drawing: ~0.3 s that a command which draws nothing need not pay.
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(11, 4), dpi=100, layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    axes.step(times, values, where="post", linewidth=0.6, color="tab:gray", label="hourly")
    if series.end - series.start > pd.Timedelta(days=3):
        daily = pd.Series(values, index=times).resample("1D").mean()
        axes.step(
            daily.index,
            daily.to_numpy(),
            where="post",
            linewidth=1.6,
            color="tab:green",
            label="daily mean",
        )
    mean = float(np.mean(values))
    axes.axhline(mean, color="tab:red", linewidth=0.8, linestyle="--", label=f"mean {mean:.0f}")
    axes.set_ylabel("carbon intensity (gCO₂eq/kWh)")
    axes.set_xlabel("time (UTC)")
    axes.set_ylim(bottom=0)
    axes.set_title(
        f"{series.zone}: {series.start:%Y-%m-%d} .. {series.end:%Y-%m-%d} UTC ({source})"
    )
    axes.legend(loc="upper right", fontsize="small")
    axes.grid(alpha=0.3)
    write_atomically(path, lambda temp: figure.savefig(temp, format="png"))
