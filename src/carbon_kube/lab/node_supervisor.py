"""Run the lab's real node: containerd and the kubelet in a private mount namespace.

``lab up --real-node`` starts ``python -m carbon_kube.lab.node_supervisor CONFIG`` as one lab
process. It enters a new mount namespace (private propagation, so nothing mounted here is
seen by the host), bind-mounts files with the kubelet's wanted values over its /proc/sys
entries (:data:`carbon_kube.lab.real_node.KERNEL_TUNABLES`), starts containerd, imports the
image archives, creates the pod bridge with the "kubernetes" Service's address on it and
relays that address to the apiserver (:mod:`carbon_kube.lab.real_node` says why), starts the
kubelet, and waits. On SIGTERM (``lab down``) or when either child
dies it stops the kubelet, then kills every container (through the kubepods cgroups),
containerd and its shims, and removes what the host can still see
(:func:`remove_host_leftovers`); the namespace and its mounts vanish with its processes.
One process to stop keeps ``down`` simple and ordered.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import FrameType
from typing import Any

__all__ = ["main", "remove_host_leftovers"]

_log = logging.getLogger("carbon_kube.lab.node")
_CLONE_NEWNS = 0x00020000
_CGROUP_ROOT = Path("/sys/fs/cgroup")
_CONTAINERD_NAMESPACE = "k8s.io"
_NODE_DAEMONS = frozenset({"containerd", "containerd-shim-runc-v2", "kubelet"})


def _enter_private_mount_namespace() -> None:
    """unshare(CLONE_NEWNS) for this process and its children, then make / private."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.unshare(_CLONE_NEWNS) != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, "unshare(CLONE_NEWNS) failed: the real node needs root")
    subprocess.run(["mount", "--make-rprivate", "/"], check=True)  # noqa: S607 - util-linux


def _private_host_dirs(paths: list[str], root: Path) -> None:
    """Bind a directory of the state dir over each path, inside the namespace only.

    A mount point missing on the host is created first and recorded, so that
    :func:`remove_host_leftovers` removes it (empty, once the namespace is gone).
    """
    created: list[str] = []
    for path in paths:
        target = Path(path)
        if not target.exists():
            target.mkdir(parents=True)
            created.append(path)
        source = root / "host" / path.strip("/").replace("/", ".")
        source.mkdir(parents=True, exist_ok=True)
        bind = ["mount", "--bind", str(source), path]
        subprocess.run(bind, check=True)  # noqa: S603 - util-linux, fixed paths
    (root / "created-mount-points.json").write_text(json.dumps(created))


def _prepare_cgroups(name: str) -> None:
    """The kubelet's cgroupRoot must exist in every hierarchy before it starts."""
    for hierarchy in _cgroup_hierarchies():
        (hierarchy / name).mkdir(exist_ok=True)


def _cgroup_hierarchies() -> list[Path]:
    """Each mounted hierarchy (v1 controllers, named ones, the unified one)."""
    return [
        path
        for path in sorted(_CGROUP_ROOT.iterdir())
        if path.is_dir() and (path / "cgroup.procs").exists()
    ] or [_CGROUP_ROOT]


def _bind_kernel_tunables(tunables: dict[str, str], directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    for key, value in tunables.items():
        holder = directory / key.replace("/", ".")
        holder.write_text(f"{value}\n")
        subprocess.run(  # noqa: S603 - fixed paths
            ["mount", "--bind", str(holder), f"/proc/sys/{key}"],  # noqa: S607 - util-linux
            check=True,
        )


def _ctr(address: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - Debian's ctr, fixed arguments
        ["ctr", "--address", address, "-n", _CONTAINERD_NAMESPACE, *args],  # noqa: S607
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


def _create_bridge(name: str, addresses: list[str]) -> None:
    """The pod bridge, made before any pod so the relay's address is on it from the start.

    The CNI bridge plugin adopts an existing bridge that already holds its gateway address.
    """
    commands = [
        ["ip", "link", "add", name, "type", "bridge"],
        *(["ip", "addr", "add", address, "dev", name] for address in addresses),
        ["ip", "link", "set", name, "up"],
    ]
    for command in commands:
        subprocess.run(command, check=True, capture_output=True)  # noqa: S603 - iproute2


def _start_relay(listen: tuple[str, int], target: tuple[str, int]) -> None:
    """Relay TCP from ``listen`` to ``target`` in a daemon thread (the pods' apiserver route).

    The socket is bound here, so a bind error stops the node at start-up instead of later.
    """
    server_socket = socket.create_server(listen, reuse_port=False)

    async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        except OSError:
            pass
        finally:
            writer.close()

    async def connect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            upstream_reader, upstream_writer = await asyncio.open_connection(*target)
        except OSError:
            writer.close()
            return
        await asyncio.gather(pipe(reader, upstream_writer), pipe(upstream_reader, writer))

    async def serve() -> None:
        server = await asyncio.start_server(connect, sock=server_socket)
        async with server:
            await server.serve_forever()

    threading.Thread(target=asyncio.run, args=(serve(),), name="api-relay", daemon=True).start()


def _kill_pod_processes(cgroup_root: str) -> int:
    """SIGKILL every process under this lab's cgroupRoot: its containers and sandboxes."""
    pids: set[int] = set()
    for procs in (
        p for h in _cgroup_hierarchies() for p in (h / cgroup_root).rglob("cgroup.procs")
    ):
        with contextlib.suppress(OSError):
            pids |= {int(pid) for pid in procs.read_text().split()}
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    return len(pids)


def _kill_node_daemons(root: Path) -> int:
    """SIGKILL containerd, its shims and the kubelet of this node (a SIGKILLed supervisor's).

    Matched by executable name and by this node's state directory on the command line, so no
    other containerd or kubelet on the host is touched.
    """
    killed = 0
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) == os.getpid():
            continue
        try:
            exe = Path(os.readlink(proc / "exe").removesuffix(" (deleted)")).name
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if exe in _NODE_DAEMONS and any(_within(word, root) for word in cmdline.split()):
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(proc.name), signal.SIGKILL)
                killed += 1
    return killed


def _within(word: str, root: Path) -> bool:
    """True when a command-line word names a path in ``root`` (``--config=<root>/x`` too)."""
    value = word.split("=", 1)[-1]
    return value == str(root) or value.startswith(f"{root}/")


def remove_host_leftovers(root: Path, bridge: str, cgroup_root: str) -> list[str]:
    """Stop whatever of the node still runs, then delete its bridge and kubepods cgroups.

    Idempotent; what was removed. The supervisor calls it as it exits, ``lab down`` once more
    for a supervisor that was SIGKILLed (its children then outlive it).
    """
    removed: list[str] = []
    if killed := _kill_pod_processes(cgroup_root) + _kill_node_daemons(root):
        removed.append(f"{killed} processes")
    if Path(f"/sys/class/net/{bridge}").exists():
        subprocess.run(["ip", "link", "delete", bridge], check=False)  # noqa: S603, S607
        removed.append(f"bridge {bridge}")
    deadline = time.monotonic() + 10
    for hierarchy in [h / cgroup_root for h in _cgroup_hierarchies() if (h / cgroup_root).exists()]:
        # Leaves first: a cgroup can only go once it has no children and no processes (the
        # killed ones leave it as they exit, a moment after the signal).
        while hierarchy.exists() and time.monotonic() < deadline:
            for directory in sorted(hierarchy.rglob("*"), key=lambda d: len(d.parts), reverse=True):
                if directory.is_dir():
                    with contextlib.suppress(OSError):
                        directory.rmdir()
            with contextlib.suppress(OSError):
                hierarchy.rmdir()
            if hierarchy.exists():
                time.sleep(0.1)
        if not hierarchy.exists():
            removed.append(f"cgroup {hierarchy}")
    record = root / "created-mount-points.json"
    if record.exists():
        for path in reversed(json.loads(record.read_text())):
            with contextlib.suppress(OSError):  # still mounted while the namespace lives
                Path(path).rmdir()
                removed.append(f"mount point {path}")
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


class _StoppedWhileStartingError(Exception):
    """SIGTERM arrived before the node was up."""


def run(config: dict[str, Any]) -> int:
    """The supervisor's life; 0 when stopped by a signal, 1 when a child died on its own."""
    logs = Path(config["logs"])
    logs.mkdir(parents=True, exist_ok=True)
    stopping = threading.Event()
    starting = True

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stopping.set()
        if starting:  # interrupt a long start-up step (an image import) and clean up now
            raise _StoppedWhileStartingError

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    containerd: subprocess.Popen[bytes] | None = None
    kubelet: subprocess.Popen[bytes] | None = None
    containerd_socket = config["socket"]
    try:
        _enter_private_mount_namespace()
        _private_host_dirs(config["private_dirs"], Path(config["root"]))
        _bind_kernel_tunables(config["tunables"], Path(config["tunables_dir"]))
        _prepare_cgroups(config["cgroup_root"])
        _create_bridge(config["bridge"], config["bridge_addresses"])
        relay = config["api_relay"]
        _start_relay(tuple(relay["listen"]), tuple(relay["target"]))
        with (logs / "containerd.log").open("ab") as out:
            containerd = subprocess.Popen(config["containerd"], stdout=out, stderr=out)  # noqa: S603
        _wait_for_socket(Path(containerd_socket), containerd, timeout_s=60)
        for archive in config["images"]:
            imported = _ctr(containerd_socket, "images", "import", archive)
            if imported.returncode != 0:
                raise RuntimeError(f"ctr images import {archive}: {imported.stderr.strip()}")
            _log.info("imported %s", archive)
        with (logs / "kubelet.log").open("ab") as out:
            kubelet = subprocess.Popen(config["kubelet"], stdout=out, stderr=out)  # noqa: S603
        _log.info("containerd pid %s, kubelet pid %s", containerd.pid, kubelet.pid)
        starting = False
        while not stopping.wait(0.5):
            for name, child in (("containerd", containerd), ("kubelet", kubelet)):
                if child.poll() is not None:
                    _log.error("%s exited with %s; stopping the node", name, child.returncode)
                    return 1
        return 0
    except _StoppedWhileStartingError:
        _log.info("stopped while starting")
        return 0
    finally:
        # The kubelet first, so that nothing restarts the containers; then SIGKILL for the
        # rest. containerd's state is thrown away with the lab, so asking it to delete each
        # task (ctr, one call per task, each waiting on its shim) only cost time: a lab with
        # seven pods took over 60 s that way.
        _stop(kubelet)
        leftovers = remove_host_leftovers(
            Path(config["root"]), config["bridge"], config["cgroup_root"]
        )
        for what in leftovers:
            _log.info("removed %s", what)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    return run(json.loads(Path(args[0]).read_text()))


if __name__ == "__main__":
    sys.exit(main())
