"""A chain of providers with a read-through cache: the one place that owns the fallback.

For each request the chain asks, in order: the cache for a fresh answer from the first provider,
that provider, then the next provider (cache, then live), and so on. The first success is
cached and returned. When every provider fails, the newest answer the cache ever held for the
zone is returned flagged ``stale=True`` (a scheduler keeps deciding on day-old data rather than
none); with nothing cached the failures are raised together.

Each failure is logged and reported to ``on_failure(provider, operation, error)`` so that a
metric can count it (metrics come later; nothing here knows Prometheus). A provider answering
with a different ``SignalKind`` than the chain serves is treated as failing: marginal and
average intensity are never mixed silently.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import TypeVar

from carbon_kube.domain.clock import Clock, require_utc
from carbon_kube.domain.errors import (
    ProviderError,
    ProviderPermanentError,
    ProviderTemporaryError,
)
from carbon_kube.domain.intensity import IntensitySeries, SignalKind
from carbon_kube.domain.zones import Zone
from carbon_kube.providers.base import (
    ForecastUnsupportedError,
    IntensityProvider,
    IntensityReading,
)
from carbon_kube.providers.caching import IntensityCache, SeriesKind

log = logging.getLogger(__name__)

FailureHook = Callable[[str, str, ProviderError], None]
NAME = "fallback"
_Answer = TypeVar("_Answer", IntensitySeries, IntensityReading)


def _ignore_failure(provider: str, operation: str, error: ProviderError) -> None:
    """The default hook: failures are still logged, just not counted anywhere."""


class FallbackProvider:
    """``IntensityProvider`` that tries ``providers`` in order, then serves stale cached data."""

    def __init__(
        self,
        providers: Sequence[IntensityProvider],
        *,
        clock: Clock,
        cache: IntensityCache | None = None,
        signal: SignalKind = SignalKind.AVERAGE,
        on_failure: FailureHook = _ignore_failure,
    ) -> None:
        if not providers:
            raise ValueError("FallbackProvider needs at least one provider")
        self._providers = list(providers)
        self._clock = clock
        self._cache = cache
        self._signal = signal
        self._on_failure = on_failure

    @property
    def name(self) -> str:
        return NAME

    def zones(self) -> list[Zone]:
        seen: dict[Zone, None] = {}
        for provider in self._providers:
            seen.update(dict.fromkeys(provider.zones()))
        return list(seen)

    def latest(self, zone: Zone) -> IntensityReading:
        cache = self._cache

        def cached(provider: IntensityProvider) -> IntensityReading | None:
            return None if cache is None else cache.fresh_reading(provider.name, zone)

        def store(provider: IntensityProvider, reading: IntensityReading) -> None:
            if cache is not None:
                cache.put_reading(reading)

        def stale() -> IntensityReading | None:
            return None if cache is None else cache.last_reading(zone, self._signal)

        return self._first("latest", zone, cached, lambda p: p.latest(zone), store, stale)

    def history(self, zone: Zone, start: datetime, end: datetime) -> IntensitySeries:
        start, end = require_utc(start, "history start"), require_utc(end, "history end")
        return self._series(
            SeriesKind.HISTORY, zone, start, end, lambda p: p.history(zone, start, end)
        )

    def forecast(self, zone: Zone, horizon: timedelta) -> IntensitySeries:
        now = self._clock.now()
        return self._series(
            SeriesKind.FORECAST, zone, now, now + horizon, lambda p: p.forecast(zone, horizon)
        )

    def _series(
        self,
        kind: SeriesKind,
        zone: Zone,
        start: datetime,
        end: datetime,
        ask: Callable[[IntensityProvider], IntensitySeries],
    ) -> IntensitySeries:
        cache = self._cache

        def cached(provider: IntensityProvider) -> IntensitySeries | None:
            return (
                None if cache is None else cache.fresh_series(provider.name, kind, zone, start, end)
            )

        def stamped_ask(provider: IntensityProvider) -> IntensitySeries:
            return _stamped(ask(provider), provider.name)

        def store(provider: IntensityProvider, series: IntensitySeries) -> None:
            if cache is not None:
                cache.put_series(
                    provider.name, kind, series, requested_start=start, requested_end=end
                )

        def stale() -> IntensitySeries | None:
            return (
                None if cache is None else cache.last_series(kind, zone, start, end, self._signal)
            )

        return self._first(kind.value, zone, cached, stamped_ask, store, stale)

    def _first(
        self,
        operation: str,
        zone: Zone,
        cached: Callable[[IntensityProvider], _Answer | None],
        ask: Callable[[IntensityProvider], _Answer],
        store: Callable[[IntensityProvider, _Answer], None],
        stale: Callable[[], _Answer | None],
    ) -> _Answer:
        failures: list[ProviderError] = []
        for provider in self._providers:
            hit = cached(provider)
            if hit is not None:
                return hit
            try:
                answer = ask(provider)
                if answer.signal is not self._signal:
                    raise ProviderPermanentError(
                        provider.name,
                        f"answered with a {answer.signal} signal but this chain serves "
                        f"{self._signal} intensity; the two are never mixed",
                    )
            except ForecastUnsupportedError as error:
                # Expected for sources without forecasts: not a failure worth counting.
                failures.append(error)
                continue
            except ProviderError as error:
                failures.append(error)
                log.warning(
                    "%s failed for %s of %s: %s",
                    provider.name,
                    operation,
                    zone,
                    error.message,
                    extra={
                        "provider": provider.name,
                        "operation": operation,
                        "zone": zone,
                        "error": str(error),
                    },
                )
                self._on_failure(provider.name, operation, error)
                continue
            store(provider, answer)
            return answer
        fallback = stale()
        if fallback is not None:
            log.warning(
                "every provider failed for %s of %s; serving stale cached data",
                operation,
                zone,
                extra={"operation": operation, "zone": zone, "failures": len(failures)},
            )
            return fallback
        summary = "; ".join(str(error) for error in failures)
        message = (
            f"every provider failed for {operation} of {zone} and nothing is cached: {summary}"
        )
        if any(isinstance(error, ProviderTemporaryError) for error in failures):
            raise ProviderTemporaryError(NAME, message)
        if all(isinstance(error, ForecastUnsupportedError) for error in failures):
            raise ForecastUnsupportedError(NAME, message)
        raise ProviderPermanentError(NAME, message)


def _stamped(series: IntensitySeries, provider: str) -> IntensitySeries:
    """``series`` naming the provider it came from, unless an inner chain named it already."""
    return series if series.source else replace(series, source=provider)
