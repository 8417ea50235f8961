from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from carbon_kube.policy.forecasts import OracleForecast
from carbon_kube.policy.pauses import plan_split, split_lower_bounds
from tests.builders import make_truth

values = st.lists(st.floats(min_value=0, max_value=900, allow_nan=False), min_size=48, max_size=48)


@settings(max_examples=80, deadline=None)
@given(
    values,
    st.integers(0, 20 * 3600),
    st.integers(60, 10 * 3600),
    st.integers(0, 20 * 3600),
    st.sampled_from([0.0, 300.0, 1800.0]),
)
def test_the_screening_bound_never_exceeds_the_split_plan_it_screens(
    series: list[float], offset_s: int, duration_s: int, slack_s: int, restart_s: float
) -> None:
    truth = make_truth({"DE": series})
    forecast = OracleForecast(truth)
    earliest = truth.grid.origin_s + float(offset_s)
    deadline = earliest + duration_s + slack_s
    split = plan_split(forecast, 0, earliest, earliest, deadline, float(duration_s), restart_s)
    bound = split_lower_bounds(
        forecast,
        0,
        np.array([earliest]),
        np.array([earliest]),
        np.array([deadline]),
        np.array([float(duration_s)]),
        restart_s,
    )[0]
    assert split is not None
    if len(split.segments) > 1:
        assert bound <= split.believed_gh_per_kwh * (1 + 1e-9) + 1e-9
    ran_s = sum(end - start for start, end in split.segments)
    assert abs(ran_s - split.run_s) < 1e-6
    assert split.run_s >= duration_s - 1e-6
    assert split.segments[0][0] >= earliest
    assert split.segments[-1][1] <= deadline + 1e-6
