"""The HTML report renders in a real browser: Debian's headless Chromium takes a screenshot.

Skipped locally when ``chromium`` is missing (install it with hack/ensure-chromium.sh); a failure
in CI (CI set), which is expected to run that script first.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from carbon_kube.sim.outputs import read_outputs
from carbon_kube.sim.pages import PageFormat, build_report, write_report

# Starts an external tool (Chromium, a Jupyter kernel): kept out of `make unit`.
pytestmark = pytest.mark.slow

# sim.plots draws the policy bars in this colour; seeing it proves the embedded PNG decoded.
BAR_RGB = (0x4C, 0x72, 0xB0)
WINDOW = (1280, 2200)


def chromium() -> str:
    path = shutil.which("chromium")
    if path is None:
        message = "chromium not found: run hack/ensure-chromium.sh (Debian package chromium)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return path


def screenshot(page: Path, out: Path, profile: Path) -> Image.Image:
    shot = out / "screenshot.png"
    subprocess.run(  # noqa: S603 - fixed argument list, no shell; the binary is Debian's chromium
        [
            chromium(),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--no-first-run",
            f"--user-data-dir={profile}",
            f"--window-size={WINDOW[0]},{WINDOW[1]}",
            f"--screenshot={shot}",
            page.as_uri(),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    return Image.open(shot).convert("RGB")


def test_html_report_renders_with_its_charts_in_headless_chromium(
    default_simulation: Path, tmp_path: Path
) -> None:
    page = tmp_path / "report.html"
    write_report(page, build_report(read_outputs(default_simulation)), PageFormat.HTML)
    pixels = np.asarray(screenshot(page, tmp_path, tmp_path / "profile"))
    assert pixels.shape[:2] == (WINDOW[1], WINDOW[0])
    # Not blank: plenty of ink on the page background.
    background = np.array([0xFA, 0xFA, 0xFA])
    ink = np.abs(pixels.astype(int) - background).sum(axis=2) > 60
    assert ink.mean() > 0.02
    # The bar chart was decoded and drawn: a real area of its bar colour.
    bars = (np.abs(pixels.astype(int) - np.array(BAR_RGB)).sum(axis=2) < 12).sum()
    assert bars > 5_000


def test_a_page_without_charts_would_fail_the_bar_check(tmp_path: Path) -> None:
    """The colour check above can fail: a page with an empty table shows no bar colour."""
    page = tmp_path / "empty.html"
    page.write_text("<!DOCTYPE html><html><body><table><tr><td>x</td></tr></table></body></html>")
    pixels = np.asarray(screenshot(page, tmp_path, tmp_path / "profile"))
    bars = (np.abs(pixels.astype(int) - np.array(BAR_RGB)).sum(axis=2) < 12).sum()
    assert bars == 0
