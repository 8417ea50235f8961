"""The Go plugin's test table is what the Python scoring says today (no drift either way)."""

from __future__ import annotations

from carbon_kube.domain.annotations import (
    INTENSITY_LABEL,
    WATTS_PER_GIB_LABEL,
    WATTS_PER_VCPU_LABEL,
)
from carbon_kube.domain.zones import Zone
from carbon_kube.energy.power import default_power_model
from carbon_kube.policy.label_scoring import (
    format_label_decimal,
    parse_label_decimal,
    power_labels,
    score_labelled_nodes,
)
from carbon_kube.policy.scoring import NodeEnergy, score_nodes
from tests.scripts import load_script

fixture = load_script("native_score_fixture")


def test_committed_fixture_equals_a_fresh_generation() -> None:
    committed = fixture.FIXTURE.read_text()

    assert committed == fixture.render(), (
        "the Python scoring changed: run .venv/bin/python scripts/native_score_fixture.py, "
        "then hack/lab/build.sh test-scheduler-plugin (the Go plugin must still pass)"
    )


def test_label_decimals_round_trip_and_reject_what_the_plugin_rejects() -> None:
    assert format_label_decimal(1.2258000000000002) == "1.2258"
    assert format_label_decimal(380.0) == "380"
    assert format_label_decimal(0.0) == "0"
    assert parse_label_decimal("1.2258") == 1.2258
    for raw in (None, "", "-5", "1e3", "12.", ".5", "1_000", "nan", "inf", " 1"):
        assert parse_label_decimal(raw) is None, raw


def test_labelled_scores_rank_like_the_extenders_zone_scores() -> None:
    # Same nodes scored the extender's way (zones, exact model) and from labels: same scores
    # when intensities are whole numbers.
    types = {"a": "m6g.2xlarge", "b": "c5.4xlarge", "c": "m6i.2xlarge", "d": "m5a.large"}
    zones = {"a": "IE", "b": "FR", "c": "DE", "d": "PL"}
    intensity = {"IE": 291.0, "FR": 56.0, "DE": 381.0, "PL": 701.0}
    cpus, memory_gib = 2.0, 4.0
    by_zone = score_nodes(
        [
            NodeEnergy(
                node=n,
                zone=Zone(zones[n]),
                energy_kwh=default_power_model(instance_type=t).energy_kwh(cpus, memory_gib, 3.0),
            )
            for n, t in types.items()
        ],
        {Zone(z): v for z, v in intensity.items()},
        max_score=100,
    )
    labelled = [
        (
            n,
            {
                **power_labels(default_power_model(instance_type=t)),
                INTENSITY_LABEL: format_label_decimal(intensity[zones[n]]),
            },
        )
        for n, t in types.items()
    ]

    assert score_labelled_nodes(labelled, cpus, memory_gib) == by_zone


def test_a_node_missing_one_power_label_scores_neutral() -> None:
    nodes = [
        ("full", {INTENSITY_LABEL: "10", WATTS_PER_VCPU_LABEL: "1", WATTS_PER_GIB_LABEL: "1"}),
        ("worse", {INTENSITY_LABEL: "20", WATTS_PER_VCPU_LABEL: "1", WATTS_PER_GIB_LABEL: "1"}),
        ("partial", {INTENSITY_LABEL: "1", WATTS_PER_VCPU_LABEL: "1"}),
    ]

    assert score_labelled_nodes(nodes, 1.0, 1.0) == [100, 0, 50]
