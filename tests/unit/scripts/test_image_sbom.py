"""The image SBOM lists what is installed, in a byte-identical document for the same inputs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.scripts import load_script

image_sbom = load_script("image_sbom")


def installed(folder: Path, name: str, version: str, *headers: str) -> None:
    info = folder / f"{name.replace('-', '_')}-{version}.dist-info"
    info.mkdir(parents=True)
    metadata = ["Metadata-Version: 2.4", f"Name: {name}", f"Version: {version}", *headers]
    (info / "METADATA").write_text("\n".join(metadata) + "\n", encoding="utf-8")


def write_sbom(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, out: str) -> dict:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1764806400")
    code = image_sbom.main(
        [
            "--name", "carbon-kube", "--version", "0.1.0", "--revision", "abc",
            "--python", str(tmp_path / "deps"), "--debian", str(tmp_path / "packages.tsv"),
            "--out", str(tmp_path / out),
        ]
    )  # fmt: skip
    assert code == 0
    return dict(json.loads((tmp_path / out).read_text(encoding="utf-8")))


@pytest.fixture
def image(tmp_path: Path) -> Path:
    deps = tmp_path / "deps"
    installed(deps, "lightgbm", "4.7.0", "License-Expression: MIT")
    installed(deps, "Typing_Extensions", "4.16.0", "Classifier: License :: OSI Approved :: PSF")
    (tmp_path / "packages.tsv").write_text(
        "python3.11\t3.11.2-6+deb12u6\tamd64\nlibgomp1\t12.2.0-14\tamd64\n", encoding="utf-8"
    )
    return tmp_path


def test_the_sbom_lists_each_wheel_and_debian_package_with_its_purl_and_licence(
    image: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sbom = write_sbom(image, monkeypatch, "sbom.json")
    by_purl = {c["purl"]: c for c in sbom["components"]}

    assert sbom["specVersion"] == "1.6"
    assert sbom["metadata"]["timestamp"].startswith("2025-12-04T00:00:00")
    assert by_purl["pkg:pypi/lightgbm@4.7.0"]["licenses"] == [{"license": {"id": "MIT"}}]
    assert "pkg:pypi/typing-extensions@4.16.0" in by_purl
    assert "pkg:deb/debian/python3.11@3.11.2-6%2Bdeb12u6?arch=amd64&distro=debian-12" in by_purl
    assert len(by_purl) == 4


def test_the_same_inputs_give_a_byte_identical_sbom(
    image: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_sbom(image, monkeypatch, "first.json")
    write_sbom(image, monkeypatch, "second.json")

    assert (image / "first.json").read_bytes() == (image / "second.json").read_bytes()


def test_a_malformed_package_list_names_its_file_and_line(
    image: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (image / "packages.tsv").write_text("bash\t5.2\tamd64\nbroken line\n", encoding="utf-8")

    with pytest.raises(SystemExit, match=r"packages.tsv:2: expected name, version and arch"):
        write_sbom(image, monkeypatch, "sbom.json")


GO_VERSION_M = """/cache/kube-scheduler-carbon: go1.26.8
\tpath\tcarbon-kube.dev/scheduler-plugin
\tmod\tcarbon-kube.dev/scheduler-plugin\t(devel)\t
\tdep\tk8s.io/api\tv0.0.0\t
\t=>\tk8s.io/api\tv0.36.3\th1:abc=
\tdep\tk8s.io/kubernetes\tv1.36.3\th1:def=
\tdep\texample.org/local\tv1.0.0\t
\t=>\t../local\t\t
\tbuild\t-trimpath=true
"""


def test_go_modules_are_listed_as_linked_with_replacements_applied() -> None:
    modules = image_sbom.go_modules(GO_VERSION_M, "0.1.0")

    assert modules == {
        "carbon-kube.dev/scheduler-plugin": "0.1.0",
        "k8s.io/api": "v0.36.3",
        "k8s.io/kubernetes": "v1.36.3",
        "stdlib": "go1.26.8",
    }
