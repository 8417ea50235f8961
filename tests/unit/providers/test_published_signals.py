from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest

from carbon_kube.domain.clock import FixedClock
from carbon_kube.domain.errors import ProviderPermanentError
from carbon_kube.domain.forecasts import QuantileForecast
from carbon_kube.domain.intensity import SignalKind
from carbon_kube.domain.zones import Zone
from carbon_kube.providers.base import ForecastUnsupportedError
from carbon_kube.providers.published import (
    DATA_KEY,
    DEFAULT_MAX_AGE,
    PublishedSignals,
    ZoneSignal,
    decode,
    encode,
    object_name,
)
from tests.builders import HOUR, T0, make_series

DE = Zone("DE")
NOW = T0 + 48 * HOUR


def a_signal(*, issued_at=NOW, stale: bool = False, model: str = "provider") -> ZoneSignal:  # type: ignore[no-untyped-def]
    history = make_series([float(v) for v in range(48)], start=T0)
    p50 = np.full(72, 200.0)
    forecast = QuantileForecast(DE, model, NOW, HOUR, p50 - 20, p50, p50 + 30)
    return ZoneSignal(
        zone=DE,
        source="electricitymaps",
        issued_at=issued_at,
        history=history,
        forecast=forecast,
        model=model,
        stale=stale,
    )


def test_a_document_survives_its_wire_form() -> None:
    signal = a_signal()

    back = decode(encode(signal))

    assert back.zone == DE
    assert (back.source, back.model, back.stale, back.issued_at) == (
        "electricitymaps",
        "provider",
        False,
        NOW,
    )
    assert back.history.start == signal.history.start
    assert list(back.history.values_g_per_kwh) == list(signal.history.values_g_per_kwh)
    assert back.forecast is not None
    assert list(back.forecast.p90_g_per_kwh[:2]) == [230.0, 230.0]


@pytest.mark.parametrize(
    ("data", "want"),
    [
        ({}, "no signal.json"),
        ({DATA_KEY: "{not json"}, "not JSON"),
        ({DATA_KEY: '{"version": 99}'}, "version 1"),
        ({DATA_KEY: '{"version": 1, "zone": "DE"}'}, "missing or malformed"),
    ],
)
def test_a_malformed_document_is_a_value_error_saying_what(data: dict[str, str], want: str) -> None:
    with pytest.raises(ValueError, match=want):
        decode(data)


def test_a_negative_value_in_a_document_is_refused_by_the_series_checks() -> None:
    data = encode(a_signal())
    data[DATA_KEY] = data[DATA_KEY].replace('"g_per_kwh":[0.0', '"g_per_kwh":[-5.0')

    with pytest.raises(ValueError, match="finite and >= 0"):
        decode(data)


def test_object_names_are_dns_labels() -> None:
    assert object_name(Zone("US-CAL-CISO")) == "carbon-kube-signal-us-cal-ciso"


def test_the_store_answers_history_latest_and_the_published_median() -> None:
    clock = FixedClock(NOW)
    store = PublishedSignals(clock)
    store.update(a_signal(model="seasonal-naive"))

    history = store.history(DE, T0 + 24 * HOUR, NOW)
    latest = store.latest(DE)
    forecast = store.forecast(DE, timedelta(hours=6))

    assert len(history) == 24
    assert (latest.intensity_g_per_kwh, latest.provider, latest.stale) == (
        47.0,
        "electricitymaps",
        False,
    )
    assert forecast.start == NOW
    assert len(forecast) == 6
    assert set(forecast.values_g_per_kwh) == {200.0}
    assert (forecast.source, forecast.model) == ("electricitymaps", "seasonal-naive")


def test_a_document_older_than_the_max_age_is_served_stale() -> None:
    clock = FixedClock(NOW)
    store = PublishedSignals(clock)
    store.update(a_signal())
    clock.advance(DEFAULT_MAX_AGE + timedelta(seconds=1))

    assert store.latest(DE).stale
    assert store.forecast(DE, timedelta(hours=1)).stale


def test_an_older_document_never_replaces_a_newer_one() -> None:
    store = PublishedSignals(FixedClock(NOW))
    store.update(a_signal(issued_at=NOW))
    store.update(a_signal(issued_at=NOW - HOUR, stale=True))

    held = store.signal(DE)
    assert held is not None
    assert held.issued_at == NOW


def test_a_malformed_object_keeps_the_last_good_document() -> None:
    store = PublishedSignals(FixedClock(NOW))
    name = object_name(DE)
    store.apply_object(name, {"data": encode(a_signal())})

    store.apply_object(name, {"data": {DATA_KEY: "garbage"}})

    assert store.signal(DE) is not None
    store.apply_object(name, None)
    assert store.signal(DE) is None


def test_a_zone_without_a_document_is_a_permanent_error_and_no_forecast_is_unsupported() -> None:
    store = PublishedSignals(FixedClock(NOW))
    with pytest.raises(ProviderPermanentError, match="no published signal"):
        store.latest(DE)
    signal = a_signal()
    store.update(ZoneSignal(DE, "x", NOW, signal.history, None, "persistence"))
    with pytest.raises(ForecastUnsupportedError):
        store.forecast(DE, HOUR)
    assert store.history(DE, T0, NOW).signal is SignalKind.AVERAGE
