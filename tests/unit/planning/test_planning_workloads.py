from __future__ import annotations

import pytest

from carbon_kube.domain.annotations import (
    ALLOWED_ZONES,
    DEADLINE,
    EXPECTED_DURATION,
    INTERRUPTIBLE,
    MAX_DELAY,
)
from carbon_kube.domain.errors import InputError
from carbon_kube.domain.workloads import WorkloadKind
from carbon_kube.domain.zones import Zone
from carbon_kube.kinds.registry import kind_of
from carbon_kube.planning.workloads import (
    object_size,
    parse_cpu,
    parse_memory_gib,
    workload_from_object,
)
from tests.builders import HOUR, T0


def container(cpu: str, memory: str) -> dict[str, object]:
    return {"name": "c", "resources": {"requests": {"cpu": cpu, "memory": memory}}}


@pytest.mark.parametrize(
    ("text", "want_cpus"), [("500m", 0.5), ("2", 2.0), (3, 3.0), ("1.5", 1.5), ("x", None)]
)
def test_cpu_quantities_parse_to_vcpus(text: object, want_cpus: float | None) -> None:
    assert parse_cpu(text) == want_cpus


@pytest.mark.parametrize(
    ("text", "want_gib"),
    [("512Mi", 0.5), ("2Gi", 2.0), ("4g", 4.0), ("2048m", 2.0), ("1G", 1e9 / 2**30), ("1Q", None)],
)
def test_memory_quantities_parse_kubernetes_and_jvm_units(
    text: str, want_gib: float | None
) -> None:
    got = parse_memory_gib(text)
    assert got == (pytest.approx(want_gib) if want_gib is not None else None)


def test_only_the_four_held_kinds_are_supported() -> None:
    assert kind_of("batch", "v1", "Job") is WorkloadKind.JOB
    assert kind_of("apps", "v1", "Deployment") is None
    assert kind_of("flink.apache.org", "v1beta1", "FlinkDeployment") is WorkloadKind.FLINK


def test_a_job_is_as_big_as_its_template_times_parallelism() -> None:
    job = {
        "spec": {
            "parallelism": 3,
            "template": {"spec": {"containers": [container("500m", "1Gi"), container("1", "1Gi")]}},
        }
    }
    assert object_size(WorkloadKind.JOB, job) == (pytest.approx(4.5), pytest.approx(6.0))


def test_a_spark_application_counts_driver_and_executors() -> None:
    app = {
        "spec": {
            "driver": {"cores": 1, "memory": "512m"},
            "executor": {"cores": 2, "instances": 4, "memory": "4g"},
        }
    }
    assert object_size(WorkloadKind.SPARK, app) == (pytest.approx(9.0), pytest.approx(16.5))


def test_a_flink_deployment_counts_job_and_task_managers() -> None:
    flink = {
        "spec": {
            "jobManager": {"resource": {"cpu": 1, "memory": "2048m"}},
            "taskManager": {"replicas": 2, "resource": {"cpu": 2, "memory": "4096m"}},
        }
    }
    assert object_size(WorkloadKind.FLINK, flink) == (pytest.approx(5.0), pytest.approx(10.0))


def test_a_pod_without_requests_is_sized_by_the_defaults() -> None:
    assert object_size(WorkloadKind.POD, {"spec": {"containers": [{"name": "c"}]}}) == (1.0, 1.0)


def test_max_delay_counts_from_admission_and_keeps_allowed_zones() -> None:
    pod = {
        "metadata": {
            "name": "p",
            "namespace": "batch",
            "annotations": {MAX_DELAY: "6h", EXPECTED_DURATION: "2h", ALLOWED_ZONES: "FR,PL"},
        },
        "spec": {"containers": [container("2", "4Gi")]},
    }
    workload, request = workload_from_object(
        WorkloadKind.POD, pod, home_zone=Zone("DE"), submit_at=T0
    )
    assert workload.workload_id == "batch/p"
    assert workload.deadline == T0 + 8 * HOUR
    assert workload.latest_start == T0 + 6 * HOUR
    assert workload.allowed_zones == ("FR", "PL")
    assert request.expected_duration_given


def test_a_deadline_already_past_is_kept_as_admission_time() -> None:
    pod = {"metadata": {"generateName": "j-", "annotations": {DEADLINE: "2021-01-01T00:00:00Z"}}}
    workload, _ = workload_from_object(
        WorkloadKind.POD, pod, home_zone=Zone("DE"), submit_at=T0, namespace="ns"
    )
    assert workload.deadline == T0
    assert workload.workload_id == "ns/j-*"


def test_an_invalid_annotation_is_an_input_error_naming_it() -> None:
    pod = {"metadata": {"name": "p", "annotations": {DEADLINE: "tomorrow"}}}
    with pytest.raises(InputError) as caught:
        workload_from_object(WorkloadKind.POD, pod, home_zone=Zone("DE"), submit_at=T0)
    assert caught.value.field == DEADLINE
    assert "RFC 3339" in caught.value.render()


@pytest.mark.parametrize(
    ("kind", "planned_in_segments"),
    [
        (WorkloadKind.POD, False),
        (WorkloadKind.JOB, True),
        (WorkloadKind.SPARK, True),
        (WorkloadKind.FLINK, True),
    ],
)
def test_only_a_kind_the_controller_can_pause_is_planned_as_interruptible(
    kind: WorkloadKind, planned_in_segments: bool
) -> None:
    obj = {
        "metadata": {
            "name": "w",
            "annotations": {MAX_DELAY: "6h", EXPECTED_DURATION: "2h", INTERRUPTIBLE: "true"},
        },
        "spec": {},
    }
    workload, request = workload_from_object(kind, obj, home_zone=Zone("DE"), submit_at=T0)
    assert request.interruptible
    assert workload.interruptible is planned_in_segments
