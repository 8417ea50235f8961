"""What starting ``carbon-kube`` costs: ``--version``, ``--help`` and every command's ``--help``.

Goal (issue 15): ``--version`` and ``--help`` under 0.3 s. Each figure is the median of
``--repeat`` fresh processes, wall and CPU (user + system of the child), on this machine; the
commands' own ``--help`` import that command's libraries (pandas for most), so they show what
a command costs before it does any work. Figures, not pass/fail.

    .venv/bin/python bench/cli_startup.py [--repeat 5]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

from carbon_kube.cli.reference import leaf_commands

CLI = str(Path(sys.executable).parent / "carbon-kube")
GOAL_S = 0.3


def measure(args: list[str], repeat: int) -> tuple[float, float]:
    """Median wall and CPU seconds of ``carbon-kube ARGS`` over ``repeat`` runs."""
    walls, cpus = [], []
    for _ in range(repeat):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        began = time.perf_counter()
        subprocess.run(  # noqa: S603 - our own CLI
            [CLI, *args], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True
        )
        walls.append(time.perf_counter() - began)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpus.append((after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime))
    return statistics.median(walls), statistics.median(cpus)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    repeat = parser.parse_args().repeat
    os.environ.pop("CARBON_KUBE_CONFIG", None)
    rows = [["--version"], ["--help"], *([*path, "--help"] for path, _ in leaf_commands())]
    print(f"{'carbon-kube ...':<34} {'wall s':>7} {'cpu s':>7}")
    figures = {}
    for args in rows:
        wall, cpu = measure(args, repeat)
        figures[" ".join(args)] = wall
        print(f"{' '.join(args):<34} {wall:7.2f} {cpu:7.2f}")
    worst = max(figures, key=lambda name: figures[name])
    print(
        f"--version {figures['--version']:.2f} s, --help {figures['--help']:.2f} s "
        f"(goal < {GOAL_S} s); slowest command help: {worst} {figures[worst]:.2f} s"
    )


if __name__ == "__main__":
    main()
