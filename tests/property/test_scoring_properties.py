from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from carbon_kube.domain.zones import Zone
from carbon_kube.policy.scoring import NodeEnergy, neutral_score, score_nodes

intensity = st.floats(min_value=0, max_value=2000, allow_nan=False)
energy = st.floats(min_value=0, max_value=50, allow_nan=False)
max_scores = st.sampled_from([10, 100])


@given(st.lists(st.tuples(intensity, energy), min_size=1, max_size=12), max_scores)
def test_scores_stay_within_the_range(nodes: list[tuple[float, float]], max_score: int) -> None:
    zones = {Zone(f"Z{i}" if i else "DE"): v for i, (v, _) in enumerate(nodes)}
    candidates = [
        NodeEnergy(f"n{i}", z, e) for i, (z, (_, e)) in enumerate(zip(zones, nodes, strict=False))
    ]
    scores = score_nodes(candidates, zones, max_score)
    assert all(0 <= s <= max_score for s in scores)


@given(st.lists(intensity, min_size=2, max_size=12), energy, max_scores)
def test_lower_intensity_never_scores_lower_at_equal_energy(
    values: list[float], energy_kwh: float, max_score: int
) -> None:
    zones = [Zone(f"Z{i}") for i in range(len(values))]
    nodes = [NodeEnergy(f"n{i}", z, energy_kwh) for i, z in enumerate(zones)]
    scores = score_nodes(nodes, dict(zip(zones, values, strict=True)), max_score)
    for a in range(len(values)):
        for b in range(len(values)):
            if values[a] < values[b]:
                assert scores[a] >= scores[b]


@given(st.lists(intensity, min_size=1, max_size=6), energy)
def test_nodes_without_data_get_the_neutral_score(values: list[float], energy_kwh: float) -> None:
    zones = [Zone(f"Z{i}") for i in range(len(values))]
    nodes = [NodeEnergy(f"n{i}", z, energy_kwh) for i, z in enumerate(zones)]
    nodes += [NodeEnergy("unlabelled", None, energy_kwh), NodeEnergy("nodata", Zone("XX"), 1.0)]
    scores = score_nodes(nodes, dict(zip(zones, values, strict=True)))
    assert scores[-2:] == [neutral_score(), neutral_score()]


def test_the_cleanest_node_scores_highest_and_the_dirtiest_zero() -> None:
    nodes = [NodeEnergy("fr", Zone("FR"), 1.0), NodeEnergy("de", Zone("DE"), 1.0)]
    assert score_nodes(nodes, {Zone("FR"): 50.0, Zone("DE"): 400.0}) == [10, 0]
