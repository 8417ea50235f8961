"""The Helm chart, checked with the real ``helm`` (from the lab cache) and the lab apiserver.

``helm lint``/``template`` need only the binary; ``helm install`` (marker ``lab``) sends every
object to the real kube-apiserver, which validates them server-side. The pods never run real
images under kwok; what is asserted is that the apiserver accepted every object.
"""

from __future__ import annotations

import base64
import contextlib
import os
import subprocess
import uuid
from pathlib import Path
from typing import Any

import pytest
import yaml
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from carbon_kube.kube.client import NAMESPACES, KubeApiError, KubeClient
from carbon_kube.kube.resources import DEPLOYMENTS, MUTATING_WEBHOOKS, SECRETS, SERVICES
from carbon_kube.lab.control_plane import LabState
from carbon_kube.lab.settings import default_bin_dir

CHART = Path(__file__).resolve().parents[2] / "charts" / "carbon-kube"
HELM = default_bin_dir() / "helm"

needs_helm = pytest.mark.skipif(not HELM.is_file(), reason=f"{HELM} missing: hack/lab/build.sh")


def _helm(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - our helm binary, fixed arguments
        [str(HELM), *args],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, **(env or {})},
        timeout=300,
    )


def _render(*sets: str) -> list[dict[str, Any]]:
    args = ["template", "ck", str(CHART), "--namespace", "carbon-kube"]
    for value in sets:
        args += ["--set", value]
    result = _helm(*args)
    assert result.returncode == 0, result.stderr
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


def _of_kind(docs: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [doc for doc in docs if doc["kind"] == kind]


@needs_helm
def test_chart_passes_helm_lint_strict() -> None:
    result = _helm("lint", str(CHART), "--strict")

    assert result.returncode == 0, result.stdout + result.stderr


@needs_helm
def test_every_pod_runs_non_root_with_a_read_only_root_filesystem() -> None:
    deployments = _of_kind(_render(), "Deployment")

    assert {d["metadata"]["labels"]["app.kubernetes.io/component"] for d in deployments} == {
        "controller",
        "webhook",
        "extender",
    }
    for deployment in deployments:
        pod = deployment["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        for container in pod["containers"]:
            context = container["securityContext"]
            assert context["readOnlyRootFilesystem"] is True
            assert context["allowPrivilegeEscalation"] is False
            assert context["capabilities"]["drop"] == ["ALL"]


@needs_helm
def test_rbac_grants_no_wildcards_no_secrets_and_no_create_or_delete_on_workloads() -> None:
    docs = _render("controller.nodepoolWeights=true")
    rules = [rule for role in _of_kind(docs, "ClusterRole") for rule in role["rules"]]

    for rule in rules:
        assert "*" not in rule["verbs"]
        assert "*" not in rule["resources"]
        assert "secrets" not in rule["resources"]
        if {"pods", "jobs", "sparkapplications", "flinkdeployments"} & set(rule["resources"]):
            assert not {"create", "delete", "update"} & set(rule["verbs"])
    lease_roles = [r for r in _of_kind(docs, "Role") if r["metadata"]["name"].endswith("lease")]
    assert len(lease_roles) == 1
    assert all(rule["resources"] == ["leases"] for rule in lease_roles[0]["rules"])
    # NodePool access only when weights are enabled.
    plain = _render()
    assert not any(
        "nodepools" in rule["resources"]
        for role in _of_kind(plain, "ClusterRole")
        for rule in role["rules"]
    )


@needs_helm
def test_webhooks_fail_open_and_trust_the_ca_that_signed_the_serving_certificate() -> None:
    docs = _render()
    secret = next(d for d in _of_kind(docs, "Secret") if d["metadata"]["name"].endswith("tls"))
    mutating = _of_kind(docs, "MutatingWebhookConfiguration")[0]
    validating = _of_kind(docs, "ValidatingWebhookConfiguration")[0]

    ca = x509.load_pem_x509_certificate(base64.b64decode(secret["data"]["ca.crt"]))
    cert = x509.load_pem_x509_certificate(base64.b64decode(secret["data"]["tls.crt"]))
    for webhook in mutating["webhooks"] + validating["webhooks"]:
        assert webhook["failurePolicy"] == "Ignore"
        assert base64.b64decode(webhook["clientConfig"]["caBundle"]) == base64.b64decode(
            secret["data"]["ca.crt"]
        )
        assert "carbon-kube" in webhook["namespaceSelector"]["matchExpressions"][0]["values"]
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert "ck-carbon-kube-webhook.carbon-kube.svc" in names.get_values_for_type(x509.DNSName)
    public_key = ca.public_key()
    assert isinstance(public_key, rsa.RSAPublicKey)
    public_key.verify(
        cert.signature,
        cert.tbs_certificate_bytes,
        padding.PKCS1v15(),
        cert.signature_hash_algorithm,  # type: ignore[arg-type]
    )
    paths = sorted(w["clientConfig"]["service"]["path"] for w in mutating["webhooks"])
    assert paths == ["/mutate", "/mutate/namespace"]


@needs_helm
def test_cert_manager_mode_issues_a_certificate_and_injects_the_ca() -> None:
    docs = _render("webhook.tls.certManager=true")

    assert _of_kind(docs, "Certificate")
    assert not [d for d in _of_kind(docs, "Secret") if d["metadata"]["name"].endswith("tls")]
    mutating = _of_kind(docs, "MutatingWebhookConfiguration")[0]
    assert mutating["metadata"]["annotations"]["cert-manager.io/inject-ca-from"]


@needs_helm
def test_values_reach_the_components_and_the_configmap() -> None:
    docs = _render(
        "threshold.gramsPerKWh=150",
        "zones.home=FR",
        "zones.regionOverrides.eu-west-1=IE",
        "api.existingSecret=my-keys",
        "controller.nodepoolWeights=true",
    )
    controller = next(
        d for d in _of_kind(docs, "Deployment") if d["metadata"]["name"].endswith("controller")
    )
    container = controller["spec"]["template"]["spec"]["containers"][0]

    assert "--region-zone=eu-west-1=IE" in container["args"]
    assert "--nodepool-weights" in container["args"]
    assert "--replan-home-zone=FR" in container["args"]
    secret_refs = {
        e["valueFrom"]["secretKeyRef"]["name"]
        for e in container["env"]
        if "valueFrom" in e and "secretKeyRef" in e["valueFrom"]
    }
    assert secret_refs == {"my-keys"}
    settings = yaml.safe_load(_of_kind(docs, "ConfigMap")[0]["data"]["settings.yaml"])
    assert settings["threshold"]["gramsPerKWh"] == 150


def _args_of(docs: list[dict[str, Any]], component: str) -> list[str]:
    (deployment,) = [
        d for d in _of_kind(docs, "Deployment") if d["metadata"]["name"].endswith(component)
    ]
    args: list[str] = deployment["spec"]["template"]["spec"]["containers"][0]["args"]
    return args


@needs_helm
def test_region_overrides_reach_every_component_that_maps_nodes_to_zones() -> None:
    """The webhook's allowed-zones affinity must read regions as the extender and controller."""
    docs = _render("zones.regionOverrides.eu-west-1=IE", "zones.regionOverrides.my-dc=FR")

    for component in ("controller", "webhook", "extender"):
        args = _args_of(docs, component)
        assert "--region-zone=eu-west-1=IE" in args, component
        assert "--region-zone=my-dc=FR" in args, component


@needs_helm
def test_latency_risk_reaches_the_webhook_and_the_controller_and_the_learner_is_off() -> None:
    docs = _render("threshold.latencyRisk=1")  # --set parses integers only

    webhook, controller = _args_of(docs, "webhook"), _args_of(docs, "controller")

    assert "--latency-risk=1" in webhook
    assert "--replan-latency-risk=1" in controller
    assert not [a for a in webhook + controller if "adaptive" in a]


@needs_helm
def test_release_ahead_is_off_by_default_and_reaches_the_controller_when_set() -> None:
    default = _args_of(_render(), "controller")
    tuned = _args_of(
        _render("controller.releaseAheadMax=3m", "controller.releaseAheadRate=120"), "controller"
    )

    assert "--release-ahead-max=0s" in default
    assert "--release-ahead-max=3m" in tuned
    assert "--release-ahead-rate=120" in tuned


@needs_helm
def test_rl_enabled_switches_the_planners_to_the_adaptive_learner() -> None:
    docs = _render("rl.enabled=true", "policy=threshold")

    assert "--adaptive-threshold" in _args_of(docs, "webhook")
    assert "--replan-adaptive-threshold" in _args_of(docs, "controller")
    assert not [a for a in _args_of(docs, "extender") if "adaptive" in a]


@needs_helm
def test_rl_enabled_with_another_policy_fails_rendering_with_the_fix() -> None:
    result = _helm(
        "template", "ck", str(CHART), "--set", "rl.enabled=true", "--set", "policy=temporal"
    )

    assert result.returncode != 0
    assert "set policy: threshold" in result.stderr


@needs_helm
@pytest.mark.parametrize(
    "bad",
    [
        "threshold.gramsPerKWh=-5",
        "threshold.latencyRisk=2",
        "threshold.latencyRisk=-0.1",
        "rl.enabled=maybe",
        "zones.home=germany",
        "webhook.failurePolicy=Sometimes",
        "securityContext.readOnlyRootFilesystem=false",
        "surprise=1",
    ],
)
def test_schema_rejects_invalid_values_before_anything_is_rendered(bad: str) -> None:
    result = _helm("template", "ck", str(CHART), "--set", bad)

    assert result.returncode != 0
    assert "values don't meet the specifications of the schema" in result.stderr or (
        "schema" in result.stderr.lower()
    )


@pytest.mark.lab
@needs_helm
def test_helm_install_into_the_lab_is_accepted_by_the_apiserver(
    lab: LabState, kube: KubeClient
) -> None:
    namespace = f"ck-{uuid.uuid4().hex[:6]}"
    release = "ck"
    env = {"KUBECONFIG": str(lab.kubeconfig), "HELM_CACHE_HOME": str(lab.state_dir / "helm")}
    installed = _helm(
        "install", release, str(CHART), "--namespace", namespace, "--create-namespace", env=env
    )
    try:
        assert installed.returncode == 0, installed.stderr
        names = {d["metadata"]["name"] for d in kube.list(DEPLOYMENTS, namespace)}
        assert names == {
            f"{release}-carbon-kube-{c}" for c in ("controller", "webhook", "extender")
        }
        assert kube.get(SECRETS, f"{release}-carbon-kube-webhook-tls", namespace)["data"]["ca.crt"]
        assert kube.get(SERVICES, f"{release}-carbon-kube-webhook", namespace)
        kube.get(MUTATING_WEBHOOKS, f"{release}-carbon-kube")
        # An upgrade keeps the generated certificate (lookup) instead of rotating it.
        before = kube.get(SECRETS, f"{release}-carbon-kube-webhook-tls", namespace)["data"]
        upgraded = _helm("upgrade", release, str(CHART), "--namespace", namespace, env=env)
        assert upgraded.returncode == 0, upgraded.stderr
        after = kube.get(SECRETS, f"{release}-carbon-kube-webhook-tls", namespace)["data"]
        assert after == before
    finally:
        _helm("uninstall", release, "--namespace", namespace, env=env)
        with contextlib.suppress(KubeApiError):
            kube.delete(NAMESPACES, namespace)
    with pytest.raises(KubeApiError) as gone:
        kube.get(MUTATING_WEBHOOKS, f"{release}-carbon-kube")
    assert gone.value.is_not_found
