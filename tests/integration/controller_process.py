"""Run ``carbon-kube controller run`` as a real process against the lab, so it can be killed.

The controller gets its own virtual clock (speed-up and epochs on the command line), which the
test shares, and its own Lease name, so tests never contend with each other's controllers.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from carbon_kube.domain.annotations import format_rfc3339
from carbon_kube.lab.clock import VirtualClock


@dataclass
class ControllerProcess:
    """One controller replica; ``log`` collects its output."""

    lab_state: Path
    clock: VirtualClock
    lease_name: str
    log: Path
    extra_args: tuple[str, ...] = ()
    identity: str = "replica"
    env: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen[bytes] | None = field(default=None, init=False)

    def start(self) -> ControllerProcess:
        args = [
            str(Path(sys.executable).parent / "carbon-kube"),
            "controller",
            "run",
            "--lab-state-dir",
            str(self.lab_state),
            "--speedup",
            str(self.clock.speedup),
            "--virtual-epoch",
            self.clock.virtual_epoch.isoformat(),
            "--real-epoch",
            self.clock.real_epoch.isoformat(),
            "--lease-name",
            self.lease_name,
            "--lease-duration",
            "4s",
            "--renew-period",
            "1s",
            "--identity",
            self.identity,
            *self.extra_args,
        ]
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(  # noqa: S603 - our own CLI, fixed arguments
                args,
                stdout=out,
                stderr=subprocess.STDOUT,
                env={**os.environ, "COLUMNS": "200", **self.env},
            )
        return self

    def kill(self) -> None:
        """SIGKILL: no graceful Lease hand-over, like a crashed pod."""
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)

    def stop(self) -> None:
        """SIGTERM and wait (the Lease is handed over)."""
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def wait_leading(self, timeout: timedelta = timedelta(seconds=60)) -> None:
        deadline = time.monotonic() + timeout.total_seconds()
        while time.monotonic() < deadline:
            if f"{self.identity}: leading" in self.output():
                return
            if self.process and self.process.poll() is not None:
                raise AssertionError(f"controller exited early:\n{self.output()[-3000:]}")
            time.sleep(0.2)
        raise AssertionError(
            f"{self.identity} did not lead within {timeout}:\n{self.output()[-3000:]}"
        )


def rfc3339(clock: VirtualClock, after: timedelta) -> str:
    return format_rfc3339(clock.now() + after)
