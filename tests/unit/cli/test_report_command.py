"""carbon-kube report: one self-contained page with the run's numbers, written atomically."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from carbon_kube.cli.app import app, main
from carbon_kube.sim.outputs import read_outputs
from carbon_kube.sim.pages import PageFormat, build_report, render_html, write_report
from tests.builders import write_simulation_outputs

runner = CliRunner()


def test_html_report_is_self_contained_and_shows_every_policys_saving(
    default_simulation: Path, tmp_path: Path
) -> None:
    out = tmp_path / "page.html"
    result = runner.invoke(app, ["report", "--from", str(default_simulation), "--out", str(out)])
    assert result.exit_code == 0, result.output
    page = out.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>")
    # Nothing fetched when opened: no src/href other than data: URIs, no @import or url().
    assert re.findall(r'(?:src|href)="(?!data:)', page) == []
    assert "@import" not in page
    assert "url(" not in page
    assert page.count('src="data:image/png;base64,') == 2
    for summary in json.loads((default_simulation / "summary.json").read_text()):
        assert f"<td>{summary['policy']}</td>" in page
        assert f"<td>{summary['savings_pct']:.2f}</td>" in page


def test_markdown_report_defaults_to_report_md_in_the_folder(default_simulation: Path) -> None:
    result = runner.invoke(app, ["report", "--from", str(default_simulation), "--format", "md"])
    assert result.exit_code == 0, result.output
    page = (default_simulation / "report.md").read_text(encoding="utf-8")
    assert page.startswith("# Carbon-Kube savings: 500 jobs")
    # Code hosts do not show data: images in Markdown: the charts are PNG files beside it.
    assert "data:image" not in page
    for name in ("report-chart-1.png", "report-chart-2.png"):
        assert f"]({name})" in page
        assert (default_simulation / name).read_bytes().startswith(b"\x89PNG")
    assert "| spatiotemporal |" in page


def test_the_same_folder_renders_the_same_page(default_simulation: Path) -> None:
    outputs = read_outputs(default_simulation)
    first = render_html(build_report(outputs))
    assert render_html(build_report(outputs)) == first


def test_an_unknown_policy_is_one_line_and_exit_code_2(
    default_simulation: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["report", "--from", str(default_simulation), "--policy", "greenest"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: field '--policy': policy 'greenest' is not in this run")
    assert len(err.splitlines()) == 1


def test_a_folder_without_outputs_is_one_line_and_exit_code_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["report", "--from", str(tmp_path)])
    assert exit_info.value.code == 2
    assert "summary.json: missing" in capsys.readouterr().err


def test_names_from_the_files_are_escaped_in_html(tmp_path: Path) -> None:
    hostile = "<script>alert(1)</script>"
    folder = write_simulation_outputs(
        tmp_path / "sim",
        [
            {
                "job_id": "a",
                "policy": "carbon-agnostic",
                "zone": "DE",
                "start": "2020-01-01T00:00:00Z",
                "end": "2020-01-01T01:00:00Z",
                "energy_kwh": 1.0,
                "co2_g": 300.0,
            },
            {
                "job_id": "a",
                "policy": hostile,
                "zone": "FR",
                "start": "2020-01-01T03:00:00Z",
                "end": "2020-01-01T04:00:00Z",
                "energy_kwh": 1.0,
                "co2_g": 50.0,
            },
        ],
        policies=("carbon-agnostic", hostile),
    )
    page = render_html(build_report(read_outputs(folder)))
    assert hostile not in page
    assert "&lt;script&gt;" in page


def test_a_failed_write_keeps_the_old_page_and_leaves_no_partial_file(
    default_simulation: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    report = build_report(read_outputs(default_simulation))
    target = tmp_path / "report.html"
    target.write_text("old page")

    def broken_replace(self: Path, other: Path) -> Path:
        raise OSError("disk full")

    monkeypatch.setattr(Path, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        write_report(target, report, PageFormat.HTML)
    monkeypatch.undo()
    assert target.read_text() == "old page"
    assert [p.name for p in tmp_path.iterdir()] == ["report.html"]


def test_report_help_explains_the_command() -> None:
    result = runner.invoke(app, ["report", "--help"])
    assert result.exit_code == 0
    assert "self-contained" in result.output
    assert "--from" in result.output
