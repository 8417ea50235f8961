"""Each class of user mistake, tried on every command that has that kind of argument.

The commands and options are enumerated from the typer app (tests/cli_tree.py): a new command,
or a new option of an existing kind, is tested here without a new test. Where a class needs a
command to run for real (output formats, file permissions), a recipe per command says how;
a command with that kind of option and no recipe fails the test until it gets one or a reason.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import os
import re
import stat
import subprocess
import sys
import typing
from collections.abc import Callable, Iterator
from pathlib import Path

import jsonschema
import pytest

from carbon_kube.cli.app import main
from carbon_kube.cli.paths import PathRole
from carbon_kube.cli.schemas import CSV_COLUMNS, OUTPUT_SCHEMAS
from carbon_kube.cli.settings_sources import environment_variable
from tests.cli_tree import CommandOption, commands_with, leaf_commands, options

Run = tuple[int, str, str]


@pytest.fixture(autouse=True)
def _no_settings_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith("CARBON_KUBE_") or name == "KUBECONFIG":
            monkeypatch.delenv(name)


def run(capsys: pytest.CaptureFixture[str], *args: str | Path) -> Run:
    with pytest.raises(SystemExit) as exit_info:
        main([str(arg) for arg in args])
    out, err = capsys.readouterr()
    code = exit_info.value.code
    return (code if isinstance(code, int) else 1), out, err


def assert_one_line_error(result: Run, *wanted: str) -> None:
    code, _, err = result
    assert code == 2, err
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("error: "), err
    for text in wanted:
        assert text in lines[0], lines[0]


def ids(items: list[tuple[CommandOption, str]]) -> list[str]:
    return [f"{item}:{case}" for item, case in items]


# -- every path option declares what it is -----------------------------------------------------


def test_every_path_option_declares_its_role() -> None:
    undeclared = [
        str(item)
        for item in options()
        if "Path" in str(item.annotation) and item.role is None and item.flag != "--config"
    ]
    assert undeclared == []


# -- outputs that cannot be written ------------------------------------------------------------

_OUTPUTS = [
    *((item, case) for item in options(role=PathRole.OUTPUT_FILE) for case in
      ("proc", "under-a-file", "a-folder")),
    *((item, case) for item in options(role=PathRole.OUTPUT_FOLDER) for case in
      ("proc", "under-a-file", "a-file")),
]  # fmt: skip


def _bad_output(case: str, tmp_path: Path) -> Path:
    a_file = tmp_path / "a-file"
    a_file.write_text("taken")
    return {
        "proc": Path("/proc/carbon-kube-test/out"),
        "under-a-file": a_file / "out",
        "a-file": a_file,
        "a-folder": tmp_path,
    }[case]


@pytest.mark.parametrize(("item", "case"), _OUTPUTS, ids=ids(_OUTPUTS))
def test_an_output_that_cannot_be_written_is_one_line_and_exit_2(
    item: CommandOption, case: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = _bad_output(case, tmp_path)
    before = sorted(tmp_path.iterdir())

    result = run(capsys, *item.command, item.flag, target)

    assert_one_line_error(result, str(target))
    assert sorted(tmp_path.iterdir()) == before  # nothing written, not even a folder


def test_every_command_that_writes_has_an_output_option_tested() -> None:
    assert {str(item) for item, _ in _OUTPUTS} >= {
        "simulate --out",
        "traces convert --out",
        "intensity show --plot",
        "forecast show --plot",
        "forecast backtest --out",
        "dashboards generate --out",
        "report --out",
        "metrics export --out",
    }


# -- input files that cannot be read -----------------------------------------------------------

_FILE_CASES = ("missing", "a-folder", "not-gzip", "truncated-gzip")
_INPUTS = [
    *((item, case) for item in options(role=PathRole.INPUT_FILE) for case in _FILE_CASES),
    *((item, case) for item in options(role=PathRole.INPUT_TEXT) for case in
      (*_FILE_CASES, "binary")),
    *((item, "missing") for item in options(role=PathRole.INPUT_PATH)),
]  # fmt: skip

_EXPECTED_INPUT_ERROR = {
    "missing": "file not found",
    "a-folder": "is a folder",
    "not-gzip": "not a gzip file",
    "truncated-gzip": "truncated",
    "binary": "not UTF-8 text",
}


def _bad_input(case: str, tmp_path: Path) -> Path:
    if case == "missing":
        return tmp_path / "absent.csv"
    if case == "a-folder":
        folder = tmp_path / "folder.csv"
        folder.mkdir()
        return folder
    if case == "binary":
        path = tmp_path / "binary.csv"
        path.write_bytes(b"job_id\x00\xff\xfe\x01" * 64)
        return path
    path = tmp_path / "data.csv.gz"
    whole = gzip.compress(b"timestamp,zone,g_per_kwh\n" + b"2020-01-01T00:00:00Z,DE,300\n" * 4000)
    path.write_bytes(b"plain text, not gzip\n" if case == "not-gzip" else whole[: len(whole) // 2])
    return path


@pytest.mark.parametrize(("item", "case"), _INPUTS, ids=ids(_INPUTS))
def test_an_input_that_cannot_be_read_is_one_line_and_exit_2(
    item: CommandOption, case: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = _bad_input(case, tmp_path)
    expected = "not found" if item.role is PathRole.INPUT_PATH else _EXPECTED_INPUT_ERROR[case]

    result = run(capsys, *item.command, item.flag, source)

    assert_one_line_error(result, str(source), expected)


# -- absurd values -----------------------------------------------------------------------------


def _numeric(item: CommandOption) -> type | None:
    kinds = {item.annotation, *typing.get_args(item.annotation)} & {int, float}
    return next(iter(kinds), None)


_NUMERIC = [item for item in options() if _numeric(item) is not None]


@pytest.mark.parametrize("item", _NUMERIC, ids=[str(item) for item in _NUMERIC])
def test_an_absurd_number_is_refused_naming_the_option(
    item: CommandOption, capsys: pytest.CaptureFixture[str]
) -> None:
    absurd = "1e300" if _numeric(item) is float else "1" + "0" * 30

    result = run(capsys, *item.command, item.flag, absurd)

    assert_one_line_error(result, item.flag)


def test_absurd_values_inside_files_are_refused_with_line_field_and_range(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    jobs = tmp_path / "jobs.csv"
    jobs.write_text("job_id,submit_time,duration_s,cpus\na,2020-01-01T00:00:00Z,3600,1e300\n")
    intensity = tmp_path / "intensity.csv"
    intensity.write_text("timestamp,zone,g_per_kwh\n2020-01-01T00:00:00Z,DE,1e308\n")
    good = tmp_path / "good.csv"
    good.write_text(
        "timestamp,zone,g_per_kwh\n2020-01-01T00:00:00Z,DE,300\n2020-01-01T01:00:00Z,DE,280\n"
    )
    gaia = tmp_path / "gaia.csv"
    gaia.write_text("arrival_time,length,cpus\n0,1,1\n1e300,1,1\n")

    simulate = run(capsys, "simulate", "--jobs", jobs, "--intensity", good, "--out", tmp_path)
    assert_one_line_error(simulate, "jobs.csv:2", "cpus", "<= 1,000,000 vCPUs")
    show = run(capsys, "intensity", "show", "--zone", "DE", "--file", intensity)
    assert_one_line_error(show, "intensity.csv:2", "g_per_kwh", "<= 5,000 g/kWh")
    convert = run(
        capsys, "traces", "convert", "--format", "gaia", "--input", gaia,
        "--out", tmp_path / "o.csv",
    )  # fmt: skip
    assert_one_line_error(convert, "gaia.csv:3", "arrival_time", "ten years")
    assert not (tmp_path / "o.csv").exists()


# -- short rows --------------------------------------------------------------------------------


_SHORT_ROWS: dict[str, tuple[str, Callable[[Path], list[str | Path]]]] = {
    "simulate --jobs": (
        "job_id,submit_time,duration_s,cpus,zone\na,2020-01-01T00:00:00Z,3600,1\n",
        lambda f: ["simulate", "--jobs", f, "--intensity", f, "--out", f.parent / "o"],
    ),
    "intensity show --file": (
        "timestamp,zone,g_per_kwh\n2020-01-01T00:00:00Z,DE\n",
        lambda f: ["intensity", "show", "--zone", "DE", "--file", f],
    ),
    "zones --region-map": (
        "cloud,region,zone,note\naws,eu-central-1,DE\n",
        lambda f: ["zones", "--region-map", f],
    ),
    "traces convert --input": (
        "arrival_time,length,cpus\n0,1\n",
        lambda f: ["traces", "convert", "--format", "gaia", "--input", f, "--out", f.parent / "o"],
    ),
}


@pytest.mark.parametrize("case", sorted(_SHORT_ROWS))
def test_a_row_with_fewer_fields_than_the_header_names_its_line(
    case: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text, command = _SHORT_ROWS[case]
    source = tmp_path / "short.csv"
    source.write_text(text)

    result = run(capsys, *command(source))

    assert_one_line_error(result, "short.csv:2", "fewer than")


def test_every_csv_reader_checks_row_widths() -> None:
    """pandas pads short rows silently: every read_csv of user data must check first."""
    import ast

    unchecked = []
    for path in sorted(Path("src/carbon_kube").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for function in ast.walk(tree):
            if not isinstance(function, ast.FunctionDef):
                continue
            calls = [node for node in ast.walk(function) if isinstance(node, ast.Call)]
            names = {getattr(call.func, "attr", getattr(call.func, "id", "")) for call in calls}
            reads = [c for c in calls if getattr(c.func, "attr", "") == "read_csv"]
            header_only = all(any(k.arg == "nrows" for k in c.keywords) for c in reads)
            if reads and "check_row_widths" not in names and not header_only:
                unchecked.append(f"{path}:{function.name}")
    assert unchecked == []


# -- output for scripts and pipes --------------------------------------------------------------

# How to run each command that has -o/--output, with the embedded data, offline.
_RECIPES: dict[str, Callable[[Path], list[str | Path]]] = {
    "zones": lambda _: ["zones"],
    "intensity show": lambda _: ["intensity", "show", "--zone", "DE"],
    "forecast show": lambda _: [
        "forecast",
        "show",
        "--zone",
        "DE",
        "--source",
        "embedded",
        "--model",
        "seasonal-naive",
    ],
    "simulate": lambda tmp: ["simulate", "--default-jobs", "40", "--out", tmp / "sim"],
    "plan": lambda _: ["plan", "--zone", "DE", "--max-delay", "6h"],
}
# Needs a running lab: tests/integration/test_lab_lifecycle.py checks its -o json.
_RECIPE_ELSEWHERE = {"lab status"}


def test_every_command_with_an_output_format_has_a_recipe() -> None:
    assert commands_with("--output") == set(_RECIPES) | _RECIPE_ELSEWHERE
    assert set(OUTPUT_SCHEMAS) == commands_with("--output") == set(CSV_COLUMNS)


@pytest.mark.parametrize("command", sorted(_RECIPES))
def test_json_output_follows_the_documented_schema(
    command: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, *_RECIPES[command](tmp_path), "-o", "json")
    assert code == 0, err
    jsonschema.validate(json.loads(out), OUTPUT_SCHEMAS[command])


@pytest.mark.parametrize("command", sorted(_RECIPES))
def test_csv_output_has_the_documented_header_and_rows(
    command: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, *_RECIPES[command](tmp_path), "-o", "csv")
    assert code == 0, err
    reader = csv.DictReader(io.StringIO(out))
    rows = list(reader)
    assert tuple(reader.fieldnames or ()) == CSV_COLUMNS[command]
    assert rows
    assert all(None not in row for row in rows)  # no row wider than the header


@pytest.mark.parametrize("command", sorted(_RECIPES))
def test_piped_tables_are_not_cut(
    command: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, *_RECIPES[command](tmp_path))  # stdout is no terminal here
    assert code == 0, err
    assert "…" not in out
    assert "..." not in out


def test_piped_region_names_are_whole(capsys: pytest.CaptureFixture[str]) -> None:
    _, as_json, _ = run(capsys, "zones", "-o", "json")
    _, table, _ = run(capsys, "zones")
    for region in json.loads(as_json)["regions"]:
        assert re.search(rf"\b{re.escape(region['region'])}\b", table), region


_LEAVES = [" ".join(path) for path, _ in leaf_commands()]


@pytest.mark.parametrize("command", _LEAVES)
def test_piped_help_is_not_cut(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, *command.split(), "--help")
    assert code == 0
    assert "…" not in out
    assert "Usage: carbon-kube " + command in " ".join(out.split())


# -- permissions of written files --------------------------------------------------------------


def _gaia_trace(tmp: Path) -> Path:
    trace = tmp / "gaia.csv"
    trace.write_text("arrival_time,length,cpus\n0,1,2\n1,2,4\n")
    return trace


def _march_2020_de(tmp: Path) -> Path:
    """Two months of the embedded DE series as a long intensity CSV."""
    from carbon_kube.domain.instants import format_rfc3339
    from carbon_kube.providers.embedded import load_embedded_series

    series = load_embedded_series()["DE"]
    lines = ["timestamp,zone,g_per_kwh"]
    for index, value in enumerate(series.values_g_per_kwh[: 24 * 61]):
        lines.append(f"{format_rfc3339(series.start + index * series.step)},DE,{value:.3f}")
    path = tmp / "de-2020.csv"
    path.write_text("\n".join(lines) + "\n")
    return path


def _simulated(tmp: Path) -> Path:
    main_out = tmp / "for-report"
    with pytest.raises(SystemExit):
        main(["simulate", "--default-jobs", "40", "--out", str(main_out)])
    return main_out


# (command, option) -> a run that writes through that option into the given folder.
_WRITERS: dict[str, Callable[[Path, Path], list[str | Path]]] = {
    "simulate --out": lambda tmp, out: ["simulate", "--default-jobs", "40", "--out", out],
    "intensity show --plot": lambda tmp, out: [
        "intensity",
        "show",
        "--zone",
        "DE",
        "--plot",
        out / "de.png",
    ],
    "forecast show --plot": lambda tmp, out: [
        "forecast",
        "show",
        "--zone",
        "DE",
        "--source",
        "embedded",
        "--model",
        "seasonal-naive",
        "--plot",
        out / "forecast.png",
    ],
    "dashboards generate --out": lambda tmp, out: ["dashboards", "generate", "--out", out],
    "forecast backtest --out": lambda tmp, out: [
        "forecast",
        "backtest",
        "--intensity",
        _march_2020_de(tmp),
        "--zone",
        "DE",
        "--start",
        "2020-02-20",
        "--end",
        "2020-02-22",
        "--model",
        "persistence,seasonal-naive",
        "--out",
        out,
    ],
    "traces convert --out": lambda tmp, out: [
        "traces",
        "convert",
        "--format",
        "gaia",
        "--input",
        _gaia_trace(tmp),
        "--out",
        out / "jobs.csv",
    ],
    "report --out": lambda tmp, out: [
        "report",
        "--from",
        _simulated(tmp),
        "--format",
        "md",
        "--out",
        out / "report.md",
    ],
}
_WRITERS_ELSEWHERE = {
    # A live source or service answers these; their tests check the files.
    "intensity fetch --cache": "SQLite creates the cache 0666 & ~umask (test_cli_fetch.py)",
    "metrics export --out": "needs Prometheus (tests/unit/exports/test_metrics_export.py)",
    "lab up --state-dir": "a lab's private state, 0700 on purpose (kubeconfig, keys)",
    "lab down --state-dir": "removes the state folder",
    "lab status --state-dir": "reads only",
    "lab env --state-dir": "reads only",
}


def test_every_output_option_has_a_permission_check() -> None:
    written = {str(item) for item, _ in _OUTPUTS}
    planners = {item for item in written if item.endswith(" --cache") and "fetch" not in item} | {
        item for item in written if item.startswith("forecast show --cache")
    }
    assert written - planners == set(_WRITERS) | set(_WRITERS_ELSEWHERE)


@pytest.fixture
def umask_022() -> Iterator[None]:
    previous = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(previous)


@pytest.mark.usefixtures("umask_022")
@pytest.mark.parametrize("writer", sorted(_WRITERS))
def test_written_files_respect_the_umask(
    writer: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    code, _, err = run(capsys, *_WRITERS[writer](tmp_path, out))
    assert code == 0, err
    written = list(out.rglob("*"))
    assert written
    modes = {str(p.relative_to(out)): stat.S_IMODE(p.stat().st_mode) for p in written}
    assert modes == {name: (0o755 if (out / name).is_dir() else 0o644) for name in modes}


# -- environment and --config ------------------------------------------------------------------


def test_every_option_can_come_from_its_environment_variable() -> None:
    missing = []
    for item in options():
        names = item.option.envvar
        names = [names] if isinstance(names, str) else list(names or [])
        if environment_variable(str(item.option.name)) not in names:
            missing.append(str(item))
    assert missing == []


def _clouds(capsys: pytest.CaptureFixture[str], *args: str | Path) -> set[str]:
    code, out, err = run(capsys, *args, "-o", "json")
    assert code == 0, err
    return {row["cloud"] for row in json.loads(out)["regions"]}


def test_a_flag_beats_the_environment_beats_the_config_file_beats_the_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "carbon-kube.yaml"
    config.write_text("cloud: gcp\n")

    assert _clouds(capsys, "zones") == {"aws", "azure", "gcp"}
    assert _clouds(capsys, "--config", config, "zones") == {"gcp"}
    monkeypatch.setenv("CARBON_KUBE_CLOUD", "azure")
    assert _clouds(capsys, "--config", config, "zones") == {"azure"}
    assert _clouds(capsys, "--config", config, "zones", "--cloud", "aws") == {"aws"}


def test_config_keys_may_be_spelled_as_helm_values_and_nested(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "values.yaml"
    config.write_text("simulate:\n  defaultJobs: 30\n  noJobsFile: true\n")
    code, out, err = run(
        capsys, "--config", config, "simulate", "--out", tmp_path / "sim", "-o", "json"
    )
    assert code == 0, err
    assert json.loads(out)["jobs"] == 30
    assert not (tmp_path / "sim" / "jobs.csv").exists()


def test_a_config_key_that_is_no_option_names_its_line_and_the_closest_option(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "carbon-kube.yaml"
    config.write_text("# team defaults\nclowd: gcp\n")
    result = run(capsys, "--config", config, "zones")
    assert_one_line_error(result, f"{config}:2", "'clowd'", "did you mean cloud")


def test_a_config_file_that_is_no_mapping_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "carbon-kube.yaml"
    config.write_text("- gcp\n")
    assert_one_line_error(run(capsys, "--config", config, "zones"), f"{config}:1", "mapping")


# -- start-up cost -----------------------------------------------------------------------------

_HEAVY = ("pandas", "numpy", "matplotlib", "kubernetes", "aiohttp", "lightgbm", "kopf", "httpx")


@pytest.mark.parametrize("args", [["--version"], ["--help"]])
def test_version_and_help_import_no_heavy_library(args: list[str]) -> None:
    snippet = f"from carbon_kube.cli.app import main; main({args!r})"
    result = subprocess.run(  # noqa: S603 - our own interpreter and code
        [sys.executable, "-X", "importtime", "-c", snippet],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    imported = {
        line.rsplit("|", 1)[1].strip().split(".")[0]
        for line in result.stderr.splitlines()
        if line.startswith("import time:") and "|" in line
    }
    assert imported.isdisjoint(_HEAVY), sorted(imported & set(_HEAVY))
