"""Run one lab replay test in its own pytest process and return the figures it wrote.

The replay benches (``interruptible_replay.py``, ``live_replay.py``) are each a lab test that
writes its figures to the JSON file named by an environment variable; this runs it, reads the
file and prints every figure, so each bench only adds its own last line.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def run_replay(test: str, out_env: str) -> dict[str, Any]:
    """Run ``test`` (marker ``lab``) with ``out_env`` naming a temp file; its figures, printed."""
    with tempfile.TemporaryDirectory(prefix="lab-replay-") as folder:
        out = Path(folder) / "figures.json"
        env = {**os.environ, out_env: str(out)}
        command = [
            sys.executable,
            "-m",
            "pytest",
            test,
            "-q",
            "-m",
            "lab",
            "-p",
            "no:cacheprovider",
        ]
        result = subprocess.run(command, cwd=ROOT, env=env, check=False)  # noqa: S603
        if not out.exists():
            raise SystemExit(f"the replay wrote no figures (pytest exit {result.returncode})")
        figures: dict[str, Any] = json.loads(out.read_text())
    for key, value in figures.items():
        if isinstance(value, list):
            print(f"{key}:")
            for entry in value:
                print(f"  {json.dumps(entry)}")
            continue
        print(f"{key}: {value:.2f}" if isinstance(value, float) else f"{key}: {value}")
    return figures
