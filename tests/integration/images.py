"""Podman and the images ``hack/image/build.sh`` makes, for tests.

Podman reads the project's containers.conf (runc, cgroupfs, file events, ulimits this host
allows; /etc is left alone). Every run is ``--network=none --read-only``: the default bridge
would leave a bridge and iptables chains behind, and the chart runs the pods on a read-only
root too. Missing podman skips, except under CI=true, where `make test` installed it first
(hack/ensure-image-tools.sh), so a missing tool is a broken setup and fails.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import tarfile
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.install_steps import missing_install_step

REPO = Path(__file__).resolve().parents[2]
BUILD = REPO / "hack" / "image" / "build.sh"
OUT = REPO / "build" / "images"
ENV = {**os.environ, "CONTAINERS_CONF": str(REPO / "hack" / "image" / "containers.conf")}
VERSION = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]["version"]


def require_podman() -> None:
    missing = [tool for tool in ("podman", "skopeo", "mmdebstrap") if shutil.which(tool) is None]
    if not missing:
        return
    missing_install_step(f"{', '.join(missing)} missing: run hack/ensure-image-tools.sh as root")


@dataclass(frozen=True)
class Image:
    name: str

    @property
    def tag(self) -> str:
        return f"localhost/{self.name}:{VERSION}"

    @property
    def archive(self) -> Path:
        return OUT / f"{self.name}-{VERSION}.oci.tar"

    @property
    def sbom(self) -> Path:
        return OUT / f"{self.name}-{VERSION}.cdx.json"

    def inspect(self) -> dict[str, Any]:
        answer = podman("image", "inspect", self.tag)
        return dict(json.loads(answer.stdout)[0])

    def run(self, *args: str, entrypoint: str | None = None) -> subprocess.CompletedProcess[str]:
        """``podman run`` the image as the chart would: no network, read-only root."""
        options = ["--rm", "--network=none", "--read-only"]
        if entrypoint is not None:
            options.append(f"--entrypoint={entrypoint}")
        return podman("run", *options, self.tag, *args, check=False)


CARBON_KUBE = Image("carbon-kube")
SCHEDULER = Image("kube-scheduler-carbon")


def build(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - the project's own script
        [str(BUILD), *args], capture_output=True, text=True, env=ENV, check=False, timeout=1800
    )


def podman(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(  # noqa: S603 - podman from PATH, fixed arguments
        ["podman", *args],  # noqa: S607
        capture_output=True,
        text=True,
        env=ENV,
        check=False,
        timeout=300,
    )
    if check and result.returncode != 0:
        raise AssertionError(f"podman {' '.join(args)}: {result.stderr}")
    return result


def archive_files(archive: Path) -> list[str]:
    """Every regular file in every layer of an OCI archive, in layer order."""
    with tarfile.open(archive) as outer:
        index = json.load(_member(outer, "index.json"))
        manifest = json.load(_member(outer, _blob(index["manifests"][0]["digest"])))
        names: list[str] = []
        for layer in manifest["layers"]:
            blob = _member(outer, _blob(layer["digest"])).read()
            with tarfile.open(fileobj=io.BytesIO(blob)) as inner:
                names += [member.name for member in inner.getmembers() if member.isfile()]
    return names


def _blob(digest: str) -> str:
    algorithm, value = digest.split(":")
    return f"blobs/{algorithm}/{value}"


def _member(archive: Any, name: str) -> Any:
    member = archive.extractfile(name)
    assert member is not None, name
    return member
