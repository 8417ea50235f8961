"""``carbon-kube controller run``: user mistakes are one line and exit code 2, never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from carbon_kube.cli.app import main


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    with pytest.raises(SystemExit) as exited:
        main(["controller", "run", *args])
    return int(exited.value.code or 0), capsys.readouterr().err


def test_a_missing_kubeconfig_is_one_line_naming_the_file(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    missing = tmp_path / "nope.yaml"

    code, err = _run(capsys, "--kubeconfig", str(missing))

    assert code == 2
    assert str(missing) in err
    assert "Traceback" not in err


def test_outside_a_cluster_without_kubeconfig_says_how_to_fix_it(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("KUBECONFIG", raising=False)
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)

    code, err = _run(capsys)

    assert code == 2
    assert "--kubeconfig" in err


@pytest.mark.parametrize(
    ("args", "want"),
    [
        (["--kinds", "pod,cronjob"], "--kinds"),
        (["--release-lead", "soon"], "--release-lead"),
        (["--region-zone", "eu-west-1"], "--region-zone"),
        (["--region-zone", "eu-west-1=ireland"], "grid zone id"),
        (["--replan-home-zone", "DE", "--replan-forecast", "crystal-ball"], "--replan-forecast"),
        (["--replan-latency-risk", "1.5"], "--replan-latency-risk"),
        (["--publish-zones", "germany"], "--publish-zones"),
        (["--publish-zones", "DE", "--signal-interval", "0s"], "--signal-interval"),
        (["--publish-zones", "DE", "--signal-model", "crystal-ball"], "--signal-model"),
        (["--publish-zones", "DE", "--signal-weather", "noaa"], "--signal-weather"),
        (["--source", "published"], "the controller is what publishes"),
        (
            [
                "--replan-home-zone",
                "DE",
                "--replan-policy",
                "temporal",
                "--replan-adaptive-threshold",
            ],
            "--adaptive-threshold",
        ),
    ],
)
def test_bad_options_are_rejected_before_connecting(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, args: list[str], want: str
) -> None:
    unreadable = tmp_path / "never-read.yaml"
    unreadable.write_text("{not: a kubeconfig")
    code, err = _run(capsys, "--kubeconfig", str(unreadable), *args)

    assert code == 2
    assert want in err
    assert "never-read.yaml" not in err  # the option was refused before the kubeconfig was read
