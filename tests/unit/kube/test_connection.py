"""Credentials handed to kopf (carbon_kube.kube.connection)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

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
