from __future__ import annotations

from pathlib import Path

import pytest

from carbon_kube.cli.app import main
from carbon_kube.cli.reference import render_cli_reference

DOC = Path(__file__).resolve().parents[3] / "docs" / "cli.md"


def test_docs_cli_md_is_what_the_commands_say() -> None:
    assert DOC.read_text(encoding="utf-8") == render_cli_reference(), (
        "docs/cli.md is stale: run .venv/bin/python scripts/cli_reference.py"
    )


def test_the_reference_lists_every_exit_code_and_schema() -> None:
    text = render_cli_reference()
    for code in ("| 0 |", "| 1 |", "| 2 |", "| 3 |", "| 130 |"):
        assert code in text
    assert "### `carbon-kube simulate -o json`" in text
    assert "`CARBON_KUBE_WATTS_PER_VCPU`" in text


def test_the_config_example_in_the_reference_works(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = render_cli_reference()
    example = text.split("```yaml\n", 1)[1].split("```", 1)[0]
    config = tmp_path / "team.yaml"
    config.write_text(example)
    with pytest.raises(SystemExit) as exit_info:
        main(["--config", str(config), "simulate", "--help"])
    assert exit_info.value.code == 0, capsys.readouterr().err
    assert "[default: persistence]" in " ".join(capsys.readouterr().out.split())
