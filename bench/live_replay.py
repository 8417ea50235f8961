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

from lab_replay import run_replay

TEST = "tests/integration/test_live_replay.py"


def main() -> None:
    figures = run_replay(TEST, "LIVE_REPLAY_OUT")
    print(
        f"live replay: lab {figures['lab_saved_pct']:.2f} % saved, simulator "
        f"{figures['simulator_saved_pct']:.2f} % saved, misses {figures['misses']}"
    )


if __name__ == "__main__":
    main()
