from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from carbon_kube.domain.clock import FixedClock
from carbon_kube.domain.errors import (
    ProviderError,
    ProviderPermanentError,
    ProviderTemporaryError,
)
from carbon_kube.domain.intensity import IntensitySeries, SignalKind
from carbon_kube.domain.zones import Zone
from carbon_kube.providers.base import ForecastUnsupportedError, IntensityReading
from carbon_kube.providers.caching import CacheTtl, IntensityCache
from carbon_kube.providers.fallback import FallbackProvider
from tests.builders import HOUR, T0, make_series

DE = Zone("DE")
NOW = T0 + 48 * HOUR


@dataclass
class ScriptedProvider:
    """A provider that returns its series or raises its error, and counts the calls."""

    name: str
    series: IntensitySeries | None = None
    error: ProviderError | None = None
    calls: list[str] = field(default_factory=list)

    def zones(self) -> list[Zone]:
        return [DE]

    def _answer(self, call: str) -> IntensitySeries:
        self.calls.append(call)
        if self.error is not None:
            raise self.error
        assert self.series is not None
        return self.series

    def history(self, zone: Zone, start: datetime, end: datetime) -> IntensitySeries:
        return self._answer("history").between(start, end)

    def latest(self, zone: Zone) -> IntensityReading:
        series = self._answer("latest")
        return IntensityReading(
            zone, series.start, float(series.values_g_per_kwh[-1]), self.name, series.signal
        )

    def forecast(self, zone: Zone, horizon: timedelta) -> IntensitySeries:
        return self._answer("forecast")


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(NOW)


@pytest.fixture
def cache(tmp_path: Path, clock: FixedClock) -> IntensityCache:
    return IntensityCache(tmp_path / "cache.sqlite", clock=clock, ttl=CacheTtl(history=HOUR))


def down(name: str) -> ScriptedProvider:
    return ScriptedProvider(name, error=ProviderTemporaryError(name, "HTTP 503"))


def test_the_first_provider_that_answers_wins_and_later_ones_are_not_asked(
    clock: FixedClock,
) -> None:
    first = ScriptedProvider("a", make_series([1.0, 2.0]))
    second = ScriptedProvider("b", make_series([9.0, 9.0]))
    chain = FallbackProvider([first, second], clock=clock)
    assert list(chain.history(DE, T0, T0 + 2 * HOUR).values_g_per_kwh) == [1.0, 2.0]
    assert second.calls == []


def test_a_failing_provider_is_counted_and_the_next_one_answers(clock: FixedClock) -> None:
    counted: list[tuple[str, str]] = []
    backup = ScriptedProvider("b", make_series([7.0, 8.0]))
    chain = FallbackProvider(
        [down("a"), backup], clock=clock, on_failure=lambda p, op, _: counted.append((p, op))
    )
    series = chain.history(DE, T0, T0 + 2 * HOUR)
    assert list(series.values_g_per_kwh) == [7.0, 8.0]
    assert not series.stale
    assert series.source == "b"
    assert counted == [("a", "history")]


def test_a_fresh_cached_answer_is_served_without_asking_the_provider(
    clock: FixedClock, cache: IntensityCache
) -> None:
    provider = ScriptedProvider("a", make_series([1.0, 2.0]))
    chain = FallbackProvider([provider], clock=clock, cache=cache)
    chain.history(DE, T0, T0 + 2 * HOUR)
    chain.history(DE, T0, T0 + 2 * HOUR)
    assert provider.calls == ["history"]
    clock.advance(HOUR + timedelta(seconds=1))
    chain.history(DE, T0, T0 + 2 * HOUR)
    assert provider.calls == ["history", "history"]


def test_when_every_provider_fails_the_last_good_data_is_served_flagged_stale(
    clock: FixedClock, cache: IntensityCache
) -> None:
    healthy = ScriptedProvider("a", make_series([1.0, 2.0, 3.0]))
    FallbackProvider([healthy], clock=clock, cache=cache).history(DE, T0, T0 + 3 * HOUR)
    clock.advance(timedelta(days=2))
    counted: list[str] = []
    chain = FallbackProvider(
        [down("a"), down("b")], clock=clock, cache=cache, on_failure=lambda p, *_: counted.append(p)
    )
    series = chain.history(DE, T0, T0 + 3 * HOUR)
    assert series.stale
    assert series.source == "a"  # the provider whose answer the cache kept
    assert list(series.values_g_per_kwh) == [1.0, 2.0, 3.0]
    assert counted == ["a", "b"]


def test_a_stale_latest_reading_is_served_with_its_flag(
    clock: FixedClock, cache: IntensityCache
) -> None:
    FallbackProvider(
        [ScriptedProvider("a", make_series([4.0, 5.0]))], clock=clock, cache=cache
    ).latest(DE)
    clock.advance(timedelta(hours=3))
    reading = FallbackProvider([down("a")], clock=clock, cache=cache).latest(DE)
    assert (reading.intensity_g_per_kwh, reading.stale, reading.provider) == (5.0, True, "a")


def test_a_stale_forecast_is_served_only_where_it_still_overlaps_the_horizon(
    clock: FixedClock, cache: IntensityCache
) -> None:
    forecast = make_series([10.0, 20.0, 30.0, 40.0], start=NOW)
    FallbackProvider([ScriptedProvider("a", forecast)], clock=clock, cache=cache).forecast(
        DE, 4 * HOUR
    )
    clock.advance(2 * HOUR)
    series = FallbackProvider([down("a")], clock=clock, cache=cache).forecast(DE, 4 * HOUR)
    assert series.stale
    assert list(series.values_g_per_kwh) == [30.0, 40.0]
    clock.advance(3 * HOUR)
    with pytest.raises(ProviderTemporaryError, match="nothing is cached"):
        FallbackProvider([down("a")], clock=clock, cache=cache).forecast(DE, 4 * HOUR)


def test_with_nothing_cached_all_failures_are_reported_together(clock: FixedClock) -> None:
    chain = FallbackProvider([down("a"), down("b")], clock=clock)
    with pytest.raises(ProviderTemporaryError) as caught:
        chain.latest(DE)
    assert "a: HTTP 503" in str(caught.value)
    assert "b: HTTP 503" in str(caught.value)


def test_only_permanent_failures_give_a_permanent_error(clock: FixedClock) -> None:
    broken = ScriptedProvider("a", error=ProviderPermanentError("a", "HTTP 401"))
    with pytest.raises(ProviderPermanentError):
        FallbackProvider([broken], clock=clock).latest(DE)


def test_a_marginal_answer_is_never_served_by_an_average_chain(clock: FixedClock) -> None:
    marginal = make_series([400.0, 410.0])
    marginal = IntensitySeries(
        marginal.zone,
        marginal.start,
        marginal.step,
        marginal.values_g_per_kwh,
        signal=SignalKind.MARGINAL,
    )
    counted: list[str] = []
    average = ScriptedProvider("em", make_series([100.0, 110.0]))
    chain = FallbackProvider(
        [ScriptedProvider("wt", marginal), average],
        clock=clock,
        on_failure=lambda p, op, error: counted.append(str(error)),
    )
    assert list(chain.history(DE, T0, T0 + 2 * HOUR).values_g_per_kwh) == [100.0, 110.0]
    assert "never mixed" in counted[0]


def test_a_source_without_forecasts_is_skipped_without_counting_a_failure(
    clock: FixedClock,
) -> None:
    counted: list[str] = []
    no_forecast = ScriptedProvider("files", error=ForecastUnsupportedError("files", "no forecast"))
    chain = FallbackProvider(
        [no_forecast, ScriptedProvider("em", make_series([1.0], start=NOW))],
        clock=clock,
        on_failure=lambda p, *_: counted.append(p),
    )
    assert len(chain.forecast(DE, HOUR)) == 1
    assert counted == []


def test_a_chain_of_sources_without_forecasts_says_so(clock: FixedClock) -> None:
    no_forecast = ScriptedProvider("files", error=ForecastUnsupportedError("files", "no forecast"))
    with pytest.raises(ForecastUnsupportedError):
        FallbackProvider([no_forecast], clock=clock).forecast(DE, HOUR)
