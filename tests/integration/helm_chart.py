"""Running the real ``helm`` (from the lab cache) on the project's chart, for tests."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from carbon_kube.cli.lab import default_bin_dir

CHART = Path(__file__).resolve().parents[2] / "charts" / "carbon-kube"
HELM = default_bin_dir() / "helm"

needs_helm = pytest.mark.skipif(not HELM.is_file(), reason=f"{HELM} missing: hack/lab/build.sh")


def run_helm(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - our helm binary, fixed arguments
        [str(HELM), *args],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, **(env or {})},
        timeout=300,
    )


def render_chart(*sets: str, namespace: str = "carbon-kube") -> list[dict[str, Any]]:
    """``helm template`` with ``--set`` values; the rendered objects."""
    args = ["template", "ck", str(CHART), "--namespace", namespace]
    for value in sets:
        args += ["--set", value]
    result = run_helm(*args)
    assert result.returncode == 0, result.stderr
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


def of_kind(docs: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [doc for doc in docs if doc["kind"] == kind]
