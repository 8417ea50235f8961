"""A tool or download the tests need and did not find: skipped locally, a failure in CI.

`make test` (what `.ci/run` runs) installs every such thing first, so under CI=true a missing
one is a broken setup, never a reason to skip.
"""

from __future__ import annotations

import os
from typing import NoReturn

import pytest


def missing_install_step(message: str) -> NoReturn:
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)
