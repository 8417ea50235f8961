"""`cdk synth` of the EKS lab, offline, with the pinned aws-cdk CLI; assertions on the template.

One synth per module (about 15 s on two busy cores): account and region come from context and
the availability zones from settings, and ``--no-lookups`` makes any synth-time AWS lookup an
error, so the test proves the app synthesises without credentials or network. The CLI is
installed from cdk/package-lock.json by cdk/install-cli.sh (a no-op once installed).

Skipped locally without node/npm (with the reason); a failure in CI (CI set).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from tests.paths import REPO_ROOT

REPO = REPO_ROOT
CDK_DIR = REPO / "cdk"
STACK = "CarbonKubeLab"
LIFETIME_HOURS = "3"
# Planted in the synth's environment: none of it may reach any file of the cloud assembly.
PLANTED_SECRETS = {
    "ELECTRICITYMAPS_TOKEN": "em-token-planted-4f0d9c",
    "WATTTIME_PASSWORD": "wt-password-planted-77ab1e",
    "AWS_SECRET_ACCESS_KEY": "aws-secret-planted-c0ffee",
}
TEST_DASHBOARD = {"title": "Synth test dashboard", "panels": [], "schemaVersion": 39}

pytestmark = [pytest.mark.cdk, pytest.mark.slow]


@dataclass(frozen=True)
class Synth:
    out: Path
    template: dict[str, Any]
    seconds: float


def _require_node() -> None:
    missing = [tool for tool in ("node", "npm") if shutil.which(tool) is None]
    if missing:
        message = f"{' and '.join(missing)} not found: the aws-cdk CLI needs Node.js and npm"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)


@pytest.fixture(scope="module")
def synth(tmp_path_factory: pytest.TempPathFactory) -> Synth:
    import time

    _require_node()
    subprocess.run([str(CDK_DIR / "install-cli.sh")], check=True, timeout=600)  # noqa: S603
    work = tmp_path_factory.mktemp("cdk")
    dashboards = work / "dashboards"
    dashboards.mkdir()
    for path in (REPO / "dashboards").glob("*.json"):
        shutil.copy(path, dashboards / path.name)
    (dashboards / "synth-test.json").write_text(json.dumps(TEST_DASHBOARD))
    out = work / "cdk.out"
    env = {
        **os.environ,
        **PLANTED_SECRETS,
        "CDK_DISABLE_VERSION_CHECK": "1",
        "CDK_DISABLE_CLI_TELEMETRY": "true",
        "JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION": "1",
        "JSII_SILENCE_WARNING_UNTESTED_NODE_VERSION": "1",
    }
    command = [
        str(CDK_DIR / "node_modules" / ".bin" / "cdk"),
        "synth",
        "--app",
        f"{sys.executable} app.py",
        "--output",
        str(out),
        "--no-lookups",
        "--no-notices",
        "--no-version-reporting",
        "--quiet",
        *("-c", "account=123456789012"),
        *("-c", "region=eu-west-1"),
        *("-c", f"lifetimeHours={LIFETIME_HOURS}"),
        *("-c", f"dashboardsDir={dashboards}"),
        *("-c", "carbonKubeApiProvider=electricitymaps"),
        *("-c", "carbonKubeApiSecret=carbon-kube-api-keys"),
    ]
    started = time.monotonic()
    result = subprocess.run(  # noqa: S603 - fixed argument list, no shell
        command, cwd=CDK_DIR, env=env, capture_output=True, text=True, timeout=600
    )
    seconds = time.monotonic() - started
    assert result.returncode == 0, result.stderr[-4000:]
    template = json.loads((out / f"{STACK}.template.json").read_text())
    print(f"cdk synth took {seconds:.1f} s")
    return Synth(out, template, seconds)


@pytest.fixture(scope="module")
def template(synth: Synth) -> Any:
    from aws_cdk.assertions import Template

    return Template.from_json(synth.template)


def resources(synth: Synth, kind: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in synth.template["Resources"].items() if v["Type"] == kind}


def helm_chart(synth: Synth, chart: str | None = None, asset: bool = False) -> dict[str, Any]:
    charts = resources(synth, "Custom::AWSCDK-EKS-HelmChart").values()
    found = [
        c["Properties"]
        for c in charts
        if (asset and "ChartAssetURL" in c["Properties"]) or c["Properties"].get("Chart") == chart
    ]
    assert len(found) == 1, f"expected one {chart or 'asset'} chart, found {len(found)}"
    return found[0]


def manifest_text(synth: Synth) -> str:
    """Every Kubernetes manifest of the stack as text (tokens shown as CloudFormation JSON)."""
    return "\n".join(
        json.dumps(r["Properties"]["Manifest"])
        for r in resources(synth, "Custom::AWSCDK-EKS-KubernetesResource").values()
    )


def test_vpc_cluster_and_system_nodes(template: Any) -> None:
    from aws_cdk.assertions import Match

    template.resource_count_is("AWS::EC2::VPC", 1)
    template.resource_count_is("AWS::EC2::Subnet", 4)
    template.resource_count_is("Custom::AWSCDK-EKS-Cluster", 1)
    template.has_resource_properties(
        "Custom::AWSCDK-EKS-Cluster",
        {"Config": Match.object_like({"name": "carbon-kube-lab", "version": "1.34"})},
    )
    template.has_resource_properties(
        "AWS::EKS::Nodegroup",
        {"ScalingConfig": {"MinSize": 2, "DesiredSize": 2, "MaxSize": 3}},
    )


def test_subnets_are_in_the_zones_from_settings_without_a_lookup(synth: Synth) -> None:
    zones = {
        s["Properties"]["AvailabilityZone"] for s in resources(synth, "AWS::EC2::Subnet").values()
    }
    assert zones == {"eu-west-1a", "eu-west-1b"}


def test_karpenter_comes_from_its_oci_registry_with_node_pools(synth: Synth) -> None:
    chart = helm_chart(synth, "karpenter")
    assert chart["Repository"] == "oci://public.ecr.aws/karpenter/karpenter"
    assert re.fullmatch(r"\d+\.\d+\.\d+", chart["Version"])
    text = manifest_text(synth)
    assert '\\"kind\\":\\"NodePool\\"' in text or '"kind":"NodePool"' in text
    assert "EC2NodeClass" in text
    assert resources(synth, "AWS::EKS::AccessEntry")


def test_kube_prometheus_stack_loads_the_dashboards_from_configmaps(synth: Synth) -> None:
    chart = helm_chart(synth, "kube-prometheus-stack")
    values = json.loads(chart["Values"])
    sidecar = values["grafana"]["sidecar"]["dashboards"]
    assert (sidecar["label"], sidecar["labelValue"]) == ("grafana_dashboard", "1")
    text = manifest_text(synth)
    want = len(list((REPO / "dashboards").glob("*.json"))) + 1
    assert text.count("carbon-kube-dashboard-") == want
    assert "Synth test dashboard" in text


def test_carbon_kube_chart_values_from_context_pass_the_charts_schema(synth: Synth) -> None:
    chart = helm_chart(synth, asset=True)
    values = json.loads(chart["Values"])
    assert values["zones"]["home"] == "IE"
    assert values["api"] == {
        "provider": "electricitymaps",
        "existingSecret": "carbon-kube-api-keys",
    }
    schema = json.loads((REPO / "charts" / "carbon-kube" / "values.schema.json").read_text())
    # Helm validates the merged values: the chart's defaults overlaid with ours.
    defaults = yaml.safe_load((REPO / "charts" / "carbon-kube" / "values.yaml").read_text())
    # Helm validates with the draft the schema names (draft 7 here; its $schema URI spelling
    # differs from jsonschema's registry, hence the explicit validator).
    jsonschema.Draft7Validator(schema).validate(_merge(defaults, values))
    assert chart["Wait"] is True


def test_sample_jobs_are_applied_after_their_operators_with_flink_state_in_the_bucket(
    synth: Synth,
) -> None:
    assert helm_chart(synth, "spark-operator")["Version"]
    assert helm_chart(synth, "flink-kubernetes-operator")["Version"]
    (jobs,) = [
        (k, r)
        for k, r in resources(synth, "Custom::AWSCDK-EKS-KubernetesResource").items()
        if "SampleJobs" in k
    ]
    key, resource = jobs
    text = json.dumps(resource["Properties"]["Manifest"])
    for kind in ("SparkApplication", "FlinkDeployment", "Job"):
        assert f'\\"kind\\":\\"{kind}\\"' in text
    (bucket,) = resources(synth, "AWS::S3::Bucket")
    assert '{"Ref": "' + bucket + '"}' in text
    depends = set(resource.get("DependsOn", []))
    assert any("SparkOperator" in d for d in depends)
    assert any("FlinkOperator" in d for d in depends)
    assert any("CarbonKube" in d for d in depends), f"{key} must wait for the webhook"


def test_metrics_bucket_is_private_encrypted_and_emptied_on_teardown(template: Any) -> None:
    template.has_resource_properties(
        "AWS::S3::Bucket",
        {
            "BucketEncryption": {
                "ServerSideEncryptionConfiguration": [
                    {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}
                ]
            },
            "PublicAccessBlockConfiguration": {
                "BlockPublicAcls": True,
                "BlockPublicPolicy": True,
                "IgnorePublicAcls": True,
                "RestrictPublicBuckets": True,
            },
        },
    )
    template.resource_count_is("Custom::S3AutoDeleteObjects", 1)


def test_auto_teardown_runs_on_a_schedule_with_the_lifetime_from_context(
    template: Any, synth: Synth
) -> None:
    from aws_cdk.assertions import Match

    template.has_resource_properties(
        "AWS::Events::Rule", {"ScheduleExpression": "rate(15 minutes)"}
    )
    template.has_resource_properties(
        "AWS::Lambda::Function",
        {
            "Runtime": "python3.12",
            "Environment": {
                "Variables": Match.object_like(
                    {"LIFETIME_HOURS": LIFETIME_HOURS, "STACK_ID": {"Ref": "AWS::StackId"}}
                )
            },
        },
    )
    policies = json.dumps(resources(synth, "AWS::IAM::Policy"))
    assert "cloudformation:DeleteStack" in policies
    assert '"iam:PassedToService": "cloudformation.amazonaws.com"' in policies


def test_no_secret_reaches_the_cloud_assembly(synth: Synth) -> None:
    texts = {
        path.name: path.read_text(encoding="utf-8", errors="replace")
        for path in synth.out.glob("*.json")
    }
    assert f"{STACK}.template.json" in texts
    for name, text in texts.items():
        for variable, planted in PLANTED_SECRETS.items():
            assert planted not in text, f"{variable} leaked into {name}"
        assert not re.search(r"AKIA[0-9A-Z]{16}", text), name
        assert "-----BEGIN" not in text, name
        assert "prom-operator" not in text, f"{name}: Grafana's well-known default password"
    leaks = list(_secret_like_values(synth.template))
    assert leaks == []


def test_synth_time_is_reasonable(synth: Synth) -> None:
    # Measured 15 s on the 2-core dev machine; this bound catches a runaway, not noise.
    assert synth.seconds < 180


def _secret_like_values(node: Any, path: str = "") -> Iterator[str]:
    """Paths of non-empty literal values under keys that name a secret (JSON strings opened)."""
    if isinstance(node, str):
        stripped = node.strip()
        if stripped[:1] in ("{", "["):
            try:
                opened = json.loads(stripped)
            except json.JSONDecodeError:
                return
            yield from _secret_like_values(opened, path + "<json>")
        return
    if isinstance(node, list):
        for index, item in enumerate(node):
            yield from _secret_like_values(item, f"{path}[{index}]")
        return
    if isinstance(node, dict):
        for key, value in node.items():
            where = f"{path}.{key}"
            if (
                re.search(r"password|passwd|secret|token|api_?key|private_?key", key, re.I)
                and key not in ("existingSecret",)
                and isinstance(value, str | int)
                and str(value) != ""
            ):
                yield where
            yield from _secret_like_values(value, where)


def _merge(base: Any, override: Any) -> Any:
    if isinstance(base, dict) and isinstance(override, dict):
        return {
            k: _merge(base.get(k), override[k]) if k in override else base[k]
            for k in {*base, *override}
        }
    return override


def test_the_secret_scan_finds_a_password_inside_helm_values() -> None:
    """The scan above can fail: a literal password in a chart's Values string is reported."""
    planted = {
        "Resources": {
            "Chart": {
                "Properties": {
                    "Values": json.dumps({"grafana": {"adminPassword": "hunter2"}}),
                    "Manifest": [{"stringData": {"api_token": "abc"}}],
                    "Harmless": {"existingSecret": "name-only", "adminPassword": ""},
                }
            }
        }
    }
    assert list(_secret_like_values(planted)) == [
        ".Resources.Chart.Properties.Values<json>.grafana.adminPassword",
        ".Resources.Chart.Properties.Manifest[0].stringData.api_token",
    ]
