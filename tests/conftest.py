"""Shared fixtures: the path to ../shared/data (real traces), skipped where it is absent."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

SHARED_DATA = Path(
    os.environ.get("CARBON_KUBE_SHARED_DATA", Path(__file__).parents[2] / "shared" / "data")
)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real traces not found at {SHARED_DATA} (set CARBON_KUBE_SHARED_DATA)")
    return SHARED_DATA
