"""A day of real jobs planned on a provider's forecast served over loopback: lab vs simulator.

Runs tests/integration/test_live_replay.py (the first day of GAIA's pai_1k, 143 jobs, on the
virtual clock at speed-up 720; a loopback Electricity Maps server serves CISO's real direct
intensity of September 2021 and DACF's day-ahead forecast as issued; the real controller polls
it and publishes the signal; the webhook plans on that published signal only, with
``--forecast provider``) and prints its figures. Needs the lab's binaries (make lab-binaries)
and ../shared/data. The last line is exactly

    live replay: lab X.XX % saved, simulator Y.YY % saved, misses N

(goal: |X - Y| <= 1.0 and 0 misses).

    .venv/bin/python bench/live_replay.py
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TEST = "tests/integration/test_live_replay.py"


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="live-replay-") as folder:
        out = Path(folder) / "figures.json"
        env = {**os.environ, "LIVE_REPLAY_OUT": str(out)}
        command = [
            sys.executable,
            "-m",
            "pytest",
            TEST,
            "-q",
            "-m",
            "lab",
            "-p",
            "no:cacheprovider",
        ]
        result = subprocess.run(command, cwd=ROOT, env=env, check=False)  # noqa: S603
        if not out.exists():
            raise SystemExit(f"the replay wrote no figures (pytest exit {result.returncode})")
        figures = json.loads(out.read_text())
    for key, value in figures.items():
        print(f"{key}: {value:.2f}" if isinstance(value, float) else f"{key}: {value}")
    print(
        f"live replay: lab {figures['lab_saved_pct']:.2f} % saved, simulator "
        f"{figures['simulator_saved_pct']:.2f} % saved, misses {figures['misses']}"
    )


if __name__ == "__main__":
    main()
