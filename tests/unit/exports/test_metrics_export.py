"""``carbon-kube metrics export`` against a real Prometheus, and the notebook on its output.

The Prometheus is Debian's, serving a TSDB that ``promtool tsdb create-blocks-from
openmetrics`` built from an OpenMetrics file this test writes: two controller instances over
two hours, one of which restarts halfway (its counters drop to a small value), two zones'
intensity and the held-work gauge. The counters grow by known amounts per minute, so the
export's totals have exact expected values; the notebook then draws from the export.
"""

from __future__ import annotations

import math
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import nbformat
import pandas as pd
import pytest
from nbclient import NotebookClient
from typer.testing import CliRunner

from carbon_kube.cli.app import app
from carbon_kube.domain.errors import InputError
from carbon_kube.exports.files import (
    MANIFEST,
    SAMPLES,
    counter_increase,
    is_metrics_export,
    read_metrics_export,
)
from carbon_kube.exports.queries import QUERIES
from carbon_kube.exports.summaries import net_saved_by_lever_kg, savings_by_kind
from carbon_kube.lab.processes import (
    free_loopback_ports,
    start_process,
    stop_process,
    wait_until_ready,
)
from tests.paths import REPO_ROOT
from tests.prometheus_tools import require_binary, run_promtool

# Some tests run Debian's Prometheus on loopback and query it over HTTP.
pytestmark = pytest.mark.loopback

NOTEBOOK = REPO_ROOT / "notebooks" / "plot_savings.ipynb"
MINUTES = 120
RESTART_AT = 60  # minute at which instance "b" restarts
# Grams per minute: (metric, labels, instance) -> increment.
PER_MINUTE = {
    ("carbon_kube_counterfactual_emissions_grams_total", 'kind="job"', "a"): 100.0,
    ("carbon_kube_job_emissions_grams_sum", 'kind="job"', "a"): 70.0,
    ("carbon_kube_avoided_emissions_grams_total", 'kind="job",lever="time"', "a"): 30.0,
    ("carbon_kube_counterfactual_emissions_grams_total", 'kind="spark"', "b"): 50.0,
    ("carbon_kube_job_emissions_grams_sum", 'kind="spark"', "b"): 40.0,
    ("carbon_kube_avoided_emissions_grams_total", 'kind="spark",lever="region"', "b"): 12.0,
    ("carbon_kube_excess_emissions_grams_total", 'kind="spark",lever="time"', "b"): 2.0,
}


def _counter_value(per_minute: float, instance: str, minute: int) -> float:
    """As scraped: instance b's counters restart from zero and have one minute's worth."""
    if instance == "b" and minute >= RESTART_AT:
        return per_minute * (minute - RESTART_AT + 1)
    return per_minute * minute


def _openmetrics(first: datetime) -> str:
    lines: list[str] = []
    families: dict[str, list[str]] = {}
    for (metric, labels, instance), per_minute in PER_MINUTE.items():
        for minute in range(MINUTES + 1):
            at_s = int((first + timedelta(minutes=minute)).timestamp())
            value = _counter_value(per_minute, instance, minute)
            families.setdefault(metric, []).append(
                f'{metric}{{{labels},instance="{instance}",job="controller"}} {value} {at_s}'
            )
    for minute in range(MINUTES + 1):
        at_s = int((first + timedelta(minutes=minute)).timestamp())
        for zone, mean, swing in (("DE", 350.0, 120.0), ("FR", 50.0, 20.0)):
            value = mean + swing * math.sin(2 * math.pi * minute / MINUTES)
            families.setdefault("carbon_kube_zone_intensity_g_per_kwh", []).append(
                f'carbon_kube_zone_intensity_g_per_kwh{{zone="{zone}",provider="embedded",'
                f'instance="a",job="extender"}} {value:.3f} {at_s}'
            )
        families.setdefault("carbon_kube_held_workloads", []).append(
            f'carbon_kube_held_workloads{{kind="pod",instance="a",job="controller"}} '
            f"{minute % 7} {at_s}"
        )
    for samples in families.values():
        lines.extend(samples)
    return "\n".join([*lines, "# EOF", ""])


@pytest.fixture(scope="module")
def backfilled_prometheus(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[str, datetime]]:
    """A Prometheus serving the OpenMetrics history; yields its URL and the first instant."""
    prometheus = require_binary("prometheus")
    work = tmp_path_factory.mktemp("backfill")
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    first = now - timedelta(hours=4)
    source = work / "history.om"
    source.write_text(_openmetrics(first))
    tsdb = work / "tsdb"
    result = run_promtool("tsdb", "create-blocks-from", "openmetrics", source, tsdb)
    assert result.returncode == 0, result.stdout + result.stderr
    config = work / "prometheus.yml"
    config.write_text("global:\n  scrape_interval: 1m\n")
    (port,) = free_loopback_ports(1)
    url = f"http://127.0.0.1:{port}"
    process = start_process(
        "prometheus",
        prometheus,
        [f"--config.file={config}", f"--storage.tsdb.path={tsdb}",
         "--storage.tsdb.retention.time=10y", f"--web.listen-address=127.0.0.1:{port}",
         "--log.level=warn"],
        work / "logs",
    )  # fmt: skip

    def ready() -> bool:
        try:
            return httpx.get(f"{url}/-/ready", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    try:
        wait_until_ready(process, ready, timedelta(seconds=60), what="serving")
        yield url, first
    finally:
        stop_process(process)


@pytest.fixture(scope="module")
def export_dir(
    backfilled_prometheus: tuple[str, datetime], tmp_path_factory: pytest.TempPathFactory
) -> Path:
    url, first = backfilled_prometheus
    out = tmp_path_factory.mktemp("export") / "metrics"
    last = first + timedelta(minutes=MINUTES)
    result = CliRunner().invoke(
        app,
        ["metrics", "export", "--prometheus", url, "--start", first.isoformat(),
         "--end", last.isoformat(), "--step", "1m", "--out", str(out)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert f"wrote {out}" in result.output
    return out


def test_the_export_holds_a_manifest_and_every_query_with_its_samples(export_dir: Path) -> None:
    assert is_metrics_export(export_dir)
    assert sorted(p.name for p in export_dir.iterdir()) == sorted([MANIFEST, SAMPLES])
    export = read_metrics_export(export_dir)
    manifest = export.manifest
    assert manifest["step_seconds"] == 60
    assert [q["name"] for q in manifest["queries"]] == [q.name for q in QUERIES]
    series = {q["name"]: q["series"] for q in manifest["queries"]}
    assert series == {
        "baseline_grams": 2,
        "carbon_aware_grams": 2,
        "avoided_grams": 2,
        "excess_grams": 1,
        "zone_intensity_g_per_kwh": 2,
        "held_workloads": 1,
    }
    # One sample per minute per series, both ends included.
    assert all(q["samples"] == q["series"] * (MINUTES + 1) for q in manifest["queries"])
    assert set(export.of("zone_intensity_g_per_kwh").zone) == {"DE", "FR"}


def test_exported_counter_totals_equal_the_recorded_growth_across_a_restart(
    export_dir: Path,
) -> None:
    export = read_metrics_export(export_dir)
    table = savings_by_kind(export)
    assert table.loc["job", "baseline_kg"] == pytest.approx(100 * MINUTES / 1000)
    assert table.loc["job", "carbon_aware_kg"] == pytest.approx(70 * MINUTES / 1000)
    # Instance b restarted: a naive last - first would give 50 g instead of 6000 g.
    assert table.loc["spark", "baseline_kg"] == pytest.approx(50 * MINUTES / 1000)
    assert table.loc["spark", "savings_pct"] == pytest.approx(20.0)
    net = net_saved_by_lever_kg(export)
    assert net.to_dict() == pytest.approx(
        {"time": (30 - 2) * MINUTES / 1000, "region": 12 * MINUTES / 1000}
    )
    assert float(table["saved_kg"].sum()) == pytest.approx(float(net.sum()))


def test_counter_increase_counts_a_drop_as_a_restart_from_zero() -> None:
    samples = pd.DataFrame(
        {
            "series": ["s"] * 5,
            "timestamp": pd.date_range("2026-01-01", periods=5, freq="min", tz="UTC"),
            "value": [10.0, 15.0, 3.0, 4.0, 9.0],
        }
    )
    assert list(counter_increase(samples)["increase"]) == [0.0, 5.0, 3.0, 1.0, 5.0]


def test_the_notebook_draws_bars_and_zone_timelines_from_a_metrics_export(
    export_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("CARBON_KUBE_SIM_DIR", raising=False)
    monkeypatch.setenv("CARBON_KUBE_INPUT_DIR", str(export_dir))
    monkeypatch.setenv("JUPYTER_PLATFORM_DIRS", "1")
    monkeypatch.setenv("MPLBACKEND", "module://matplotlib_inline.backend_inline")
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    NotebookClient(
        notebook,
        kernel_name="python3",
        timeout=300,
        resources={"metadata": {"path": str(tmp_path)}},
    ).execute()
    outputs = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    assert len([o for o in outputs if "image/png" in o.get("data", {})]) == 2
    text = "".join(o.get("text", "") for o in outputs if o.output_type == "stream")
    assert f"{export_dir}: metrics export of http://127.0.0.1:" in text
    saved_kg = (100 - 70 + 50 - 40) * MINUTES / 1000
    assert (
        f"baseline - carbon-aware: {saved_kg:.4f} kg; avoided - excess: {saved_kg:.4f} kg" in text
    )


def test_exporting_into_a_non_empty_folder_is_refused_without_overwrite(
    backfilled_prometheus: tuple[str, datetime], tmp_path: Path
) -> None:
    url, first = backfilled_prometheus
    out = tmp_path / "metrics"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    args = ["metrics", "export", "--prometheus", url, "--start", first.isoformat(),
            "--end", (first + timedelta(minutes=10)).isoformat(), "--out", str(out)]  # fmt: skip
    refused = CliRunner().invoke(app, args)
    assert isinstance(refused.exception, InputError)
    assert "not empty (pass --overwrite)" in str(refused.exception)
    assert (out / "keep.txt").read_text() == "mine"
    replaced = CliRunner().invoke(app, [*args, "--overwrite"])
    assert replaced.exit_code == 0, replaced.output
    assert sorted(p.name for p in out.iterdir()) == sorted([MANIFEST, SAMPLES])
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".metrics")]


def test_an_unreachable_prometheus_is_one_line_and_exit_3_and_writes_nothing(
    tmp_path: Path,
) -> None:
    (port,) = free_loopback_ports(1)
    result = subprocess.run(  # noqa: S603 - our own CLI
        [str(Path(sys.executable).parent / "carbon-kube"), "metrics", "export",
         "--prometheus", f"http://127.0.0.1:{port}", "--start", "2026-01-01",
         "--end", "2026-01-02", "--out", str(tmp_path / "out")],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 3  # a network source failed, as in `intensity fetch`
    assert result.stderr.strip().startswith("error: prometheus: cannot reach Prometheus at")
    assert len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "out").exists()


def test_reading_a_simulator_folder_as_a_metrics_export_is_an_input_error(
    tmp_path: Path,
) -> None:
    assert not is_metrics_export(tmp_path)
    with pytest.raises(InputError, match=r"manifest\.json missing"):
        read_metrics_export(tmp_path)
    (tmp_path / MANIFEST).write_text('{"format": "something-else", "version": 1}')
    with pytest.raises(InputError, match="not a carbon-kube-metrics-export"):
        read_metrics_export(tmp_path)
