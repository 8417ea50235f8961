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

from lab_replay import run_replay

TEST = "tests/integration/test_interruptible_replay.py"


def main() -> None:
    figures = run_replay(TEST, "INTERRUPTIBLE_REPLAY_OUT")
    print(
        f"interruptible: lab {figures['lab_saved_pct']:.2f} % saved, simulator "
        f"{figures['simulator_saved_pct']:.2f} % saved, pauses {figures['pauses']}, "
        f"misses {figures['misses']}"
    )


if __name__ == "__main__":
    main()
