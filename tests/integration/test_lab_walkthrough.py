"""The README's first-screen walkthrough, run exactly as written, against a lab it starts.

``lab up --install`` must make Carbon-Kube visible to a new user with nothing but kubectl: the
example Job held (STATUS Suspended, the plan in its annotations), then released by the
in-lab controller on the virtual clock, and what the controller counted exported from the lab's
Prometheus. The block is read from README.md between its markers,
so the README cannot drift from what is tested. Only the lab's state directory is redirected
(through the variable ``lab env`` exports), so a lab of the user's own is never touched.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from datetime import timedelta
from pathlib import Path

import pandas as pd
import pytest

from carbon_kube.cli.lab import default_bin_dir
from carbon_kube.domain.annotations import DECIDED_AT, LATEST_START, PREFIX, RELEASE_AT
from carbon_kube.domain.instants import parse_rfc3339
from carbon_kube.lab.install import INSTALLED_COMPONENTS
from carbon_kube.lab.state import read_state
from tests.install_steps import missing_install_step
from tests.integration.conftest import LAB_BINARIES
from tests.paths import REPO_ROOT
from tests.prometheus_tools import require_binary

pytestmark = pytest.mark.lab

BASH = shutil.which("bash") or "/bin/bash"

_BLOCK = re.compile(
    r"<!-- walkthrough: (?P<name>[a-z-]+) .*?-->\s*```bash\n(?P<script>.*?)```", re.DOTALL
)


def readme_walkthrough(name: str) -> str:
    """The bash block README.md marks ``<!-- walkthrough: NAME ... -->``."""
    blocks = {
        m["name"]: m["script"] for m in _BLOCK.finditer((REPO_ROOT / "README.md").read_text())
    }
    assert name in blocks, f"README.md lost its {name!r} walkthrough (has {sorted(blocks)})"
    return blocks[name]


def run_walkthrough(name: str, tmp_path: Path) -> str:
    """Run the block in bash from the repository root; its stdout (the transcript on failure)."""
    missing = [n for n in (*LAB_BINARIES, "kubectl") if not (default_bin_dir() / n).is_file()]
    if missing:
        missing_install_step(
            f"lab binaries {missing} missing in {default_bin_dir()}: run hack/lab/build.sh"
        )
    state_dir = tmp_path / "state"
    env = {**os.environ, "CARBON_KUBE_LAB_STATE_DIR": str(state_dir), "COLUMNS": "200"}
    env.pop("KUBECONFIG", None)
    try:
        run = subprocess.run(  # noqa: S603 - the README's own commands
            [BASH, "-euo", "pipefail", "-c", readme_walkthrough(name)],
            cwd=REPO_ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
    finally:
        if read_state(state_dir) is not None:
            subprocess.run(  # noqa: S603 - our own CLI
                [
                    str(REPO_ROOT / ".venv" / "bin" / "carbon-kube"),
                    "lab",
                    "down",
                    "--state-dir",
                    str(state_dir),
                ],
                check=False,
            )
    transcript = run.stdout + run.stderr
    assert run.returncode == 0, transcript[-6000:]
    for component in INSTALLED_COMPONENTS:
        assert component in run.stdout, "lab up should say Carbon-Kube runs as host processes"
    # `lab down` stopped every process it recorded and removed the state directory.
    assert not state_dir.exists()
    return run.stdout


def test_the_readme_walkthrough_holds_the_example_job_and_releases_it(tmp_path: Path) -> None:
    require_binary("prometheus")
    stdout = run_walkthrough("job", tmp_path)

    header, rows = _table(stdout, "COMPLETIONS")
    job = rows[0]
    assert job[header.index("NAME")] == "nightly-report"
    plan = dict(
        line.strip().split(": ", 1)
        for line in stdout.splitlines()
        if line.startswith(f"    {PREFIX}") and ": " in line
    )
    assert LATEST_START in plan, stdout
    assert _held_or_due_at_once(
        job[header.index("STATUS")] == "Suspended", plan[DECIDED_AT], plan[RELEASE_AT]
    ), "the webhook did not hold the Job"
    assert "job.batch/nightly-report condition met" in stdout
    # The lab's Prometheus scraped the controller: the export holds what it counted.
    samples = pd.read_csv(REPO_ROOT / "out" / "lab-metrics" / "samples.csv")
    baseline = samples[samples["query"] == "baseline_grams"]["value"]
    assert len(baseline) > 0, "the controller's counters were not scraped"
    assert baseline.max() > 0


def test_the_readme_walkthrough_holds_the_spark_and_flink_examples_and_releases_them(
    tmp_path: Path,
) -> None:
    stdout = run_walkthrough("spark-and-flink", tmp_path)

    header, rows = _table(stdout, "SUSPEND")
    by_kind = {row[header.index("KIND")]: row for row in rows}
    held = {
        "SparkApplication": by_kind["SparkApplication"][header.index("SUSPEND")] == "true",
        "FlinkDeployment": by_kind["FlinkDeployment"][header.index("JOB-STATE")] == "suspended",
    }
    for kind, row in by_kind.items():
        decided, release = row[header.index("DECIDED-AT")], row[header.index("RELEASE-AT")]
        assert release != "<none>", f"the {kind} carries no plan"
        assert _held_or_due_at_once(held[kind], decided, release), f"the {kind} was not held"
    assert "sparkapplication.sparkoperator.k8s.io/spark-pi-nightly condition met" in stdout
    assert "flinkdeployment.flink.apache.org/flink-state-machine condition met" in stdout


def _held_or_due_at_once(held: bool, decided_at: str, release_at: str) -> bool:
    """Held when kubectl looked, or planned to start at once and released before it looked.

    At 600x the half second between `apply` and `get` is five virtual minutes: a plan whose
    window opens within ten is released by then, which is the plan, not a missed hold.
    """
    decided = parse_rfc3339(decided_at.strip('"'), "decided-at")
    release = parse_rfc3339(release_at.strip('"'), "release-at")
    return held or release - decided <= timedelta(minutes=10)


def _table(stdout: str, column: str) -> tuple[list[str], list[list[str]]]:
    """The kubectl table whose header has ``column``: its header and rows.

    Cells are cut at the header's column offsets (kubectl aligns them; an empty cell, such as a
    suspended Job's DURATION, is blank). The table ends at the next command's output.
    """
    lines = stdout.splitlines()
    for index, line in enumerate(lines):
        if column in line.split():
            starts = [match.start() for match in re.finditer(r"\S+", line)]
            bounds = list(zip(starts, [*starts[1:], None], strict=True))
            rows = []
            for row in lines[index + 1 :]:
                if not row or row[0].isspace() or row.endswith("condition met"):
                    break
                rows.append([row[start:end].strip() for start, end in bounds])
            return line.split(), rows
    raise AssertionError(f"no table with {column} in:\n{stdout}")
