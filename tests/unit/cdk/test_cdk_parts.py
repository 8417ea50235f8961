"""The CDK app's pure parts, without a synth: settings, dashboards, examples, teardown."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from carbon_kube_lab import teardown_handler
from carbon_kube_lab.manifests import (
    DASHBOARD_LABEL,
    dashboard_configmaps,
    load_examples,
    point_flink_state_at,
)
from carbon_kube_lab.settings import SettingsError, read_settings

from tests.paths import REPO_ROOT

REPO = REPO_ROOT
CREATED = datetime(2026, 11, 28, 8, 0, tzinfo=UTC)


class FakeNode:
    def __init__(self, **context: Any) -> None:
        self.context = {"account": "123456789012", "region": "eu-west-1", **context}

    def try_get_context(self, key: str) -> Any:
        return self.context.get(key)


def test_settings_default_to_the_regions_grid_zone_and_two_zones() -> None:
    settings = read_settings(FakeNode())
    assert settings.availability_zones == ("eu-west-1a", "eu-west-1b")
    assert settings.carbon_kube.home_zone == "IE"
    assert settings.lifetime_hours == 8
    assert settings.chart_dir == REPO / "charts" / "carbon-kube"


def test_settings_accept_strings_from_the_command_line() -> None:
    settings = read_settings(
        FakeNode(lifetimeHours="0", sampleJobs="false", carbonKubeAllowedZones="FR, SE")
    )
    assert settings.lifetime_hours == 0
    assert settings.sample_jobs is False
    assert settings.carbon_kube.allowed_zones == ("FR", "SE")


@pytest.mark.parametrize(
    ("context", "message"),
    [
        ({"account": "12345"}, "12 digits"),
        ({"region": "Ireland"}, "-c region="),
        ({"lifetimeHours": "-1"}, "lifetimeHours"),
        ({"carbonKubeApiProvider": "electricitymaps"}, "carbonKubeApiSecret"),
        ({"region": "xx-nowhere-1"}, "carbonKubeHomeZone"),
        ({"chartDir": "../nowhere"}, "Chart.yaml"),
        ({"availabilityZones": "eu-west-1a"}, "at least two"),
    ],
)
def test_bad_context_fails_the_synth_naming_the_fix(context: dict[str, str], message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        read_settings(FakeNode(**context))


def test_helm_values_name_the_api_secret_but_carry_no_key() -> None:
    settings = read_settings(
        FakeNode(carbonKubeApiProvider="electricitymaps", carbonKubeApiSecret="api-keys")
    )
    values = settings.carbon_kube.helm_values()
    assert values["api"] == {"provider": "electricitymaps", "existingSecret": "api-keys"}


def test_every_committed_dashboard_becomes_a_labelled_configmap() -> None:
    files = sorted((REPO / "dashboards").glob("*.json"))
    configmaps = dashboard_configmaps(REPO / "dashboards")
    assert len(configmaps) == len(files)
    for configmap, path in zip(configmaps, files, strict=True):
        assert configmap["metadata"]["labels"][DASHBOARD_LABEL] == "1"
        assert json.loads(configmap["data"][path.name])["title"]


def test_a_missing_dashboards_folder_gives_no_configmaps(tmp_path: Path) -> None:
    assert dashboard_configmaps(tmp_path / "none") == []


def test_a_file_that_is_not_a_dashboard_fails_naming_it(tmp_path: Path) -> None:
    (tmp_path / "broken.json").write_text('{"panels": []}')
    with pytest.raises(ValueError, match=r"broken\.json: not a Grafana dashboard"):
        dashboard_configmaps(tmp_path)


def test_examples_are_placed_in_the_namespace_and_flink_state_in_the_bucket() -> None:
    objects = load_examples(REPO / "examples", "default")
    assert sorted(o["kind"] for o in objects) == ["FlinkDeployment", "Job", "SparkApplication"]
    assert {o["metadata"]["namespace"] for o in objects} == {"default"}
    point_flink_state_at(objects, "s3://lab-bucket")
    (flink,) = [o for o in objects if o["kind"] == "FlinkDeployment"]
    config = flink["spec"]["flinkConfiguration"]
    assert config["state.savepoints.dir"] == "s3://lab-bucket/flink/savepoints"
    assert config["state.checkpoints.dir"] == "s3://lab-bucket/flink/checkpoints"


class FakeCloudFormation:
    def __init__(self, status: str) -> None:
        self.status = status
        self.deleted: list[dict[str, str]] = []

    def describe_stacks(self, StackName: str) -> dict[str, Any]:  # noqa: N803 - boto3's names
        return {
            "Stacks": [
                {"StackName": "CarbonKubeLab", "StackStatus": self.status, "CreationTime": CREATED}
            ]
        }

    def delete_stack(self, StackName: str, RoleARN: str) -> None:  # noqa: N803 - boto3's names
        self.deleted.append({"StackName": StackName, "RoleARN": RoleARN})


@pytest.fixture
def lambda_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("STACK_ID", "arn:aws:cloudformation:eu-west-1:123456789012:stack/lab/1")
    monkeypatch.setenv("LIFETIME_HOURS", "8")
    monkeypatch.setenv("CFN_ROLE_ARN", "arn:aws:iam::123456789012:role/cdk-exec")


@pytest.mark.usefixtures("lambda_env")
def test_teardown_deletes_the_stack_once_its_lifetime_is_over() -> None:
    cloudformation = FakeCloudFormation("CREATE_COMPLETE")
    verdict = teardown_handler.handler(
        {}, None, cloudformation=cloudformation, now=CREATED + timedelta(hours=8)
    )
    assert verdict == "delete"
    assert cloudformation.deleted == [
        {
            "StackName": "arn:aws:cloudformation:eu-west-1:123456789012:stack/lab/1",
            "RoleARN": "arn:aws:iam::123456789012:role/cdk-exec",
        }
    ]


@pytest.mark.usefixtures("lambda_env")
@pytest.mark.parametrize(
    ("status", "age", "want"),
    [
        ("CREATE_COMPLETE", timedelta(hours=7, minutes=59), "keep: 7:59:00 of 8:00:00 used"),
        ("UPDATE_IN_PROGRESS", timedelta(hours=9), "busy: UPDATE_IN_PROGRESS"),
        ("DELETE_IN_PROGRESS", timedelta(hours=9), "already DELETE_IN_PROGRESS"),
    ],
)
def test_teardown_leaves_a_young_busy_or_dying_stack_alone(
    status: str, age: timedelta, want: str
) -> None:
    cloudformation = FakeCloudFormation(status)
    verdict = teardown_handler.handler({}, None, cloudformation=cloudformation, now=CREATED + age)
    assert verdict == want
    assert cloudformation.deleted == []


def test_teardown_handler_fits_in_inline_lambda_code() -> None:
    assert len(Path(teardown_handler.__file__).read_bytes()) < 4096
