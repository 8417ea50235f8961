"""The lab's settings, read once from CDK context and checked before any construct is built.

Context values come as JSON from cdk.json and as strings from ``-c key=value``; both are
accepted. Account and region must be explicit (context or CDK_DEFAULT_*), and the availability
zones default to ``<region>a`` and ``<region>b``: no synth-time lookup, so ``cdk synth`` works
offline and gives the same template everywhere.

Secrets never go through context: the carbon-signal API keys live in a Kubernetes Secret that
the operator creates by hand (its *name* is ``carbonKubeApiSecret``), and Grafana's admin
password is generated inside the cluster.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

CDK_DIR = Path(__file__).resolve().parents[1]
DEFAULT_QUALIFIER = "hnb659fds"  # the CDK bootstrap's default qualifier
_ACCOUNT = re.compile(r"^\d{12}$")
_REGION = re.compile(r"^[a-z]{2}(-gov)?-[a-z]+-\d$")


class ContextSource(Protocol):
    """What settings need of a construct ``Node``: its context.

    A Protocol keeps this module importable, and testable, without starting the jsii runtime.
    """

    def try_get_context(self, key: str) -> Any: ...


class SettingsError(ValueError):
    """A context value is missing or malformed; the message names it and how to set it."""


@dataclass(frozen=True)
class CarbonKubeSettings:
    """Values for the carbon-kube Helm chart (see charts/carbon-kube/values.yaml)."""

    image_repository: str
    image_tag: str
    policy: str
    threshold_g_per_kwh: float
    home_zone: str
    allowed_zones: tuple[str, ...]
    api_provider: str
    api_secret: str

    def helm_values(self) -> dict[str, Any]:
        image: dict[str, Any] = {"repository": self.image_repository}
        if self.image_tag:
            image["tag"] = self.image_tag
        return {
            "image": image,
            "policy": self.policy,
            "threshold": {"gramsPerKWh": self.threshold_g_per_kwh},
            "zones": {"home": self.home_zone, "allowed": list(self.allowed_zones)},
            # Only the Secret's name: its keys are created in the cluster, never in a template.
            "api": {"provider": self.api_provider, "existingSecret": self.api_secret},
            # Karpenter is installed, so the controller may steer NodePool weights.
            "controller": {"nodepoolWeights": True},
            "prometheus": {"podAnnotations": True},
        }


@dataclass(frozen=True)
class LabSettings:
    account: str
    region: str
    availability_zones: tuple[str, ...]
    cluster_name: str
    system_node_instance_type: str
    system_nodes: int
    lifetime_hours: float
    teardown_role_arn: str | None
    bootstrap_qualifier: str
    sample_jobs: bool
    chart_dir: Path
    dashboards_dir: Path
    examples_dir: Path
    carbon_kube: CarbonKubeSettings


def read_settings(node: ContextSource) -> LabSettings:
    """Every setting from ``node``'s context; ``SettingsError`` for a bad or missing one."""

    def get(key: str, default: Any = None) -> Any:
        value = node.try_get_context(key)
        return default if value is None else value

    account = str(get("account", os.environ.get("CDK_DEFAULT_ACCOUNT", "")))
    region = str(get("region", os.environ.get("CDK_DEFAULT_REGION", "")))
    if not _ACCOUNT.match(account):
        raise SettingsError(
            f"account {account!r}: pass -c account=123456789012 (12 digits) or run with AWS "
            "credentials so that the CLI sets CDK_DEFAULT_ACCOUNT"
        )
    if not _REGION.match(region):
        raise SettingsError(f"region {region!r}: pass -c region=eu-west-1 or set AWS_REGION")
    zones = _strings(get("availabilityZones", f"{region}a,{region}b"), "availabilityZones")
    if len(zones) < 2:
        raise SettingsError("availabilityZones: EKS needs at least two, e.g. eu-west-1a,eu-west-1b")
    lifetime_hours = _number(get("lifetimeHours", 8), "lifetimeHours")
    if lifetime_hours < 0:
        raise SettingsError("lifetimeHours: 0 (keep the lab) or a positive number of hours")
    provider = str(get("carbonKubeApiProvider", "embedded"))
    api_secret = str(get("carbonKubeApiSecret", ""))
    if provider != "embedded" and not api_secret:
        raise SettingsError(
            f"carbonKubeApiProvider={provider} needs carbonKubeApiSecret: the name of a "
            "Kubernetes Secret you create in namespace carbon-kube with the API keys"
        )
    home_zone = str(get("carbonKubeHomeZone", "")) or _grid_zone_of(region)
    return LabSettings(
        account=account,
        region=region,
        availability_zones=tuple(zones),
        cluster_name=str(get("clusterName", "carbon-kube-lab")),
        system_node_instance_type=str(get("systemNodeInstanceType", "m6i.large")),
        system_nodes=int(_number(get("systemNodes", 2), "systemNodes")),
        lifetime_hours=lifetime_hours,
        teardown_role_arn=get("teardownRoleArn") or None,
        bootstrap_qualifier=str(get("@aws-cdk/core:bootstrapQualifier", DEFAULT_QUALIFIER)),
        sample_jobs=_boolean(get("sampleJobs", True), "sampleJobs"),
        chart_dir=_directory(get("chartDir", "../charts/carbon-kube"), "chartDir", "Chart.yaml"),
        dashboards_dir=(CDK_DIR / str(get("dashboardsDir", "../dashboards"))).resolve(),
        examples_dir=_directory(get("examplesDir", "../examples"), "examplesDir", None),
        carbon_kube=CarbonKubeSettings(
            image_repository=str(
                get("carbonKubeImageRepository", "ghcr.io/carbon-kube/carbon-kube")
            ),
            image_tag=str(get("carbonKubeImageTag", "")),
            policy=str(get("carbonKubePolicy", "threshold")),
            threshold_g_per_kwh=_number(
                get("carbonKubeThresholdGramsPerKWh", 200), "carbonKubeThresholdGramsPerKWh"
            ),
            home_zone=home_zone,
            allowed_zones=tuple(_strings(get("carbonKubeAllowedZones", ""), "allowedZones")),
            api_provider=provider,
            api_secret=api_secret,
        ),
    )


def _grid_zone_of(region: str) -> str:
    """The grid zone Carbon-Kube's own region table gives ``region`` (e.g. eu-west-1 -> IE)."""
    from carbon_kube.domain.errors import InputError
    from carbon_kube.providers.regions import load_region_zone_map

    try:
        return str(load_region_zone_map().zone_for(region))
    except InputError as error:
        raise SettingsError(f"{error}; pass -c carbonKubeHomeZone=<grid zone>") from None


def _strings(value: Any, key: str) -> list[str]:
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return list(value)
    raise SettingsError(f"{key}: expected a list or comma-separated string, got {value!r}")


def _number(value: Any, key: str) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        raise SettingsError(f"{key}: expected a number, got {value!r}") from None


def _boolean(value: Any, key: str) -> bool:
    if isinstance(value, bool):
        return value
    if str(value).lower() in ("true", "false"):
        return str(value).lower() == "true"
    raise SettingsError(f"{key}: expected true or false, got {value!r}")


def _directory(value: Any, key: str, must_contain: str | None) -> Path:
    path = (CDK_DIR / str(value)).resolve()
    if not path.is_dir() or (must_contain and not (path / must_contain).is_file()):
        wanted = f" with {must_contain}" if must_contain else ""
        raise SettingsError(f"{key}: {path} is not a folder{wanted}")
    return path
