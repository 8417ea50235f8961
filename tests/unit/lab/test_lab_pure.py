"""Unit tests of the lab's pure parts: clock, PKI, node objects, scheduler configuration."""

from __future__ import annotations

import ipaddress
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml
from cryptography import x509

from carbon_kube.lab.clock import KWOK_COMPLETE_DELAY_ANNOTATION, VirtualClock
from carbon_kube.lab.components import _kwok_stages_yaml, build_scheduler_config
from carbon_kube.lab.nodes import KWOK_NODE_ANNOTATION, make_fake_nodes
from carbon_kube.lab.pki import write_kubeconfig, write_pki
from carbon_kube.lab.settings import ExtenderConfig, LabSettings, default_node_pools

T0 = datetime(2026, 5, 1, tzinfo=UTC)


class _SteppedRealClock:
    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at


def test_virtual_clock_runs_speedup_times_faster_from_its_epoch() -> None:
    real = _SteppedRealClock(T0)
    clock = VirtualClock(
        60.0, virtual_epoch=datetime(2022, 1, 1, tzinfo=UTC), real_epoch=T0, real_now=real
    )

    real.at = T0 + timedelta(minutes=1)

    assert clock.now() == datetime(2022, 1, 1, 1, tzinfo=UTC)
    assert clock.to_real(clock.now()) == real.at
    assert clock.real_duration(timedelta(hours=24)) == timedelta(minutes=24)


def test_kwok_delay_annotation_is_the_real_duration_and_never_zero() -> None:
    clock = VirtualClock(3600.0, virtual_epoch=T0, real_epoch=T0)

    assert clock.kwok_duration_annotations(timedelta(hours=2)) == {
        KWOK_COMPLETE_DELAY_ANNOTATION: "2000ms"
    }
    assert clock.kwok_duration_annotations(timedelta(0))[KWOK_COMPLETE_DELAY_ANNOTATION] == "1ms"


@pytest.mark.parametrize("speedup", [0.0, -1.0])
def test_virtual_clock_rejects_a_non_positive_speedup(speedup: float) -> None:
    with pytest.raises(ValueError, match="speedup must be > 0"):
        VirtualClock(speedup, virtual_epoch=T0, real_epoch=T0)


def test_serving_certificate_covers_loopback_and_in_cluster_names(tmp_path: Path) -> None:
    pki = write_pki(tmp_path, T0)

    cert = x509.load_pem_x509_certificate(pki.serving_cert.read_bytes())
    sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert ipaddress.ip_address("127.0.0.1") in sans.get_values_for_type(x509.IPAddress)
    assert "kubernetes.default.svc" in sans.get_values_for_type(x509.DNSName)
    assert cert.not_valid_before_utc < T0 < cert.not_valid_after_utc
    assert pki.token_file.read_text().endswith('"system:masters"\n')
    assert oct(pki.serving_key.stat().st_mode & 0o777) == "0o600"


def test_kubeconfig_uses_the_admin_token_and_absolute_ca_path(tmp_path: Path) -> None:
    pki = write_pki(tmp_path, T0)

    config = yaml.safe_load(
        write_kubeconfig(tmp_path / "kc", server_url="https://127.0.0.1:1", pki=pki).read_text()
    )

    assert config["users"][0]["user"]["token"] == pki.admin_token
    assert Path(config["clusters"][0]["cluster"]["certificate-authority"]).is_absolute()


def test_default_pools_spread_nodes_over_zones_in_several_regions() -> None:
    nodes = list(make_fake_nodes(default_node_pools(zones=3, nodes_per_zone=10)))

    labels = [n["metadata"]["labels"] for n in nodes]
    assert len(nodes) == 30
    assert len({lab["topology.kubernetes.io/zone"] for lab in labels}) == 3
    assert len({lab["topology.kubernetes.io/region"] for lab in labels}) >= 2
    assert len({n["metadata"]["name"] for n in nodes}) == 30
    assert all(n["metadata"]["annotations"][KWOK_NODE_ANNOTATION[0]] == "fake" for n in nodes)


def test_scheduler_config_carries_kubeconfig_and_extenders(tmp_path: Path) -> None:
    settings = LabSettings(
        bin_dir=tmp_path,
        state_dir=tmp_path,
        extenders=(ExtenderConfig(url_prefix="http://127.0.0.1:9", weight=100),),
    )

    config = build_scheduler_config(settings, tmp_path / "kubeconfig")

    assert config["clientConnection"]["kubeconfig"] == str(tmp_path / "kubeconfig")
    assert config["leaderElection"] == {"leaderElect": False}
    assert config["extenders"] == [
        {
            "urlPrefix": "http://127.0.0.1:9",
            "weight": 100,
            "nodeCacheCapable": True,
            "ignorable": True,
            "enableHTTPS": False,
            "httpTimeout": "5000ms",
            "prioritizeVerb": "prioritize",
        }
    ]


def test_extender_filter_verb_is_only_configured_when_asked_for() -> None:
    default = ExtenderConfig(url_prefix="http://127.0.0.1:9").to_kube()
    filtering = ExtenderConfig(url_prefix="http://127.0.0.1:9", filter_verb="filter").to_kube()

    assert "filterVerb" not in default
    assert default["prioritizeVerb"] == "prioritize"
    assert filtering["filterVerb"] == "filter"


def test_shipped_kwok_stages_cover_nodes_and_the_job_pod_lifecycle() -> None:
    stages = [doc for doc in yaml.safe_load_all(_kwok_stages_yaml()) if doc]

    names = {stage["metadata"]["name"] for stage in stages}
    assert {"node-initialize", "pod-create", "pod-ready", "pod-complete", "pod-delete"} <= names
    assert all(stage["kind"] == "Stage" for stage in stages)


def test_lab_bin_dir_comes_from_the_environment_only_at_the_cli_edge(tmp_path: Path) -> None:
    from carbon_kube.cli.lab import default_bin_dir
    from carbon_kube.lab.settings import K8S_VERSION

    explicit = default_bin_dir({"CARBON_KUBE_LAB_BIN": str(tmp_path)})
    cached = default_bin_dir({"XDG_CACHE_HOME": str(tmp_path)})

    assert explicit == tmp_path
    assert cached == tmp_path / "carbon-kube" / "lab" / K8S_VERSION / "bin"
