"""Run the lab's real node: containerd and the kubelet in a private mount namespace.

``lab up --real-node`` starts ``python -m carbon_kube.lab.node_supervisor CONFIG`` as one lab
process. It enters a new mount namespace (private propagation, so nothing mounted here is
seen by the host), bind-mounts files with the kubelet's wanted values over its /proc/sys
entries (:data:`carbon_kube.lab.real_node.KERNEL_TUNABLES`), starts containerd, imports the
image archives, starts the kubelet, and waits. On SIGTERM (``lab down``) or when either child
dies it stops the kubelet, kills and deletes every container task, stops containerd and
removes what the host can still see (:func:`remove_host_leftovers`); the namespace and its
mounts vanish with the process. One process to stop keeps ``down`` simple and ordered.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import logging
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import FrameType
from typing import Any

from carbon_kube.lab.real_node import CGROUP_NAME

__all__ = ["main", "remove_host_leftovers"]

_log = logging.getLogger("carbon_kube.lab.node")
_CLONE_NEWNS = 0x00020000
_CGROUP_ROOT = Path("/sys/fs/cgroup")
_CONTAINERD_NAMESPACE = "k8s.io"


def _enter_private_mount_namespace() -> None:
    """unshare(CLONE_NEWNS) for this process and its children, then make / private."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.unshare(_CLONE_NEWNS) != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, "unshare(CLONE_NEWNS) failed: the real node needs root")
    subprocess.run(["mount", "--make-rprivate", "/"], check=True)  # noqa: S607 - util-linux


def _bind_kernel_tunables(tunables: dict[str, str], directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    for key, value in tunables.items():
        holder = directory / key.replace("/", ".")
        holder.write_text(f"{value}\n")
        subprocess.run(  # noqa: S603 - fixed paths
            ["mount", "--bind", str(holder), f"/proc/sys/{key}"],  # noqa: S607 - util-linux
            check=True,
        )


def _ctr(socket: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - Debian's ctr, fixed arguments
        ["ctr", "--address", socket, "-n", _CONTAINERD_NAMESPACE, *args],  # noqa: S607
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def _wait_for_socket(path: Path, process: subprocess.Popen[bytes], timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while not path.is_socket():
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"containerd did not open {path} (see containerd.log)")
        time.sleep(0.1)


def _remove_tasks(socket: str) -> None:
    """SIGKILL and delete every container task, so no shim or pause process outlives us."""
    listed = _ctr(socket, "tasks", "ls", "-q")
    tasks = listed.stdout.split()
    for task in tasks:
        _ctr(socket, "tasks", "kill", "--signal", "SIGKILL", task)
    for task in tasks:
        for _ in range(50):
            if _ctr(socket, "tasks", "delete", task).returncode == 0:
                break
            time.sleep(0.1)


def remove_host_leftovers(bridge: str) -> list[str]:
    """Delete the pod bridge and the kubepods cgroups; what was removed (idempotent)."""
    removed: list[str] = []
    if Path(f"/sys/class/net/{bridge}").exists():
        subprocess.run(["ip", "link", "delete", bridge], check=False)  # noqa: S603, S607
        removed.append(f"bridge {bridge}")
    for hierarchy in sorted(_CGROUP_ROOT.glob(f"*/{CGROUP_NAME}")):
        # Leaves first: a cgroup directory can only be removed once it has no children.
        for directory in sorted(hierarchy.rglob("*"), key=lambda p: len(p.parts), reverse=True):
            if directory.is_dir():
                with contextlib.suppress(OSError):
                    directory.rmdir()
        with contextlib.suppress(OSError):
            hierarchy.rmdir()
            removed.append(f"cgroup {hierarchy}")
    return removed


def _stop(process: subprocess.Popen[bytes] | None, grace_s: float = 5.0) -> None:
    if process is None or process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=grace_s)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=5)


def run(config: dict[str, Any]) -> int:
    """The supervisor's life; 0 when stopped by a signal, 1 when a child died on its own."""
    logs = Path(config["logs"])
    logs.mkdir(parents=True, exist_ok=True)
    stopping = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stopping.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    containerd: subprocess.Popen[bytes] | None = None
    kubelet: subprocess.Popen[bytes] | None = None
    socket = config["socket"]
    try:
        _enter_private_mount_namespace()
        _bind_kernel_tunables(config["tunables"], Path(config["tunables_dir"]))
        with (logs / "containerd.log").open("ab") as out:
            containerd = subprocess.Popen(config["containerd"], stdout=out, stderr=out)  # noqa: S603
        _wait_for_socket(Path(socket), containerd, timeout_s=60)
        for archive in config["images"]:
            imported = _ctr(socket, "images", "import", archive)
            if imported.returncode != 0:
                raise RuntimeError(f"ctr images import {archive}: {imported.stderr.strip()}")
            _log.info("imported %s", archive)
        with (logs / "kubelet.log").open("ab") as out:
            kubelet = subprocess.Popen(config["kubelet"], stdout=out, stderr=out)  # noqa: S603
        _log.info("containerd pid %s, kubelet pid %s", containerd.pid, kubelet.pid)
        while not stopping.wait(0.5):
            for name, child in (("containerd", containerd), ("kubelet", kubelet)):
                if child.poll() is not None:
                    _log.error("%s exited with %s; stopping the node", name, child.returncode)
                    return 1
        return 0
    finally:
        _stop(kubelet)
        if containerd is not None and containerd.poll() is None:
            _remove_tasks(socket)
        _stop(containerd)
        for what in remove_host_leftovers(config["bridge"]):
            _log.info("removed %s", what)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    return run(json.loads(Path(args[0]).read_text()))


if __name__ == "__main__":
    sys.exit(main())
