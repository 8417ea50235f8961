"""The pod-sandbox ("pause") image of the lab's real node, written as an OCI archive.

containerd starts every pod with a sandbox container whose image upstream pulls from
registry.k8s.io, which is unreachable here. ``hack/lab/build.sh kubelet`` compiles upstream's
``build/pause/linux/pause.c`` from the same Kubernetes module; this module wraps that one
static binary as a single-layer OCI image archive that ``ctr images import`` loads, so the
node never pulls. Deterministic: fixed file times and ordering give the same digests for the
same binary.
"""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
from pathlib import Path
from typing import Any

from carbon_kube.storage.atomic import write_bytes_atomically

__all__ = ["PAUSE_IMAGE", "write_pause_image"]

# What containerd's sandbox_image names (built here, never pulled).
PAUSE_IMAGE = "localhost/carbon-kube-pause:lab"
_NOBODY = 65535  # upstream's pause image runs as 65535 too


def _digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _tar(members: list[tuple[str, bytes, int]]) -> bytes:
    """An uncompressed tar of ``(name, content, mode)``, owner root, mtime 0."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as archive:
        for name, content, mode in members:
            info = tarfile.TarInfo(name)
            info.size = len(content)
            info.mode = mode
            info.mtime = 0
            archive.addfile(info, io.BytesIO(content))
    return buffer.getvalue()


def _json(document: dict[str, Any]) -> bytes:
    return json.dumps(document, sort_keys=True, separators=(",", ":")).encode()


def write_pause_image(binary: Path, archive: Path, name: str = PAUSE_IMAGE) -> None:
    """Write ``binary`` as the image ``name`` (entrypoint ``/pause``) to the OCI ``archive``."""
    layer = _tar([("pause", binary.read_bytes(), 0o755)])
    config = _json(
        {
            "architecture": "amd64",
            "os": "linux",
            "config": {"Entrypoint": ["/pause"], "User": f"{_NOBODY}:{_NOBODY}"},
            "rootfs": {"type": "layers", "diff_ids": [_digest(layer)]},
        }
    )
    manifest = _json(
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {
                "mediaType": "application/vnd.oci.image.config.v1+json",
                "digest": _digest(config),
                "size": len(config),
            },
            "layers": [
                {
                    "mediaType": "application/vnd.oci.image.layer.v1.tar",
                    "digest": _digest(layer),
                    "size": len(layer),
                }
            ],
        }
    )
    index = _json(
        {
            "schemaVersion": 2,
            "manifests": [
                {
                    "mediaType": "application/vnd.oci.image.manifest.v1+json",
                    "digest": _digest(manifest),
                    "size": len(manifest),
                    "annotations": {
                        "io.containerd.image.name": name,
                        "org.opencontainers.image.ref.name": name,
                    },
                }
            ],
        }
    )
    blobs = [
        (f"blobs/sha256/{_digest(blob).removeprefix('sha256:')}", blob, 0o644)
        for blob in (layer, config, manifest)
    ]
    layout = _json({"imageLayoutVersion": "1.0.0"})
    write_bytes_atomically(
        archive, _tar([("oci-layout", layout, 0o644), ("index.json", index, 0o644), *blobs])
    )
