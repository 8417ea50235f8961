"""Debian's ``promtool`` and ``prometheus`` for tests, and helpers that drive promtool.

Missing binaries skip the test with the command that installs them, except under CI=true
where `.ci/run` (``make test``) runs hack/ensure-prometheus.sh first, so a missing binary is a
broken setup and fails.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Iterable, Mapping
from pathlib import Path

import yaml
from prometheus_client import Counter, Gauge, Histogram

from carbon_kube.dashboards import series
from carbon_kube.observability import metrics
from tests.install_steps import missing_install_step

REPO = Path(__file__).parents[1]
RULES = REPO / "deploy" / "prometheus" / "rules.yaml"
RULES_TESTS = REPO / "deploy" / "prometheus" / "rules_test.yaml"
DASHBOARD_DIR = REPO / "dashboards"
METRIC_NAME = re.compile(r"\bcarbon_kube_[a-z0-9_]+")


def require_binary(name: str) -> Path:
    found = shutil.which(name)
    if found is None:
        missing_install_step(
            f"{name} not found: run hack/ensure-prometheus.sh as root (apt-get install prometheus)"
        )
    return Path(found)


def run_promtool(*args: str | Path) -> subprocess.CompletedProcess[str]:
    promtool = require_binary("promtool")
    return subprocess.run(  # noqa: S603 - our own arguments, no shell
        [str(promtool), *map(str, args)], capture_output=True, text=True, timeout=120, check=False
    )


def check_as_recording_rules(expressions: Mapping[str, str], rules_file: Path) -> None:
    """Wrap each expression as a recording rule and fail unless ``promtool check rules`` passes."""
    rules = [
        {"record": f"carbon_kube_check:expr_{number}", "expr": expr}
        for number, expr in enumerate(expressions.values())
    ]
    rules_file.write_text(yaml.safe_dump({"groups": [{"name": "check", "rules": rules}]}))
    result = run_promtool("check", "rules", rules_file)
    listing = "\n".join(
        f"expr_{number} ({where}): {expr}"
        for number, (where, expr) in enumerate(expressions.items())
    )
    assert result.returncode == 0, (
        f"promtool rejected an expression:\n{result.stdout}{result.stderr}\n{listing}"
    )


def exported_sample_names() -> set[str]:
    """Every sample name ``observability.metrics`` can expose, suffixes included."""
    names: set[str] = set()
    for value in vars(metrics).values():
        if isinstance(value, Counter):
            names.add(series.counter(value))
        elif isinstance(value, Gauge):
            names.add(series.gauge(value))
        elif isinstance(value, Histogram):
            names.update(series.histogram(value, part) for part in ("bucket", "sum", "count"))
    return names


def unknown_metric_names(texts: Iterable[str]) -> set[str]:
    used = {name for text in texts for name in METRIC_NAME.findall(text)}
    return used - exported_sample_names()
