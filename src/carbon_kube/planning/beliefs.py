"""What planning believes about a zone's intensity up to the end of a workload's window.

A replayed source (embedded, file) answers history into the future; a live API answers only up
to now, plus (for most APIs) its own forecast for the next 24-72 h. A policy needs a value for
every step a workload could still run in, so the series a source answered is completed here:

* ``extended_daily``: continue a series by repeating the value one day earlier (persistence,
  the baseline every forecast must beat). A policy using ``PersistenceForecast`` never reads
  these values: they only give the step grid its future candidate starts.
* ``persistence_belief``: the same from the step holding *now*, which is what a persistence
  plan believed (its expected emissions are estimated on it).
* ``with_forecast``: the observed values before the step holding *now*, then the provider's
  forecast from there, then daily repetition beyond its horizon. This is the belief a plan on
  ``forecast: provider`` is decided on.

Pure functions of series: no I/O, no clock.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta

import numpy as np

from carbon_kube.domain.intensity import IntensitySeries

__all__ = [
    "MAX_HOLE",
    "extended_daily",
    "observed_before",
    "persistence_belief",
    "with_forecast",
]

_DAY = timedelta(days=1)
# The longest stretch between the last published value and the forecast's first that is
# filled by repetition rather than refused (Electricity Maps' history lags by an hour or two).
MAX_HOLE = timedelta(hours=6)


def extended_daily(series: IntensitySeries, until: datetime) -> IntensitySeries:
    """``series`` continued to cover ``[start, until)``, each new value the one a day earlier.

    With less than a day of values the whole series repeats. A series already reaching
    ``until`` comes back unchanged.
    """
    missing = -(-(until - series.end) // series.step)
    if missing <= 0:
        return series
    values = list(series.values_g_per_kwh)
    period = min(max(_DAY // series.step, 1), len(values))
    for _ in range(missing):
        values.append(values[-period])
    return dataclasses.replace(series, values_g_per_kwh=np.asarray(values, dtype=np.float64))


def persistence_belief(
    observed: IntensitySeries, *, now: datetime, until: datetime
) -> IntensitySeries:
    """What ``PersistenceForecast`` believes at ``now``, as a series up to ``until``.

    The observed values before the step holding ``now``, then each step the value a day
    earlier: the series a persistence plan's expected emissions are estimated on (a replayed
    source's own future is not what such a plan believed).
    """
    return extended_daily(observed_before(observed, now), until)


def observed_before(observed: IntensitySeries, now: datetime) -> IntensitySeries:
    """The values of steps that ended by the step holding ``now``; ``ValueError`` if none."""
    cut = (now - observed.start) // observed.step
    if cut < 1:
        raise ValueError(f"{observed.zone}: no observed intensity before {now.isoformat()}")
    return dataclasses.replace(
        observed, values_g_per_kwh=observed.values_g_per_kwh[: min(cut, len(observed))]
    )


def with_forecast(
    observed: IntensitySeries, forecast: IntensitySeries, *, now: datetime, until: datetime
) -> IntensitySeries:
    """Observed values before the step holding ``now``, the forecast from it, then repetition.

    APIs publish history with a lag, so the forecast may start a few steps after the last
    observed value: that hole (up to ``MAX_HOLE``) is filled by daily repetition too.
    ``ValueError`` when the two cannot be joined: different steps or signals, steps that do
    not line up, no observed value before now, or a longer hole. The result is flagged stale
    when either part was.
    """
    if forecast.step != observed.step:
        raise ValueError(
            f"{observed.zone}: forecast step {forecast.step} differs from history step "
            f"{observed.step}"
        )
    if forecast.signal is not observed.signal:
        raise ValueError(f"{observed.zone}: forecast and history are different signals")
    if (forecast.start - observed.start) % observed.step:
        raise ValueError(f"{observed.zone}: forecast steps do not line up with history steps")
    head = observed_before(observed, now)
    if forecast.start - head.end > MAX_HOLE:
        raise ValueError(
            f"{observed.zone}: the forecast starts at {forecast.start.isoformat()}, more than "
            f"{MAX_HOLE} after the last observed value ends at {head.end.isoformat()}"
        )
    head = extended_daily(head, forecast.start)
    skip = (head.end - forecast.start) // forecast.step
    joined = dataclasses.replace(
        head,
        values_g_per_kwh=np.concatenate((head.values_g_per_kwh, forecast.values_g_per_kwh[skip:])),
        stale=observed.stale or forecast.stale,
    )
    return extended_daily(joined, until)
