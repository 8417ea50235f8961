from __future__ import annotations

from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from carbon_kube.energy.emissions import emissions_g
from tests.builders import T0, make_series

values = st.lists(st.floats(min_value=0, max_value=2000, allow_nan=False), min_size=2, max_size=48)
seconds = st.integers(min_value=0, max_value=2 * 3600)


@given(values, st.data())
def test_emissions_are_additive_over_split_intervals(
    series_values: list[float], data: st.DataObject
) -> None:
    series = make_series(series_values)
    span_s = len(series_values) * 3600
    a, b, c = sorted(data.draw(st.lists(st.integers(0, span_s), min_size=3, max_size=3)))
    start, middle, end = (T0 + timedelta(seconds=s) for s in (a, b, c))
    whole = emissions_g(series, start, end, 750.0)
    parts = emissions_g(series, start, middle, 750.0) + emissions_g(series, middle, end, 750.0)
    assert whole == pytest.approx(parts, rel=1e-9, abs=1e-6)


@given(values, st.floats(min_value=0.1, max_value=100), seconds)
def test_emissions_scale_linearly_with_power(
    series_values: list[float], factor: float, offset_s: int
) -> None:
    series = make_series(series_values)
    start = T0 + timedelta(seconds=offset_s % 3600)
    end = series.end - timedelta(seconds=offset_s % 1800)
    base = emissions_g(series, start, end, 100.0)
    assert emissions_g(series, start, end, 100.0 * factor) == pytest.approx(
        base * factor, rel=1e-9, abs=1e-9
    )
