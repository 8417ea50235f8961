"""Write the native scheduler plugin's test table from the Python scoring it must match.

``scheduler-plugin/carbonscore/testdata/score_nodes_cases.json`` holds pods (their
``spec`` as Kubernetes JSON), nodes (their labels) and the scores and emissions Python
computes for them: ``planning.workloads.object_size`` for the pod's size and
``policy.label_scoring.score_labelled_nodes`` (that is, ``policy.scoring.score_nodes``) for
the scores. The Go tests read the file and must reproduce every number exactly;
``tests/unit/test_native_score_fixture.py`` regenerates it and fails if the committed copy
differs, so neither side can drift without the other noticing.

Run: ``.venv/bin/python scripts/native_score_fixture.py [--out PATH]``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from carbon_kube.domain.annotations import (
    INTENSITY_LABEL,
    WATTS_PER_GIB_LABEL,
    WATTS_PER_VCPU_LABEL,
)
from carbon_kube.domain.workloads import WorkloadKind
from carbon_kube.energy.power import PowerModel, default_power_model
from carbon_kube.planning.workloads import object_size
from carbon_kube.policy.label_scoring import (
    parse_label_decimal,
    power_labels,
    score_labelled_nodes,
)

FIXTURE = (
    Path(__file__).resolve().parents[1]
    / "scheduler-plugin/carbonscore/testdata/score_nodes_cases.json"
)


def _labels(intensity: str | None, instance_type: str | None = "m6i.2xlarge") -> dict[str, str]:
    labels = power_labels(default_power_model(instance_type=instance_type))
    if intensity is not None:
        labels[INTENSITY_LABEL] = intensity
    return labels


def _pod(*requests: dict[str, str], init: tuple[dict[str, str], ...] = ()) -> dict[str, Any]:
    def container(name: str, values: dict[str, str]) -> dict[str, Any]:
        return {"name": name, "image": "pause", "resources": {"requests": values}}

    spec: dict[str, Any] = {"containers": [container(f"c{i}", r) for i, r in enumerate(requests)]}
    if init:
        spec["initContainers"] = [container(f"i{i}", r) for i, r in enumerate(init)]
    return spec


SMALL = {"cpu": "500m", "memory": "1Gi"}

# (name, pod spec, [(node, labels)]): each case says in its name what it pins down.
CASES: list[tuple[str, dict[str, Any], list[tuple[str, dict[str, str]]]]] = [
    (
        "lower intensity, same power: low node 100, high node 0",
        _pod(SMALL),
        [("fr", _labels("56")), ("de", _labels("380"))],
    ),
    (
        "a node without labels is neutral (50), not excluded",
        _pod(SMALL),
        [("fr", _labels("56")), ("de", _labels("380")), ("bare", {})],
    ),
    ("no node has data: all neutral", _pod(SMALL), [("a", {}), ("b", {"x": "y"})]),
    (
        "all nodes with data tie: all 100, the unlabelled one still 50",
        _pod(SMALL),
        [("a", _labels("200")), ("b", _labels("200")), ("c", _labels(None))],
    ),
    (
        "power matters: Graviton in a dirtier zone beats Cascade Lake in a cleaner one",
        _pod({"cpu": "4", "memory": "8Gi"}),
        [
            ("ie-m6g", _labels("300", "m6g.2xlarge")),
            ("de-c5", _labels("250", "c5.4xlarge")),
            ("fr-m5", _labels("60", "m5.large")),
        ],
    ),
    (
        "memory-heavy pod: the memory coefficient weighs in",
        _pod({"cpu": "100m", "memory": "64Gi"}),
        [
            ("a", {INTENSITY_LABEL: "100", WATTS_PER_VCPU_LABEL: "1", WATTS_PER_GIB_LABEL: "2"}),
            (
                "b",
                {INTENSITY_LABEL: "120", WATTS_PER_VCPU_LABEL: "0.5", WATTS_PER_GIB_LABEL: "1.5"},
            ),
            ("c", {INTENSITY_LABEL: "90", WATTS_PER_VCPU_LABEL: "0.1", WATTS_PER_GIB_LABEL: "2.5"}),
        ],
    ),
    (
        "malformed or partial labels are no data: neutral",
        _pod(SMALL),
        [
            ("ok-low", _labels("100")),
            ("ok-high", _labels("300")),
            ("negative", {**_labels(None), INTENSITY_LABEL: "-5"}),
            ("exponent", {**_labels(None), INTENSITY_LABEL: "1e3"}),
            ("word", {**_labels(None), INTENSITY_LABEL: "high"}),
            ("empty", {**_labels(None), INTENSITY_LABEL: ""}),
            ("trailing-dot", {**_labels(None), INTENSITY_LABEL: "12."}),
            ("underscore", {**_labels(None), INTENSITY_LABEL: "1_000"}),
            ("leading-dot", {**_labels(None), INTENSITY_LABEL: ".5"}),
            ("two-dots", {**_labels(None), INTENSITY_LABEL: "1.2.3"}),
            ("plus-sign", {**_labels(None), INTENSITY_LABEL: "+5"}),
            ("space", {**_labels(None), INTENSITY_LABEL: " 5"}),
            ("no-vcpu-watts", {INTENSITY_LABEL: "50", WATTS_PER_GIB_LABEL: "0.4"}),
            ("no-gib-watts", {INTENSITY_LABEL: "50", WATTS_PER_VCPU_LABEL: "1.2"}),
        ],
    ),
    (
        "zero intensity is data, and the best",
        _pod(SMALL),
        [("zero", _labels("0")), ("some", _labels("10")), ("more", _labels("20"))],
    ),
    (
        "rounding is half up: 87.5 -> 88, 12.5 -> 13",
        _pod({"cpu": "1", "memory": "0"}),
        [
            ("low", {INTENSITY_LABEL: "0", WATTS_PER_VCPU_LABEL: "1", WATTS_PER_GIB_LABEL: "1"}),
            ("mid", {INTENSITY_LABEL: "1", WATTS_PER_VCPU_LABEL: "1", WATTS_PER_GIB_LABEL: "1"}),
            ("mid2", {INTENSITY_LABEL: "7", WATTS_PER_VCPU_LABEL: "1", WATTS_PER_GIB_LABEL: "1"}),
            ("high", {INTENSITY_LABEL: "8", WATTS_PER_VCPU_LABEL: "1", WATTS_PER_GIB_LABEL: "1"}),
        ],
    ),
    (
        "pod without requests is scored as 1 vCPU and 1 GiB",
        {"containers": [{"name": "c", "image": "pause"}]},
        [("a", _labels("100", "m6g.xlarge")), ("b", _labels("120", "m5.xlarge"))],
    ),
    (
        "the largest init container counts when it exceeds the containers' sum",
        _pod(
            {"cpu": "250m", "memory": "128Mi"},
            {"cpu": "250m", "memory": "128Mi"},
            init=({"cpu": "2", "memory": "100M"}, {"cpu": "100m", "memory": "3Gi"}),
        ),
        [("a", _labels("200", "c6g.large")), ("b", _labels("150", "m5a.large"))],
    ),
    (
        "limits stand in for absent requests",
        {
            "containers": [
                {
                    "name": "c",
                    "image": "pause",
                    "resources": {"limits": {"cpu": "3", "memory": "2Gi"}},
                }
            ]
        },
        [
            ("a", {INTENSITY_LABEL: "100", WATTS_PER_VCPU_LABEL: "1", WATTS_PER_GIB_LABEL: "5"}),
            ("b", {INTENSITY_LABEL: "110", WATTS_PER_VCPU_LABEL: "2", WATTS_PER_GIB_LABEL: "1"}),
            ("c", {INTENSITY_LABEL: "95", WATTS_PER_VCPU_LABEL: "3", WATTS_PER_GIB_LABEL: "0.5"}),
        ],
    ),
    (
        "a mixed cluster: many types and intensities, fractional requests",
        _pod({"cpu": "1.5", "memory": "1536Mi"}, {"cpu": "10m", "memory": "16Mi"}),
        [
            (f"{zone}-{itype}", _labels(intensity, itype))
            for zone, intensity in (("FR", "56"), ("IE", "291"), ("DE", "381"), ("PL", "701"))
            for itype in ("m6g.2xlarge", "m6i.2xlarge", "c5.4xlarge", "m6a.large", "x9.huge")
        ],
    ),
]


def _emission(labels: dict[str, str], cpus: float, memory_gib: float) -> float | None:
    """The plugin's per-node emission (g per hour), as label_scoring computes it."""
    values = [
        parse_label_decimal(labels.get(key))
        for key in (INTENSITY_LABEL, WATTS_PER_VCPU_LABEL, WATTS_PER_GIB_LABEL)
    ]
    intensity, per_vcpu, per_gib = values
    if intensity is None or per_vcpu is None or per_gib is None:
        return None
    model = PowerModel(watts_per_vcpu=per_vcpu, watts_per_gib=per_gib, pue=1.0)
    return intensity * model.energy_kwh(cpus, memory_gib, 1.0)


def build_cases() -> dict[str, Any]:
    """The fixture document (deterministic: same code, same bytes)."""
    cases = []
    for name, spec, nodes in CASES:
        cpus, memory_gib = object_size(WorkloadKind.POD, {"spec": spec})
        scores = score_labelled_nodes(nodes, cpus, memory_gib)
        cases.append(
            {
                "name": name,
                "pod_spec": spec,
                "want_cpus": cpus,
                "want_memory_gib": memory_gib,
                "nodes": [
                    {
                        "name": node,
                        "labels": labels,
                        "want_emission_g_per_h": _emission(labels, cpus, memory_gib),
                        "want_score": score,
                    }
                    for (node, labels), score in zip(nodes, scores, strict=True)
                ],
            }
        )
    return {
        "generated_by": "scripts/native_score_fixture.py (do not edit by hand)",
        "max_score": 100,
        "cases": cases,
    }


def render() -> str:
    return json.dumps(build_cases(), indent=2, sort_keys=True) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=FIXTURE)
    args = parser.parse_args()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(render())
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
