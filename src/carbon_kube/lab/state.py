"""The lab's state directory on disk: where each file lives, and the PIDs and ports in it.

``state.json`` is the one record of a lab: ``down``, ``status``, ``env``, the controller's
``--lab-state-dir`` and the tests read it to find the processes, ports, kubeconfig and
virtual clock that ``up`` made. It is rewritten atomically each time a PID is added, so a
crash mid-``up`` never loses a process that ``down`` must stop.

This module must not start, probe or stop processes (that is
:mod:`carbon_kube.lab.control_plane`) nor know component flags
(:mod:`carbon_kube.lab.components`); it only names paths and reads and writes the record.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from carbon_kube.domain.errors import CarbonKubeError
from carbon_kube.kube.client import KubeClient
from carbon_kube.lab.clock import VirtualClock
from carbon_kube.lab.processes import RunningProcess, is_our_process
from carbon_kube.storage.atomic import write_text_atomically

__all__ = [
    "STATE_FILE",
    "LabAlreadyRunningError",
    "LabPaths",
    "LabState",
    "prepare_state_dir",
    "read_state",
]

STATE_FILE = "state.json"


class LabAlreadyRunningError(CarbonKubeError):
    """``up`` found live processes from an earlier ``up`` in the same state directory."""


@dataclass(frozen=True)
class LabPaths:
    """The layout of one state directory, so no other module spells a file name in it."""

    state_dir: Path

    @property
    def pki(self) -> Path:
        return self.state_dir / "pki"

    @property
    def kubeconfig(self) -> Path:
        return self.state_dir / "kubeconfig"

    @property
    def etcd_data(self) -> Path:
        return self.state_dir / "etcd"

    @property
    def scheduler_config(self) -> Path:
        return self.state_dir / "kube-scheduler.yaml"

    @property
    def kwok_config(self) -> Path:
        return self.state_dir / "kwok.yaml"

    @property
    def real_node(self) -> Path:
        """The real node's files (``up --real-node``): containerd, kubelet, CNI state."""
        return self.state_dir / "real-node"

    @property
    def logs(self) -> Path:
        return self.state_dir / "logs"

    @property
    def state_file(self) -> Path:
        return self.state_dir / STATE_FILE


@dataclass
class LabState:
    """What ``up`` leaves behind for ``down``, ``status``, ``env`` and the tests (JSON)."""

    state_dir: Path
    kubeconfig: Path
    server_url: str
    ports: dict[str, int]
    speedup: float
    virtual_epoch: datetime
    real_epoch: datetime
    processes: list[RunningProcess] = field(default_factory=list)
    nodes: list[str] = field(default_factory=list)
    # True when ``up --install`` runs Carbon-Kube's webhook and controller in this lab.
    installed: bool = False
    # The real node's pod bridge when ``up --real-node`` started one (``down`` removes it).
    real_node_bridge: str | None = None
    # The lab's Prometheus when ``up --install`` found one to start.
    prometheus_url: str | None = None

    def clock(self) -> VirtualClock:
        """The lab-wide virtual clock all Carbon-Kube components in this lab should use."""
        return VirtualClock(
            self.speedup, virtual_epoch=self.virtual_epoch, real_epoch=self.real_epoch
        )

    def client(self) -> KubeClient:
        """A client for this lab's apiserver (admin token)."""
        return KubeClient.from_kubeconfig(self.kubeconfig)

    def save(self) -> None:
        """Write state.json atomically (a crash mid-write must not lose PIDs)."""
        data: dict[str, Any] = asdict(self)
        data["virtual_epoch"] = self.virtual_epoch.isoformat()
        data["real_epoch"] = self.real_epoch.isoformat()
        write_text_atomically(self.state_dir / STATE_FILE, json.dumps(data, indent=2, default=str))


def read_state(state_dir: Path) -> LabState | None:
    """The state of the lab in ``state_dir``, or None when there is none."""
    path = LabPaths(state_dir).state_file
    if not path.is_file():
        return None
    data = json.loads(path.read_text())
    return LabState(
        state_dir=Path(data["state_dir"]),
        kubeconfig=Path(data["kubeconfig"]),
        server_url=data["server_url"],
        ports={k: int(v) for k, v in data["ports"].items()},
        speedup=float(data["speedup"]),
        virtual_epoch=datetime.fromisoformat(data["virtual_epoch"]),
        real_epoch=datetime.fromisoformat(data["real_epoch"]),
        processes=[
            RunningProcess(
                name=p["name"],
                pid=int(p["pid"]),
                binary=Path(p["binary"]),
                log_path=Path(p["log_path"]),
                start_ticks=p.get("start_ticks"),
            )
            for p in data["processes"]
        ],
        nodes=list(data.get("nodes", [])),
        installed=bool(data.get("installed", False)),
        real_node_bridge=data.get("real_node_bridge"),
        prometheus_url=data.get("prometheus_url"),
    )


def prepare_state_dir(state_dir: Path) -> None:
    """Empty ``state_dir`` for a new lab, refusing while an earlier lab there still runs."""
    previous = read_state(state_dir) if state_dir.exists() else None
    if previous is not None:
        alive = [p for p in previous.processes if is_our_process(p)]
        if alive:
            names = ", ".join(f"{p.name} (pid {p.pid})" for p in alive)
            raise LabAlreadyRunningError(
                f"a lab is already running from {state_dir}: {names}. "
                f"Run `carbon-kube lab down --state-dir {state_dir}` first, "
                "or pick another --state-dir."
            )
    if state_dir.exists():
        shutil.rmtree(state_dir)
    state_dir.mkdir(parents=True, mode=0o700)
