"""Credentials handed to kopf (carbon_kube.kube.connection)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from kubernetes.config import incluster_config

from carbon_kube.kube.connection import bearer_token, read_connection

TOKEN = "lab-token-for-the-test"  # noqa: S105 - not a secret


@pytest.mark.parametrize(
    "authorization",
    ["Bearer abc.def", "bearer abc.def", "BEARER  abc.def ", "abc.def"],
    ids=["kubeconfig", "in-cluster", "any-case", "bare"],
)
def test_the_token_loses_its_scheme_whatever_its_case(authorization: str) -> None:
    """In-cluster the kubernetes client stores "bearer <token>": kopf got "Bearer bearer"."""
    assert bearer_token(authorization) == "abc.def"


def test_no_authorization_is_no_token() -> None:
    assert bearer_token("") is None
    assert bearer_token("Bearer ") is None


def test_a_kubeconfig_token_reaches_the_connection_bare(tmp_path: Path) -> None:
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [{"name": "c", "cluster": {"server": "https://127.0.0.1:1"}}],
                "users": [{"name": "u", "user": {"token": TOKEN}}],
                "contexts": [{"name": "x", "context": {"cluster": "c", "user": "u"}}],
                "current-context": "x",
            }
        )
    )

    assert read_connection(kubeconfig).token == TOKEN


def test_the_in_cluster_token_reaches_kopf_bare(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The path the bug was on: the kubernetes client's own in-cluster loader, fed files."""
    token, ca = tmp_path / "token", tmp_path / "ca.crt"
    token.write_text(TOKEN)
    ca.write_text("-----BEGIN CERTIFICATE-----\n")
    monkeypatch.setattr(incluster_config, "SERVICE_TOKEN_FILENAME", str(token))
    monkeypatch.setattr(incluster_config, "SERVICE_CERT_FILENAME", str(ca))
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "10.0.0.1")
    monkeypatch.setenv("KUBERNETES_SERVICE_PORT", "443")

    connection = read_connection(None)

    assert connection.token == TOKEN
    assert connection.server == "https://10.0.0.1:443"
