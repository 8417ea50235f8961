"""The sample workloads in examples/, loaded for the unit and lab tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

EXAMPLES_DIR = Path(__file__).parents[1] / "examples"
EXAMPLE_FILES = ("batch-job.yaml", "flink-job.yaml", "spark-job.yaml")


def load_example(name: str) -> dict[str, Any]:
    """The one object in ``examples/<name>`` (each example file holds exactly one)."""
    documents = [d for d in yaml.safe_load_all((EXAMPLES_DIR / name).read_text()) if d]
    assert len(documents) == 1, f"{name} should hold one object, found {len(documents)}"
    document: dict[str, Any] = documents[0]
    return document
