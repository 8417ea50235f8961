"""The real node's configuration and its pause image (carbon_kube.lab.real_node, pause_image)."""

from __future__ import annotations

import hashlib
import ipaddress
import json
import tarfile
import tomllib
from pathlib import Path
from typing import Any

from carbon_kube.lab.pause_image import PAUSE_IMAGE, write_pause_image
from carbon_kube.lab.real_node import (
    KERNEL_TUNABLES,
    POD_SUBNET,
    REAL_NODE_TAINT,
    NodeLayout,
    cni_conflist,
    containerd_config,
    kubelet_config,
    supervisor_config,
)

LAYOUT = NodeLayout(root=Path("/lab/real-node"), kubelet_port=65535, healthz_port=40001)


def _supervisor(images: list[Path]) -> dict[str, Any]:
    text = supervisor_config(
        LAYOUT,
        kubelet=Path("/bin/kubelet"),
        kubeconfig=Path("/lab/kc"),
        images=images,
        apiserver_port=6443,
    )
    return dict(json.loads(text))


def test_the_pause_image_is_the_same_archive_for_the_same_binary(tmp_path: Path) -> None:
    binary = tmp_path / "pause"
    binary.write_bytes(b"\x7fELF pretend")
    first, second = tmp_path / "a.tar", tmp_path / "b.tar"

    write_pause_image(binary, first)
    write_pause_image(binary, second)

    assert first.read_bytes() == second.read_bytes()


def test_the_pause_image_names_itself_and_runs_the_binary_unprivileged(tmp_path: Path) -> None:
    binary = tmp_path / "pause"
    binary.write_bytes(b"\x7fELF pretend")
    archive = tmp_path / "pause.oci.tar"
    write_pause_image(binary, archive)

    with tarfile.open(archive) as tar:
        files = {m.name: tar.extractfile(m).read() for m in tar.getmembers() if m.isfile()}  # type: ignore[union-attr]
    index = json.loads(files["index.json"])
    entry = index["manifests"][0]
    assert entry["annotations"]["io.containerd.image.name"] == PAUSE_IMAGE
    manifest = json.loads(files["blobs/sha256/" + entry["digest"].removeprefix("sha256:")])
    for blob in (manifest["config"], *manifest["layers"]):
        data = files["blobs/sha256/" + blob["digest"].removeprefix("sha256:")]
        assert "sha256:" + hashlib.sha256(data).hexdigest() == blob["digest"]
        assert len(data) == blob["size"]
    config = json.loads(files["blobs/sha256/" + manifest["config"]["digest"][7:]])
    assert config["config"]["Entrypoint"] == ["/pause"]
    assert config["config"]["User"] != "0"


def test_the_kubelet_listens_on_loopback_registers_tainted_and_leaves_the_firewall_alone() -> None:
    config = kubelet_config(LAYOUT, Path("/lab/pki/ca.crt"))

    assert config["address"] == "127.0.0.1"
    assert config["healthzBindAddress"] == "127.0.0.1"
    assert config["readOnlyPort"] == 0
    # Only the lab CA's client certificates: no anonymous local user reaches the pods.
    assert config["authentication"]["anonymous"]["enabled"] is False
    assert config["authentication"]["x509"]["clientCAFile"] == "/lab/pki/ca.crt"
    assert config["registerWithTaints"] == [REAL_NODE_TAINT]
    assert config["makeIPTablesUtilChains"] is False
    assert config["cgroupDriver"] == "cgroupfs"
    assert config["containerRuntimeEndpoint"] == f"unix://{LAYOUT.containerd_socket}"
    # The lab's own cgroup root: down kills and removes exactly the pods under it.
    assert config["cgroupRoot"] == f"/{LAYOUT.cgroup_root}"


def test_paths_the_node_hard_codes_are_private_to_its_namespace() -> None:
    config = _supervisor(images=[])

    # runc's state, shim sockets, the pods' netns files; device plugins; CNI's result cache.
    assert {"/run", "/var/lib/kubelet", "/var/lib/cni", "/var/log/containers"} <= set(
        config["private_dirs"]
    )
    assert config["cgroup_root"] == LAYOUT.cgroup_root
    assert f"--cert-dir={LAYOUT.root / 'kubelet' / 'pki'}" in config["kubelet"]


def test_the_pod_subnet_is_not_podmans_default() -> None:
    assert not ipaddress.ip_network(POD_SUBNET).overlaps(ipaddress.ip_network("10.88.0.0/16"))


def test_containerd_keeps_every_file_under_the_lab_and_never_lowers_oom_scores() -> None:
    config = tomllib.loads(containerd_config(LAYOUT, PAUSE_IMAGE))

    cri = config["plugins"]["io.containerd.grpc.v1.cri"]
    assert cri["sandbox_image"] == PAUSE_IMAGE
    assert cri["restrict_oom_score_adj"] is True
    for path in (
        config["root"],
        config["state"],
        config["grpc"]["address"],
        cri["cni"]["conf_dir"],
    ):
        assert Path(path).is_relative_to(LAYOUT.root)


def test_the_pod_bridge_is_named_per_lab_within_the_interface_name_limit() -> None:
    bridge = cni_conflist(LAYOUT)["plugins"][0]

    assert bridge["bridge"] == LAYOUT.bridge
    assert len(LAYOUT.bridge) <= 15
    assert bridge["ipMasq"] is False  # masquerading would add host iptables rules
    assert Path(bridge["ipam"]["dataDir"]).is_relative_to(LAYOUT.root)


def test_the_supervisor_binds_every_tunable_and_imports_the_pause_image_first() -> None:
    config = _supervisor(images=[Path("/x.tar")])

    assert config["images"] == [str(LAYOUT.pause_archive), "/x.tar"]
    assert config["tunables"] == KERNEL_TUNABLES
    assert "kernel/panic" in config["tunables"]
    assert config["kubelet"][0] == "/bin/kubelet"
    assert "--kubeconfig=/lab/kc" in config["kubelet"]
    # Pods dial the "kubernetes" Service (10.0.0.1:443); the relay takes it to the apiserver.
    assert config["api_relay"] == {"listen": ["10.0.0.1", 443], "target": ["127.0.0.1", 6443]}
    assert "10.0.0.1/32" in config["bridge_addresses"]
