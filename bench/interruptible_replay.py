"""Interruptible jobs of a real trace through the lab vs the simulator (issue 17's figure).

Runs tests/integration/test_interruptible_replay.py (the first day of GAIA's pai_1k, 143 jobs,
every one interruptible, on the virtual clock at speed-up 720 against the embedded 2020 DE
intensity: the real webhook plans their segments, the real controller pauses and resumes them
with spec.suspend through the real Job controller) and prints its figures. Needs the lab's
binaries (make lab-binaries) and ../shared/data. The last line is exactly

    interruptible: lab X.XX % saved, simulator Y.YY % saved, pauses N, misses N

(goal: |X - Y| <= 1.0 and 0 misses).

    .venv/bin/python bench/interruptible_replay.py
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TEST = "tests/integration/test_interruptible_replay.py"


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="interruptible-replay-") as folder:
        out = Path(folder) / "figures.json"
        env = {**os.environ, "INTERRUPTIBLE_REPLAY_OUT": str(out)}
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
        if isinstance(value, list):
            print(f"{key}:")
            for entry in value:
                print(f"  {json.dumps(entry)}")
            continue
        print(f"{key}: {value:.2f}" if isinstance(value, float) else f"{key}: {value}")
    print(
        f"interruptible: lab {figures['lab_saved_pct']:.2f} % saved, simulator "
        f"{figures['simulator_saved_pct']:.2f} % saved, pauses {figures['pauses']}, "
        f"misses {figures['misses']}"
    )


if __name__ == "__main__":
    main()
