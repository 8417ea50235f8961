"""Unit-test fixtures shared by the report, notebook and chart tests."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from carbon_kube.cli.app import app

DEFAULT_JOBS = 500


@pytest.fixture(scope="session")
def default_simulation(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``carbon-kube simulate --default-jobs 500 --out DIR`` run once: the embedded default."""
    out = tmp_path_factory.mktemp("default-simulation") / "out"
    result = CliRunner().invoke(
        app, ["simulate", "--default-jobs", str(DEFAULT_JOBS), "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    return out
