"""examples/*.yaml are accepted by a real apiserver with the Spark and Flink CRDs installed.

The lab's CRDs are minimal structural copies (carbon_kube/lab/crds): they type the fields
Carbon-Kube touches (SparkApplication spec.suspend, FlinkDeployment spec.job.state and
upgradeMode), so a wrong value there is rejected; the rest of each spec is preserved as written.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from carbon_kube.domain.annotations import FLEXIBLE_LABEL
from carbon_kube.kube.client import JOBS, KubeApiError, KubeClient, ResourcePath
from tests.examples import EXAMPLE_FILES, load_example
from tests.integration.conftest import LAB_TIMEOUT
from tests.integration.crd_install import install_crds, remove_crds

pytestmark = pytest.mark.lab

SPARK = ResourcePath("apis/sparkoperator.k8s.io/v1beta2", "sparkapplications")
FLINK = ResourcePath("apis/flink.apache.org/v1beta1", "flinkdeployments")
RESOURCES = {"Job": JOBS, "SparkApplication": SPARK, "FlinkDeployment": FLINK}


@pytest.fixture(scope="module")
def spark_and_flink_crds(kube: KubeClient) -> Iterator[None]:
    names = install_crds(kube, LAB_TIMEOUT)
    yield
    remove_crds(kube, names)


@pytest.mark.parametrize("name", EXAMPLE_FILES)
def test_example_is_accepted_and_stored_as_written(
    kube: KubeClient, namespace: str, spark_and_flink_crds: None, name: str
) -> None:
    example = load_example(name)
    resource = RESOURCES[example["kind"]]
    kube.create(resource, example, namespace=namespace)
    stored = kube.get(resource, example["metadata"]["name"], namespace=namespace)
    assert stored["metadata"]["labels"][FLEXIBLE_LABEL] == "true"
    for key, value in example["metadata"]["annotations"].items():
        assert stored["metadata"]["annotations"][key] == value
    _assert_contains(stored["spec"], example["spec"])


def test_a_flink_deployment_with_an_unknown_upgrade_mode_is_rejected(
    kube: KubeClient, namespace: str, spark_and_flink_crds: None
) -> None:
    """The CRD types the field the savepoint pause depends on, so the test above can fail."""
    example = load_example("flink-job.yaml")
    example["spec"]["job"]["upgradeMode"] = "savepoints"
    with pytest.raises(KubeApiError) as error:
        kube.create(FLINK, example, namespace=namespace)
    assert error.value.status == 422


def _assert_contains(stored: Any, written: Any, path: str = "spec") -> None:
    """Every field written is stored unchanged (the apiserver may add defaults beside them)."""
    if isinstance(written, dict):
        assert isinstance(stored, dict), path
        for key, value in written.items():
            assert key in stored, f"{path}.{key} was dropped"
            _assert_contains(stored[key], value, f"{path}.{key}")
    elif isinstance(written, list):
        assert isinstance(stored, list), path
        assert len(stored) == len(written), path
        for index, (s, w) in enumerate(zip(stored, written, strict=True)):
            _assert_contains(s, w, f"{path}[{index}]")
    else:
        # Quantities may come back as strings ("2" for 2); the value must not change.
        assert str(stored) == str(written), f"{path}: {stored!r} != {written!r}"
