"""notebooks/plot_savings.ipynb runs top to bottom on the embedded default and draws its charts.

Executed with nbclient in a real IPython kernel (the project's venv), so an API change that
breaks the notebook breaks this test. The committed file carries no outputs.
"""

from __future__ import annotations

import os
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from tests.paths import REPO_ROOT

# Starts an external tool (a Jupyter kernel, reached over loopback ZMQ): kept out of `make unit`.
pytestmark = [pytest.mark.slow, pytest.mark.loopback]

NOTEBOOK = REPO_ROOT / "notebooks" / "plot_savings.ipynb"


def test_committed_notebook_has_its_outputs_stripped() -> None:
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    nbformat.validate(notebook)
    for cell in notebook.cells:
        if cell.cell_type == "code":
            assert cell.outputs == []
            assert cell.execution_count is None


def test_notebook_draws_bars_and_zone_timelines_from_the_default_simulation(
    default_simulation: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CARBON_KUBE_SIM_DIR", str(default_simulation))
    # jupyter_core warns about its path migration unless told which one to use.
    monkeypatch.setenv("JUPYTER_PLATFORM_DIRS", "1")
    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    client = NotebookClient(
        notebook,
        kernel_name="python3",
        timeout=300,
        resources={"metadata": {"path": str(tmp_path)}},
    )
    client.execute()
    outputs = [
        output for cell in notebook.cells if cell.cell_type == "code" for output in cell.outputs
    ]
    assert not [o for o in outputs if o.output_type == "error"]
    images = [o for o in outputs if "image/png" in o.get("data", {})]
    assert len(images) == 2
    text = "".join(o.get("text", "") for o in outputs if o.output_type == "stream")
    assert "500 jobs" in text
    assert "kg in summary.json" in text
    assert os.environ["CARBON_KUBE_SIM_DIR"] in text
