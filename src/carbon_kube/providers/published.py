"""The cluster's published signal: one document per zone, written by the poller, read by planners.

The leading controller polls the live source for the zones the cluster serves and publishes each
zone's signal (recent history, a p10/p50/p90 forecast, the source and model behind them, when
it was issued, whether the source had failed) as a ConfigMap. The webhook and the extender read
those documents through ``PublishedSignals``, an ``IntensityProvider`` like any other, so they
plan on exactly the controller's data and never call an API on the admission path; a standby or
a restarted replica starts from the published documents.

Why ConfigMaps and not a CRD: they need no cluster-scoped install or schema versioning, the chart
already owns a namespace to put them in, and a zone's document (48 h of history and 72 h of
three quantiles, hourly) is a few kilobytes, far below the 1 MiB object limit.

This module is the document's one definition: ``ZoneSignal``, its wire form (``encode`` /
``decode``, JSON under one ConfigMap key) and the provider over the newest document per zone.
A document older than ``max_age`` is served flagged ``stale``: the poller has stopped or the
source has been failing, and readers (plans, metrics) must say so.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

import numpy as np

from carbon_kube.domain.clock import Clock
from carbon_kube.domain.errors import ProviderPermanentError
from carbon_kube.domain.forecasts import QuantileForecast
from carbon_kube.domain.instants import format_rfc3339, parse_rfc3339
from carbon_kube.domain.intensity import IntensitySeries, SignalKind
from carbon_kube.domain.zones import Zone, parse_zone
from carbon_kube.observability.metrics import PUBLISHED_SIGNAL_ERRORS
from carbon_kube.providers.base import ForecastUnsupportedError, IntensityReading

__all__ = [
    "DATA_KEY",
    "DEFAULT_MAX_AGE",
    "NAME",
    "PublishedSignals",
    "ZoneSignal",
    "decode",
    "encode",
    "object_name",
]

_log = logging.getLogger(__name__)

NAME = "published"
DATA_KEY = "signal.json"
VERSION = 1
# Three missed polls at the default 5-minute interval.
DEFAULT_MAX_AGE = timedelta(minutes=15)
_NAME_PREFIX = "carbon-kube-signal-"


@dataclass(frozen=True)
class ZoneSignal:
    """One zone's signal as the poller saw it at ``issued_at``.

    ``source`` is the provider that answered (``electricitymaps``...), ``model`` the forecast
    model (``provider`` for the source's own forecast), ``stale`` whether the source failed and
    the cache answered, ``error`` the last failure's message when it did.
    """

    zone: Zone
    source: str
    issued_at: datetime
    history: IntensitySeries
    forecast: QuantileForecast | None
    model: str
    stale: bool = False
    # With model auto: the chosen model's recent decisions, as a fraction of the oracle's
    # savings (``forecasting.decisions``).
    backtest_oracle_fraction: float | None = None
    error: str | None = None
    # When the forecast's model last ran (a baseline is refitted hourly, not every poll).
    fitted_at: datetime | None = None
    # Day-ahead MAPE over the last day of the published model and of persistence (None until
    # the poller's archive holds a day of forecasts).
    online_mape_pct: float | None = None
    baseline_online_mape_pct: float | None = None
    # The weather the forecast's model trained on (``open-meteo observed``), None without.
    weather: str | None = None
    # Why the fit lacks something (``weather: ... trained without it``), kept while it is reused.
    fit_notes: tuple[str, ...] = ()

    @property
    def signal(self) -> SignalKind:
        return self.history.signal

    def age(self, now: datetime) -> timedelta:
        """How long ago the poller issued it."""
        return max(now - self.issued_at, timedelta(0))


def object_name(zone: Zone) -> str:
    """The ConfigMap's name for ``zone``: a DNS label (``DE`` -> ``carbon-kube-signal-de``)."""
    return _NAME_PREFIX + re.sub(r"[^a-z0-9-]", "-", str(zone).lower())


def encode(signal: ZoneSignal) -> dict[str, str]:
    """The ConfigMap ``data`` for ``signal``."""
    forecast = signal.forecast
    document: dict[str, Any] = {
        "version": VERSION,
        "zone": str(signal.zone),
        "source": signal.source,
        "signal": signal.signal.value,
        "issued_at": format_rfc3339(signal.issued_at),
        "stale": signal.stale,
        "model": signal.model,
        "backtest_oracle_fraction": signal.backtest_oracle_fraction,
        "error": signal.error,
        "fitted_at": None if signal.fitted_at is None else format_rfc3339(signal.fitted_at),
        "online_mape_pct": _maybe_rounded(signal.online_mape_pct),
        "baseline_online_mape_pct": _maybe_rounded(signal.baseline_online_mape_pct),
        "weather": signal.weather,
        "fit_notes": list(signal.fit_notes),
        "history": {
            "start": format_rfc3339(signal.history.start),
            "step_s": signal.history.step_s,
            "g_per_kwh": _rounded(signal.history.values_g_per_kwh),
        },
        "forecast": None
        if forecast is None
        else {
            "origin": format_rfc3339(forecast.origin),
            "step_s": int(forecast.step.total_seconds()),
            "p10": _rounded(forecast.p10_g_per_kwh),
            "p50": _rounded(forecast.p50_g_per_kwh),
            "p90": _rounded(forecast.p90_g_per_kwh),
        },
    }
    return {"zone": str(signal.zone), DATA_KEY: json.dumps(document, separators=(",", ":"))}


def decode(data: dict[str, str]) -> ZoneSignal:
    """The document in a ConfigMap's ``data``; ``ValueError`` naming what is wrong."""
    try:
        document = json.loads(data[DATA_KEY])
    except KeyError:
        raise ValueError(f"no {DATA_KEY} key") from None
    except json.JSONDecodeError as error:
        raise ValueError(f"{DATA_KEY} is not JSON: {error}") from None
    if not isinstance(document, dict) or document.get("version") != VERSION:
        raise ValueError(f"{DATA_KEY}: expected a version {VERSION} document")
    try:
        zone = parse_zone(document["zone"])
        signal = SignalKind(document["signal"])
        history_doc = document["history"]
        history = IntensitySeries(
            zone=zone,
            start=parse_rfc3339(history_doc["start"], "history.start"),
            step=timedelta(seconds=int(history_doc["step_s"])),
            values_g_per_kwh=np.asarray(history_doc["g_per_kwh"], dtype=np.float64),
            signal=signal,
            source=str(document["source"]),
        )
        forecast_doc = document["forecast"]
        forecast = (
            None
            if forecast_doc is None
            else QuantileForecast(
                zone=zone,
                model=str(document["model"]),
                origin=parse_rfc3339(forecast_doc["origin"], "forecast.origin"),
                step=timedelta(seconds=int(forecast_doc["step_s"])),
                p10_g_per_kwh=np.asarray(forecast_doc["p10"], dtype=np.float64),
                p50_g_per_kwh=np.asarray(forecast_doc["p50"], dtype=np.float64),
                p90_g_per_kwh=np.asarray(forecast_doc["p90"], dtype=np.float64),
            )
        )
        score = document.get("backtest_oracle_fraction")
        fitted = document.get("fitted_at")
        return ZoneSignal(
            zone=zone,
            source=str(document["source"]),
            issued_at=parse_rfc3339(document["issued_at"], "issued_at"),
            history=history,
            forecast=forecast,
            model=str(document["model"]),
            stale=bool(document["stale"]),
            backtest_oracle_fraction=None if score is None else float(score),
            error=document.get("error"),
            fitted_at=None if fitted is None else parse_rfc3339(fitted, "fitted_at"),
            online_mape_pct=_maybe_float(document.get("online_mape_pct")),
            baseline_online_mape_pct=_maybe_float(document.get("baseline_online_mape_pct")),
            weather=_maybe_text(document.get("weather")),
            fit_notes=tuple(str(note) for note in document.get("fit_notes") or ()),
        )
    except (KeyError, TypeError) as error:
        raise ValueError(f"{DATA_KEY}: missing or malformed field {error}") from None
    except Exception as error:  # InputError, ValueError from the domain's own checks
        raise ValueError(f"{DATA_KEY}: {error}") from None


class PublishedSignals:
    """``IntensityProvider`` over the newest published document per zone (thread-safe).

    ``update`` and ``remove`` are called by whatever follows the ConfigMaps (a watch); the
    planners' calls never block on the network. A zone without a document is a permanent
    error for that zone (the chain and the planner then fall back as for any missing data).
    """

    def __init__(self, clock: Clock, *, max_age: timedelta = DEFAULT_MAX_AGE) -> None:
        self._clock = clock
        self._max_age = max_age
        self._signals: dict[Zone, ZoneSignal] = {}
        self._lock = threading.Lock()

    @property
    def name(self) -> str:
        return NAME

    def update(self, signal: ZoneSignal) -> None:
        """Keep ``signal`` unless a newer one for its zone is already held."""
        with self._lock:
            held = self._signals.get(signal.zone)
            if held is None or held.issued_at <= signal.issued_at:
                self._signals[signal.zone] = signal

    def remove(self, zone: Zone) -> None:
        with self._lock:
            self._signals.pop(zone, None)

    def apply_object(self, name: str, obj: Mapping[str, Any] | None) -> None:
        """Follow one ConfigMap (``None``: deleted); a malformed one is logged and skipped.

        A bad document never replaces a good one: planners keep the last good signal, which
        its growing age flags stale.
        """
        if obj is None:
            with self._lock:
                for zone in [z for z in self._signals if object_name(z) == name]:
                    del self._signals[zone]
            return
        data = obj.get("data") or {}
        try:
            signal = decode(dict(data))
        except ValueError as error:
            PUBLISHED_SIGNAL_ERRORS.inc()
            _log.warning("ignoring the published signal %s: %s", name, error)
            return
        self.update(signal)

    def signal(self, zone: Zone) -> ZoneSignal | None:
        """The held document for ``zone``, if any."""
        with self._lock:
            return self._signals.get(zone)

    def zones(self) -> list[Zone]:
        with self._lock:
            return list(self._signals)

    def history(self, zone: Zone, start: datetime, end: datetime) -> IntensitySeries:
        held = self._require(zone)
        try:
            series = held.history.between(start, end)
        except KeyError as error:
            raise ProviderPermanentError(NAME, str(error)) from None
        return replace(series, stale=self._is_stale(held), source=held.source)

    def latest(self, zone: Zone) -> IntensityReading:
        held = self._require(zone)
        history = held.history
        return IntensityReading(
            zone=zone,
            at=history.end - history.step,
            intensity_g_per_kwh=float(history.values_g_per_kwh[-1]),
            provider=held.source,
            signal=history.signal,
            stale=self._is_stale(held),
        )

    def forecast(self, zone: Zone, horizon: timedelta) -> IntensitySeries:
        """The published median from its origin up to ``horizon`` ahead of now."""
        held = self._require(zone)
        forecast = held.forecast
        if forecast is None:
            raise ForecastUnsupportedError(NAME, f"{zone}: the published signal has no forecast")
        now = self._clock.now()
        steps = max(1, min(len(forecast), -(-(now + horizon - forecast.origin) // forecast.step)))
        return IntensitySeries(
            zone=zone,
            start=forecast.origin,
            step=forecast.step,
            values_g_per_kwh=forecast.p50_g_per_kwh[:steps].copy(),
            signal=held.signal,
            stale=self._is_stale(held),
            source=held.source,
            model=held.model,
        )

    def _require(self, zone: Zone) -> ZoneSignal:
        held = self.signal(zone)
        if held is None:
            raise ProviderPermanentError(NAME, f"no published signal for zone {zone} (yet)")
        return held

    def _is_stale(self, held: ZoneSignal) -> bool:
        return held.stale or held.age(self._clock.now()) > self._max_age


def _rounded(values: Any) -> list[float]:
    return [round(float(v), 2) for v in values]


def _maybe_rounded(value: float | None) -> float | None:
    return None if value is None or value != value else round(value, 2)


def _maybe_float(value: Any) -> float | None:
    return None if value is None else float(value)


def _maybe_text(value: Any) -> str | None:
    return None if value is None else str(value)
