"""Start, watch and stop the lab's control-plane processes.

Responsibilities: pick free loopback ports, launch a binary detached from the caller (its own
session, so ``lab up`` can exit and leave it running) with stdout+stderr in a per-component
log, poll a readiness probe until a deadline, and stop exactly the PIDs the lab recorded.

It must not guess: a PID is only signalled after ``/proc/<pid>/cmdline`` confirms it is still
the binary we started (PIDs get reused), and it never kills by process name.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from carbon_kube.domain.errors import CarbonKubeError

__all__ = [
    "ComponentFailedError",
    "RunningProcess",
    "free_loopback_ports",
    "is_our_process",
    "start_process",
    "stop_process",
    "tail_log",
    "wait_until_ready",
]

_log = logging.getLogger(__name__)

# Popen handles of the children this Python process started. Kept so they are not garbage
# collected while the child runs (Popen warns then) and so stop_process can reap them.
_CHILDREN: dict[int, subprocess.Popen[bytes]] = {}


class ComponentFailedError(CarbonKubeError):
    """A lab component exited or missed its readiness deadline; the message has its log tail."""

    def __init__(self, component: str, reason: str, log_path: Path) -> None:
        self.component = component
        self.log_path = log_path
        tail = tail_log(log_path, lines=30)
        super().__init__(
            f"{component} {reason}. Last lines of {log_path}:\n{tail}\n"
            f"Fix the cause above, then run `carbon-kube lab down` and `carbon-kube lab up` again."
        )


@dataclass(frozen=True)
class RunningProcess:
    """A started component: enough to find, probe and stop it later (persisted as JSON)."""

    name: str
    pid: int
    binary: Path
    log_path: Path
    # When the kernel started it (clock ticks since boot, /proc/<pid>/stat field 22): with the
    # executable this tells a reused PID apart even when the binary is a shared interpreter
    # (the lab's Python processes). None in states written before it was recorded.
    start_ticks: int | None = None


def free_loopback_ports(count: int) -> list[int]:
    """Ask the kernel for ``count`` distinct free ports on 127.0.0.1.

    All sockets stay open until every port is picked so the kernel cannot hand out the same
    one twice; a port may still be taken by someone else before our process binds it, which
    then fails loudly at start-up rather than silently.
    """
    sockets: list[socket.socket] = []
    try:
        for _ in range(count):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.bind(("127.0.0.1", 0))
            sockets.append(sock)
        return [int(sock.getsockname()[1]) for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def start_process(name: str, binary: Path, args: Sequence[str], log_dir: Path) -> RunningProcess:
    """Launch ``binary args`` detached, logging to ``log_dir/<name>.log``."""
    if not os.access(binary, os.X_OK):
        raise CarbonKubeError(
            f"{name}: binary {binary} is missing or not executable. Build the lab binaries "
            f"with `hack/lab/build.sh` (or point CARBON_KUBE_LAB_BIN at a directory holding them)."
        )
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / f"{name}.log"
    with log_path.open("ab") as log_file:
        process = subprocess.Popen(  # noqa: S603 - argv built by the lab, no shell
            [str(binary), *args],
            stdin=subprocess.DEVNULL,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # survive the CLI's exit and its Ctrl-C
            close_fds=True,
        )
    _CHILDREN[process.pid] = process
    ticks = _start_ticks(process.pid)
    _log.info(
        "started %s", name, extra={"component": name, "pid": process.pid, "log": str(log_path)}
    )
    return RunningProcess(
        name=name, pid=process.pid, binary=binary, log_path=log_path, start_ticks=ticks
    )


def _stat_fields(pid: int) -> list[str] | None:
    """The fields of /proc/<pid>/stat after the command name (which may hold spaces)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def _start_ticks(pid: int) -> int | None:
    fields = _stat_fields(pid)
    # Field 22 (starttime) is the 20th after the name: state is field 3, index 0 here.
    return int(fields[19]) if fields is not None and len(fields) > 19 else None


def is_our_process(process: RunningProcess) -> bool:
    """True while ``process.pid`` is alive and still runs ``process.binary``.

    For children of this Python process the Popen handle is the truth (no PID reuse is
    possible before we reap). Otherwise ``/proc/<pid>/exe`` must point at the binary:
    unlike ``cmdline``, which reads empty for a moment during exec, the exe link is set
    atomically by exec. A rebuilt binary shows as "<path> (deleted)" and still counts.
    """
    child = _CHILDREN.get(process.pid)
    if child is not None:
        return child.poll() is None
    try:
        exe = os.readlink(f"/proc/{process.pid}/exe")
    except OSError:
        return False
    exe = exe.removesuffix(" (deleted)")
    if Path(exe) != process.binary.resolve():
        return False
    fields = _stat_fields(process.pid)
    if fields is None:
        return False
    if process.start_ticks is not None and _start_ticks(process.pid) != process.start_ticks:
        return False  # the PID was reused by another process of the same binary
    return fields[0] != "Z"  # a zombie has exited; only its parent's wait() is missing


def _reap(pid: int) -> None:
    """Collect the exit status if ``pid`` is our child, so it does not linger as a zombie."""
    child = _CHILDREN.get(pid)
    if child is not None:
        if child.poll() is not None:
            del _CHILDREN[pid]
        return
    # Started by another ``lab up`` process: its parent (init) reaps it, not us.
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)


def stop_process(process: RunningProcess, grace: timedelta = timedelta(seconds=15)) -> bool:
    """SIGTERM the process, SIGKILL it after ``grace``; return False if it was already gone."""
    if not is_our_process(process):
        _reap(process.pid)
        return False
    os.kill(process.pid, signal.SIGTERM)
    deadline = time.monotonic() + grace.total_seconds()
    while time.monotonic() < deadline:
        _reap(process.pid)
        if not is_our_process(process):
            return True
        time.sleep(0.1)
    _log.warning("%s ignored SIGTERM; sending SIGKILL", process.name, extra={"pid": process.pid})
    os.kill(process.pid, signal.SIGKILL)
    for _ in range(50):
        _reap(process.pid)
        if not is_our_process(process):
            break
        time.sleep(0.1)
    return True


def tail_log(path: Path, lines: int = 30) -> str:
    """The last ``lines`` lines of a log file, or a note that it does not exist."""
    try:
        data = path.read_bytes()
    except OSError:
        return f"(no log at {path})"
    return "\n".join(data.decode(errors="replace").splitlines()[-lines:])


def wait_until_ready(
    process: RunningProcess,
    probe: Callable[[], bool],
    timeout: timedelta,
    *,
    what: str = "ready",
    poll: timedelta = timedelta(milliseconds=500),
) -> None:
    """Poll ``probe`` until it returns True; fail fast if the process exits meanwhile.

    ``probe`` returns False (not raises) while the component is still starting. The error
    names the component, the deadline, and carries the tail of its log.
    """
    deadline = time.monotonic() + timeout.total_seconds()
    while True:
        if not is_our_process(process):
            _reap(process.pid)
            raise ComponentFailedError(process.name, "exited during start-up", process.log_path)
        if probe():
            _log.info("%s is %s", process.name, what, extra={"component": process.name})
            return
        if time.monotonic() >= deadline:
            raise ComponentFailedError(
                process.name,
                f"was not {what} within {timeout.total_seconds():.0f} s "
                f"(raise LabSettings.ready_timeout / --ready-timeout-s on a slow machine)",
                process.log_path,
            )
        time.sleep(poll.total_seconds())
