"""``webhook serve``'s planning knobs: bad values are one line and exit 2, before serving."""

from __future__ import annotations

from pathlib import Path

import pytest

from carbon_kube.cli.app import main


def _serve(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    with pytest.raises(SystemExit) as exited:
        main(["webhook", "serve", "--insecure-http", "--port", "0", "--home-zone", "DE", *args])
    return int(exited.value.code or 0), capsys.readouterr().err


@pytest.mark.parametrize(
    ("args", "want"),
    [
        (["--latency-risk", "1.5"], "--latency-risk"),
        (["--policy", "temporal", "--adaptive-threshold"], "--adaptive-threshold"),
        (["--source", "ukcarbon", "--forecast", "oracle"], "use --forecast provider"),
        (["--source", "ukcarbon", "--intensity-file", "x.csv"], "x.csv: file not found"),
        (["--source", "carrier-pigeon"], "--source"),
    ],
)
def test_bad_planning_knobs_stop_the_webhook_before_it_serves(
    capsys: pytest.CaptureFixture[str], args: list[str], want: str
) -> None:
    code, err = _serve(capsys, *args)

    assert code == 2
    assert want in err
    assert "Traceback" not in err


def test_a_live_source_without_its_token_names_the_variable_to_set(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("ELECTRICITYMAPS_API_TOKEN", raising=False)

    code, err = _serve(capsys, "--source", "electricitymaps", "--cache", str(tmp_path / "c.sqlite"))

    assert code == 2
    assert "export ELECTRICITYMAPS_API_TOKEN=" in err
