"""Unit-test fixtures shared by the report, notebook and chart tests."""

from __future__ import annotations

from pathlib import Path

import pytest
import pytest_socket
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


@pytest.fixture(autouse=True)
def _no_network(request: pytest.FixtureRequest) -> None:
    """Unit tests reach no socket but a Unix one: HTTP goes through ``httpx.MockTransport``.

    A test that needs a real server on loopback belongs in tests/integration; the guard turns
    an accidental network call (a provider URL left at its default, a Kubernetes client that
    reads the user's kubeconfig) into an immediate ``SocketBlockedError`` instead of a hang.
    Tests that start an external tool in a subprocess (Chromium, cdk, a kernel) are unaffected:
    the guard lives in this process only.
    """
    if request.node.get_closest_marker("loopback"):
        # A real local server (Prometheus from Debian's package): loopback only.
        pytest_socket.socket_allow_hosts(["127.0.0.1", "::1"], allow_unix_socket=True)
    else:
        pytest_socket.disable_socket(allow_unix_socket=True)
    # pytest-socket's own teardown hook lifts both restrictions after each test.
