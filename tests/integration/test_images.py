"""The images are built from registry packages, reproducibly, and run as the chart runs them."""

from __future__ import annotations

import json

import pytest

from tests.integration.images import (
    CARBON_KUBE,
    SCHEDULER,
    VERSION,
    Image,
    archive_files,
    build,
    require_podman,
)

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def check_log() -> str:
    """Build both images, then again from an empty cache: ``build.sh --check``'s log."""
    require_podman()
    result = build("--check")
    assert result.returncode == 0, result.stderr[-4000:]
    return result.stderr


def test_two_builds_from_one_commit_give_the_same_layer_digests(check_log: str) -> None:
    assert "carbon-kube: reproducible" in check_log
    assert "kube-scheduler-carbon: reproducible" in check_log


@pytest.mark.parametrize("image", [CARBON_KUBE, SCHEDULER], ids=lambda image: image.name)
def test_each_image_is_an_oci_archive_with_labels_naming_its_version_and_source(
    check_log: str, image: Image
) -> None:
    labels = image.inspect()["Labels"]

    assert image.archive.is_file()
    assert labels["org.opencontainers.image.version"] == VERSION
    assert labels["org.opencontainers.image.licenses"] == "Apache-2.0"
    assert len(labels["org.opencontainers.image.revision"].split("-")[0]) == 40
    assert labels["org.opencontainers.image.source"].startswith("https://")


@pytest.mark.parametrize("image", [CARBON_KUBE, SCHEDULER], ids=lambda image: image.name)
def test_each_image_runs_as_a_non_root_user(check_log: str, image: Image) -> None:
    assert image.inspect()["Config"]["User"] == "65532:65532"


def test_the_image_user_has_a_name_as_libraries_expect(check_log: str) -> None:
    """kopf names its peer by getpass.getuser(), which raises for a uid /etc/passwd lacks: the
    in-cluster controller crashed as soon as it led, seen on the lab's real node."""
    result = CARBON_KUBE.run(
        "-c", "import getpass; print(getpass.getuser())", entrypoint="/usr/bin/python3"
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "nonroot"


def test_carbon_kube_plans_offline_on_a_read_only_root(check_log: str) -> None:
    result = CARBON_KUBE.run(
        "plan", "--zone", "DE", "--expected-duration", "2h", "--max-delay", "12h", "-o", "json"
    )

    assert result.returncode == 0, result.stderr
    plan = json.loads(result.stdout)
    assert (plan["zone"], plan["source"], plan["stale"]) == ("DE", "embedded", False)


@pytest.mark.parametrize(
    "command", [["controller", "run"], ["webhook", "serve"], ["extender", "serve"]], ids=" ".join
)
def test_every_component_command_starts_in_the_image(check_log: str, command: list[str]) -> None:
    result = CARBON_KUBE.run(*command, "--help")

    assert result.returncode == 0, result.stderr
    assert "Usage" in result.stdout


def test_the_learned_model_and_the_kubernetes_clients_import_in_the_image(check_log: str) -> None:
    # Every compiled wheel: each must find its shared libraries in the Debian base.
    modules = "numpy, pandas, pyarrow, scipy.sparse, lightgbm, orjson, pydantic_core, aiohttp, yaml"
    ours = "kopf, kubernetes, carbon_kube.operator.handlers"
    code = f"import {modules}, {ours}; print(lightgbm.__version__)"
    result = CARBON_KUBE.run("-c", code, entrypoint="/usr/bin/python3")

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "4.7.0"


def test_the_carbon_kube_sbom_lists_its_python_and_debian_packages(check_log: str) -> None:
    inside = CARBON_KUBE.run(
        "-c",
        "print(open('/usr/share/doc/carbon-kube/sbom.cdx.json').read(), end='')",
        entrypoint="/usr/bin/python3",
    )
    sbom = json.loads(CARBON_KUBE.sbom.read_text(encoding="utf-8"))
    purls = {component["purl"] for component in sbom["components"]}

    assert inside.stdout == CARBON_KUBE.sbom.read_text(encoding="utf-8")
    assert sbom["bomFormat"] == "CycloneDX"
    assert f"pkg:pypi/carbon-kube@{VERSION}" in purls
    assert "pkg:pypi/lightgbm@4.7.0" in purls
    assert any(purl.startswith("pkg:deb/debian/python3.11@") for purl in purls)


def test_the_scheduler_image_is_one_static_binary_and_its_sbom(check_log: str) -> None:
    files = archive_files(SCHEDULER.archive)
    version = SCHEDULER.run("--version")
    sbom = json.loads(SCHEDULER.sbom.read_text(encoding="utf-8"))
    purls = {component["purl"] for component in sbom["components"]}

    assert sorted(files) == [
        "usr/local/bin/kube-scheduler-carbon",
        "usr/share/doc/kube-scheduler-carbon/sbom.cdx.json",
    ]
    assert version.stdout.strip() == "Kubernetes v1.36.3"
    assert "pkg:golang/k8s.io/kubernetes@v1.36.3" in purls
