"""Which PIDs the lab may signal (carbon_kube.lab.processes.is_our_process)."""

from __future__ import annotations

import os
import sys
from dataclasses import replace
from pathlib import Path

from carbon_kube.lab.processes import RunningProcess, _start_ticks, is_our_process


def _this_process() -> RunningProcess:
    return RunningProcess(
        name="python",
        pid=os.getpid(),
        binary=Path(sys.executable),
        log_path=Path("/dev/null"),
        start_ticks=_start_ticks(os.getpid()),
    )


def test_a_recorded_process_that_still_runs_is_ours() -> None:
    assert is_our_process(_this_process())


def test_a_reused_pid_running_the_same_interpreter_is_not_ours() -> None:
    """The lab's webhook, controller and node supervisor are all `python`: the exe alone
    cannot tell a reused PID apart, the start time can."""
    recorded = _this_process()
    assert recorded.start_ticks is not None

    assert not is_our_process(replace(recorded, start_ticks=recorded.start_ticks - 1))


def test_a_state_written_before_start_times_were_recorded_still_matches_by_executable() -> None:
    assert is_our_process(replace(_this_process(), start_ticks=None))
