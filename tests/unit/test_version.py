"""The version is written once (pyproject.toml); every other place must equal it."""

from __future__ import annotations

import tomllib

import yaml

import carbon_kube
from tests.paths import REPO_ROOT

ROOT = REPO_ROOT


def _pyproject_version() -> str:
    with (ROOT / "pyproject.toml").open("rb") as handle:
        return str(tomllib.load(handle)["project"]["version"])


def test_package_version_is_the_pyproject_version() -> None:
    assert carbon_kube.__version__ == _pyproject_version()


def test_helm_chart_version_and_app_version_equal_the_package_version() -> None:
    # Helm requires `version` in Chart.yaml and the image tag defaults to `appVersion`,
    # so both stay written there; this test is what keeps them from drifting.
    chart = yaml.safe_load((ROOT / "charts" / "carbon-kube" / "Chart.yaml").read_text())

    assert str(chart["version"]) == _pyproject_version()
    assert str(chart["appVersion"]) == _pyproject_version()
