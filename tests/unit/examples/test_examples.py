"""examples/*.yaml are opted in, carry valid flexibility annotations and use the held kinds."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from carbon_kube.domain.annotations import DEADLINE, MAX_DELAY, is_opted_in
from carbon_kube.domain.workloads import WorkloadKind
from carbon_kube.domain.zones import Zone
from carbon_kube.kinds.registry import kind_of
from carbon_kube.planning.workloads import workload_from_object
from tests.examples import EXAMPLE_FILES, EXAMPLES_DIR, load_example

SUBMITTED_AT = datetime(2026, 11, 28, 18, 0, tzinfo=UTC)

# want_kind, want vCPU while running (from the objects' own resource fields).
WANT = {
    "batch-job.yaml": (WorkloadKind.JOB, 2.0),
    "flink-job.yaml": (WorkloadKind.FLINK, 1.0 + 2 * 2.0),
    "spark-job.yaml": (WorkloadKind.SPARK, 1.0 + 2 * 2.0),
}


def test_every_example_file_is_covered_by_these_tests() -> None:
    assert sorted(p.name for p in EXAMPLES_DIR.glob("*.yaml")) == sorted(EXAMPLE_FILES)


@pytest.mark.parametrize("name", EXAMPLE_FILES)
def test_example_is_opted_in_with_a_deadline_or_max_delay(name: str) -> None:
    obj = load_example(name)
    metadata = obj["metadata"]
    assert is_opted_in(metadata["labels"])
    assert (DEADLINE in metadata["annotations"]) != (MAX_DELAY in metadata["annotations"])
    # No namespace in the file: `kubectl apply -n` (and the lab test) choose it.
    assert "namespace" not in metadata


@pytest.mark.parametrize("name", EXAMPLE_FILES)
def test_example_is_a_kind_carbon_kube_holds_and_plans_as_expected(name: str) -> None:
    obj = load_example(name)
    group, _, version = obj["apiVersion"].rpartition("/")
    kind = kind_of(group, version, obj["kind"])
    want_kind, want_cpus = WANT[name]
    assert kind is want_kind
    workload, request = workload_from_object(
        kind, obj, home_zone=Zone("DE"), submit_at=SUBMITTED_AT, namespace="default"
    )
    assert workload.cpus == pytest.approx(want_cpus)
    assert request.expected_duration_given
    assert request.latest_start > SUBMITTED_AT
    assert request.deadline - SUBMITTED_AT <= timedelta(hours=24)


def test_flink_example_pauses_through_savepoints() -> None:
    obj = load_example("flink-job.yaml")
    assert obj["spec"]["job"]["upgradeMode"] == "savepoint"
    assert obj["spec"]["job"]["state"] == "running"
    assert obj["metadata"]["annotations"]["carbon-kube.io/interruptible"] == "true"
    assert obj["spec"]["flinkConfiguration"]["state.savepoints.dir"].startswith("s3://")


def test_spark_example_uses_v1beta2_and_is_not_created_suspended_by_hand() -> None:
    obj = load_example("spark-job.yaml")
    assert obj["apiVersion"] == "sparkoperator.k8s.io/v1beta2"
    # Holding is the webhook's job; a user-set suspend would never be released by the plan.
    assert "suspend" not in obj["spec"]
