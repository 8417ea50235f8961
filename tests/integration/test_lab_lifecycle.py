"""`carbon-kube lab up|status|env|down` end to end on a tiny second lab.

Separate from the session lab on purpose: it checks that ``down`` stops exactly the PIDs
``up`` started and leaves no directory behind, which the session fixture cannot check on
itself while tests still use it.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import jsonschema
import pytest
from typer.testing import CliRunner

from carbon_kube.cli.app import app
from carbon_kube.cli.lab import default_bin_dir
from carbon_kube.cli.schemas import OUTPUT_SCHEMAS
from carbon_kube.lab.processes import is_our_process
from carbon_kube.lab.state import read_state
from tests.integration.conftest import LAB_BINARIES

pytestmark = pytest.mark.lab


@pytest.fixture
def state_dir(tmp_path: Path) -> Path:
    missing = [name for name in LAB_BINARIES if not (default_bin_dir() / name).is_file()]
    if missing:
        pytest.skip(f"lab binaries {missing} missing: run hack/lab/build.sh")
    return tmp_path / "lab"


def test_down_stops_exactly_the_started_processes_and_removes_the_state_dir(
    state_dir: Path,
) -> None:
    runner = CliRunner()
    args = ["--state-dir", str(state_dir)]

    up = runner.invoke(
        app,
        [
            "lab",
            "up",
            *args,
            "--zones",
            "2",
            "--nodes-per-zone",
            "1",
            "--speedup",
            "60",
            "--ready-timeout-s",
            "300",
        ],
    )
    assert up.exit_code == 0, up.output
    state = read_state(state_dir)
    assert state is not None
    try:
        assert sorted(p.name for p in state.processes) == sorted(LAB_BINARIES)
        assert all(is_our_process(p) for p in state.processes)
        status = runner.invoke(app, ["lab", "status", *args])
        assert status.exit_code == 0, status.output
        assert "nodes Ready: 2/2" in status.output
        as_json = runner.invoke(app, ["lab", "status", *args, "-o", "json"])
        assert as_json.exit_code == 0, as_json.output
        document = json.loads(as_json.output)
        jsonschema.validate(document, OUTPUT_SCHEMAS["lab status"])
        assert (document["nodes_ready"], document["healthy"]) == (2, True)
        env = runner.invoke(app, ["lab", "env", *args])
        assert f"export KUBECONFIG={state.kubeconfig}" in env.output
        # What a person does next: the exports, then kubectl (built with the control plane).
        assert (default_bin_dir() / "kubectl").is_file(), "hack/lab/build.sh kubectl"
        kubectl = subprocess.run(  # noqa: S603 - bash running the exports we just printed
            ["bash", "-c", f"{env.output}\ncommand -v kubectl\nkubectl get nodes -o name"],  # noqa: S607
            capture_output=True,
            text=True,
            check=False,
            env=dict(os.environ),  # the exports must override whatever KUBECONFIG is set
            timeout=60,
        )
        assert kubectl.returncode == 0, kubectl.stderr
        found, *nodes = kubectl.stdout.split()
        assert found == str(default_bin_dir() / "kubectl")  # the lab's, not one already on PATH
        assert len(nodes) == 2

        again = runner.invoke(app, ["lab", "up", *args])
        assert again.exit_code != 0
        assert "already running" in str(again.exception) + again.output
    finally:
        down = runner.invoke(app, ["lab", "down", *args])

    assert down.exit_code == 0, down.output
    assert not any(is_our_process(p) for p in state.processes)
    assert not state_dir.exists()
