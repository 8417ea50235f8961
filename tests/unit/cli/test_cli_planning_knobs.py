"""``webhook serve``'s planning knobs: bad values are one line and exit 2, before serving."""

from __future__ import annotations

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
    ],
)
def test_bad_planning_knobs_stop_the_webhook_before_it_serves(
    capsys: pytest.CaptureFixture[str], args: list[str], want: str
) -> None:
    code, err = _serve(capsys, *args)

    assert code == 2
    assert want in err
    assert "Traceback" not in err
