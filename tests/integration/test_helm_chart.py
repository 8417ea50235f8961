"""The Helm chart, checked with the real ``helm`` (from the lab cache) and the lab apiserver.

``helm lint``/``template`` need only the binary; ``helm install`` (marker ``lab``) sends every
object to the real kube-apiserver, which validates them server-side. The pods never run real
images under kwok; what is asserted is that the apiserver accepted every object.
"""

from __future__ import annotations

import base64
import contextlib
import uuid
from typing import Any

import pytest
import yaml
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from carbon_kube.kube.client import NAMESPACES, KubeApiError, KubeClient
from carbon_kube.kube.resources import DEPLOYMENTS, MUTATING_WEBHOOKS, SECRETS, SERVICES
from carbon_kube.lab.install import webhook_configurations
from carbon_kube.lab.state import LabState
from tests.integration.helm_chart import CHART, needs_helm, of_kind, render_chart, run_helm

NATIVE = ("nativeScheduler.enabled=true", "nativeScheduler.image.repository=example.org/ks-carbon")


@needs_helm
def test_chart_passes_helm_lint_strict() -> None:
    result = run_helm("lint", str(CHART), "--strict")

    assert result.returncode == 0, result.stdout + result.stderr


@needs_helm
def test_every_pod_runs_non_root_with_a_read_only_root_filesystem() -> None:
    deployments = of_kind(render_chart(*NATIVE), "Deployment")

    assert {d["metadata"]["labels"]["app.kubernetes.io/component"] for d in deployments} == {
        "controller",
        "webhook",
        "extender",
        "native-scheduler",
    }
    for deployment in deployments:
        pod = deployment["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        for container in pod["containers"]:
            context = container["securityContext"]
            assert context["readOnlyRootFilesystem"] is True
            assert context["allowPrivilegeEscalation"] is False
            assert context["capabilities"]["drop"] == ["ALL"]


def images_by_component(docs: list[dict[str, Any]]) -> dict[str, str]:
    return {
        d["metadata"]["labels"]["app.kubernetes.io/component"]: d["spec"]["template"]["spec"][
            "containers"
        ][0]["image"]
        for d in of_kind(docs, "Deployment")
    }


@needs_helm
def test_the_default_images_are_the_ones_make_image_builds() -> None:
    version = yaml.safe_load((CHART / "Chart.yaml").read_text(encoding="utf-8"))["appVersion"]
    images = images_by_component(render_chart("nativeScheduler.enabled=true"))

    assert images == {
        "controller": f"localhost/carbon-kube:{version}",
        "webhook": f"localhost/carbon-kube:{version}",
        "extender": f"localhost/carbon-kube:{version}",
        "native-scheduler": f"localhost/kube-scheduler-carbon:{version}",
    }


@needs_helm
def test_a_digest_pins_the_image_over_its_tag() -> None:
    digest = "sha256:" + "ab" * 32
    images = images_by_component(
        render_chart(
            "image.repository=registry.example/ck",
            "image.tag=ignored",
            f"image.digest={digest}",
            "nativeScheduler.enabled=true",
            f"nativeScheduler.image.digest={digest}",
        )
    )

    assert images["controller"] == f"registry.example/ck@{digest}"  # the tag is not used
    assert images["native-scheduler"] == f"localhost/kube-scheduler-carbon@{digest}"


@needs_helm
def test_rbac_grants_no_wildcards_no_secrets_and_no_create_or_delete_on_workloads() -> None:
    docs = render_chart("controller.nodepoolWeights=true")
    rules = [rule for role in of_kind(docs, "ClusterRole") for rule in role["rules"]]

    for rule in rules:
        assert "*" not in rule["verbs"]
        assert "*" not in rule["resources"]
        assert "secrets" not in rule["resources"]
        if {"pods", "jobs", "sparkapplications", "flinkdeployments"} & set(rule["resources"]):
            assert not {"create", "delete", "update"} & set(rule["verbs"])
    lease_roles = [r for r in of_kind(docs, "Role") if r["metadata"]["name"].endswith("lease")]
    assert len(lease_roles) == 1
    assert all(rule["resources"] == ["leases"] for rule in lease_roles[0]["rules"])
    # NodePool access only when weights are enabled.
    plain = render_chart()
    assert not any(
        "nodepools" in rule["resources"]
        for role in of_kind(plain, "ClusterRole")
        for rule in role["rules"]
    )


@needs_helm
def test_native_scheduler_is_off_by_default() -> None:
    docs = render_chart()

    assert not [d for d in docs if "native-scheduler" in d["metadata"]["name"]]


@needs_helm
@pytest.mark.parametrize(
    ("sets", "message"),
    [
        (
            ("nativeScheduler.enabled=true", "nativeScheduler.image.repository="),
            "nativeScheduler.image.repository",
        ),
        ((*NATIVE, "controller.labelNodes=false"), "controller.labelNodes: true"),
    ],
)
def test_native_scheduler_without_its_image_or_node_labels_fails_rendering_with_the_fix(
    sets: tuple[str, ...], message: str
) -> None:
    args = ["template", "ck", str(CHART)]
    for value in sets:
        args += ["--set", value]
    result = run_helm(*args)

    assert result.returncode != 0
    assert message in result.stderr


@needs_helm
def test_native_scheduler_binds_the_upstream_scheduler_roles_and_only_its_own_lease() -> None:
    docs = [d for d in render_chart(*NATIVE) if "native-scheduler" in d["metadata"]["name"]]

    bound = {d["roleRef"]["name"] for d in docs if d["kind"].endswith("Binding")}
    assert bound == {
        "system:kube-scheduler",
        "system:volume-scheduler",
        "extension-apiserver-authentication-reader",
        "ck-carbon-kube-native-scheduler-lease",
    }
    assert not of_kind(docs, "ClusterRole")
    (lease,) = of_kind(docs, "Role")
    assert lease["metadata"]["namespace"] == "carbon-kube"
    assert [r.get("resourceNames") for r in lease["rules"]] == [None, ["carbon-kube-native"]]
    assert all(r["resources"] == ["leases"] and "delete" not in r["verbs"] for r in lease["rules"])
    (config_map,) = of_kind(docs, "ConfigMap")
    config = yaml.safe_load(config_map["data"]["config.yaml"])
    assert config["leaderElection"] == {
        "leaderElect": True,
        "resourceName": "carbon-kube-native",
        "resourceNamespace": "carbon-kube",
    }
    (profile,) = config["profiles"]
    assert profile["plugins"]["multiPoint"]["enabled"] == [
        {"name": "CarbonKubeEmissions", "weight": 5}
    ]


@needs_helm
def test_webhooks_fail_open_and_trust_the_ca_that_signed_the_serving_certificate() -> None:
    docs = render_chart()
    secret = next(d for d in of_kind(docs, "Secret") if d["metadata"]["name"].endswith("tls"))
    mutating = of_kind(docs, "MutatingWebhookConfiguration")[0]
    validating = of_kind(docs, "ValidatingWebhookConfiguration")[0]

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
def test_the_lab_install_registers_the_webhook_exactly_as_the_chart_does() -> None:
    """``lab up --install`` differs from the chart only in how the apiserver reaches it."""
    docs = render_chart()
    for kind, ours in zip(
        ("MutatingWebhookConfiguration", "ValidatingWebhookConfiguration"),
        webhook_configurations("https://127.0.0.1:1", b"ca"),
        strict=True,
    ):
        chart = of_kind(docs, kind)[0]
        chart_paths = [w["clientConfig"]["service"]["path"] for w in chart["webhooks"]]
        our_paths = [
            w["clientConfig"]["url"].removeprefix("https://127.0.0.1:1") for w in ours["webhooks"]
        ]
        assert our_paths == chart_paths
        assert [_without_client_config(w) for w in ours["webhooks"]] == [
            _without_client_config(w) for w in chart["webhooks"]
        ]


def _without_client_config(webhook: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in webhook.items() if key != "clientConfig"}


@needs_helm
def test_cert_manager_mode_issues_a_certificate_and_injects_the_ca() -> None:
    docs = render_chart("webhook.tls.certManager=true")

    assert of_kind(docs, "Certificate")
    assert not [d for d in of_kind(docs, "Secret") if d["metadata"]["name"].endswith("tls")]
    mutating = of_kind(docs, "MutatingWebhookConfiguration")[0]
    assert mutating["metadata"]["annotations"]["cert-manager.io/inject-ca-from"]


@needs_helm
def test_values_reach_the_components_and_the_configmap() -> None:
    docs = render_chart(
        "threshold.gramsPerKWh=150",
        "zones.home=FR",
        "zones.regionOverrides.eu-west-1=IE",
        "api.existingSecret=my-keys",
        "controller.nodepoolWeights=true",
        "controller.pauses.enabled=false",
        "controller.pauses.maxPauses=2",
    )
    controller = next(
        d for d in of_kind(docs, "Deployment") if d["metadata"]["name"].endswith("controller")
    )
    container = controller["spec"]["template"]["spec"]["containers"][0]

    assert "--region-zone=eu-west-1=IE" in container["args"]
    assert "--nodepool-weights" in container["args"]
    assert "--replan-home-zone=FR" in container["args"]
    assert {"--no-pauses", "--max-pauses=2", "--min-run-between-pauses=30m"} <= set(
        container["args"]
    )
    secret_refs = {
        e["valueFrom"]["secretKeyRef"]["name"]
        for e in container["env"]
        if "valueFrom" in e and "secretKeyRef" in e["valueFrom"]
    }
    assert secret_refs == {"my-keys"}
    settings = yaml.safe_load(of_kind(docs, "ConfigMap")[0]["data"]["settings.yaml"])
    assert settings["threshold"]["gramsPerKWh"] == 150


def _args_of(docs: list[dict[str, Any]], component: str) -> list[str]:
    (deployment,) = [
        d for d in of_kind(docs, "Deployment") if d["metadata"]["name"].endswith(component)
    ]
    args: list[str] = deployment["spec"]["template"]["spec"]["containers"][0]["args"]
    return args


@needs_helm
def test_region_overrides_reach_every_component_that_maps_nodes_to_zones() -> None:
    """The webhook's allowed-zones affinity must read regions as the extender and controller."""
    docs = render_chart("zones.regionOverrides.eu-west-1=IE", "zones.regionOverrides.my-dc=FR")

    for component in ("controller", "webhook", "extender"):
        args = _args_of(docs, component)
        assert "--region-zone=eu-west-1=IE" in args, component
        assert "--region-zone=my-dc=FR" in args, component


@needs_helm
def test_a_live_provider_is_polled_by_the_controller_and_published_to_the_planners() -> None:
    """One poller: only the controller calls the API; webhook and extender read its ConfigMaps."""
    docs = render_chart(
        "api.provider=electricitymaps",
        "api.urls.electricityMaps=http://10.0.0.9:8080/v3",
        "api.existingSecret=my-keys",
        "forecast=provider",
        "zones.allowed={FR,DE}",
        "extender.enabled=true",
    )

    controller = _args_of(docs, "controller")
    assert "--source=electricitymaps" in controller
    assert "--electricitymaps-url=http://10.0.0.9:8080/v3" in controller
    assert "--cache=/tmp/carbon-kube/intensity.sqlite" in controller
    assert "--publish-zones=DE,FR" in controller
    assert "--signal-namespace=carbon-kube" in controller
    assert "--replan-forecast=provider" in controller
    # The forecast that won, with weather for the learned model, unless told otherwise.
    assert "--signal-model=auto" in controller
    assert "--signal-weather=open-meteo" in controller
    assert "--signal-interval=5m" in controller
    for component in ("webhook", "extender"):
        args = _args_of(docs, component)
        assert "--source=published" in args, component
        assert "--signal-namespace=carbon-kube" in args, component
        assert not [a for a in args if "electricitymaps" in a], component
        assert not _container_of(docs, component).get("env"), f"{component} gets no API keys"
    assert "--forecast=provider" in _args_of(docs, "webhook")
    roles = {d["metadata"]["name"]: d for d in of_kind(docs, "Role")}
    writer = next(r for name, r in roles.items() if name.endswith("signal-writer"))
    reader = next(r for name, r in roles.items() if name.endswith("signal-reader"))
    assert writer["rules"] == [
        {"apiGroups": [""], "resources": ["configmaps"], "verbs": ["get", "create", "patch"]}
    ]
    assert reader["rules"][0]["verbs"] == ["get", "list", "watch"]


@needs_helm
def test_entsoe_reaches_the_controller_with_its_url_and_token_and_only_the_controller() -> None:
    docs = render_chart(
        "api.provider=entsoe",
        "api.urls.entsoe=http://10.0.0.9:8080/api",
        "api.existingSecret=my-keys",
    )

    controller = _args_of(docs, "controller")
    assert "--source=entsoe" in controller
    assert "--entsoe-url=http://10.0.0.9:8080/api" in controller
    assert "--publish-zones=DE" in controller
    token = next(
        e for e in _container_of(docs, "controller")["env"] if e["name"] == "ENTSOE_API_TOKEN"
    )
    assert token["valueFrom"]["secretKeyRef"] == {
        "name": "my-keys",
        "key": "ENTSOE_TOKEN",
        "optional": True,
    }
    assert "--source=published" in _args_of(docs, "webhook")
    assert not _container_of(docs, "webhook").get("env")


def _container_of(docs: list[dict[str, Any]], component: str) -> dict[str, Any]:
    (deployment,) = [
        d for d in of_kind(docs, "Deployment") if d["metadata"]["name"].endswith(component)
    ]
    container: dict[str, Any] = deployment["spec"]["template"]["spec"]["containers"][0]
    return container


@needs_helm
def test_the_poll_model_weather_and_their_urls_reach_only_the_controller() -> None:
    docs = render_chart(
        "api.provider=electricitymaps",
        "api.poll.model=lightgbm",
        "api.poll.weather=none",
        "api.poll.interval=10m",
        "api.urls.openMeteoForecast=http://10.0.0.9:8081/v1/forecast",
        "api.urls.openMeteoArchive=http://10.0.0.9:8081/v1/archive",
    )

    controller = _args_of(docs, "controller")
    assert "--signal-model=lightgbm" in controller
    assert "--signal-weather=none" in controller
    assert "--signal-interval=10m" in controller
    assert "--openmeteo-forecast-url=http://10.0.0.9:8081/v1/forecast" in controller
    assert "--openmeteo-archive-url=http://10.0.0.9:8081/v1/archive" in controller
    for component in ("webhook", "extender"):
        assert not [a for a in _args_of(docs, component) if "openmeteo" in a], component


@needs_helm
def test_the_embedded_default_needs_no_cache_no_url_and_no_signal_roles() -> None:
    docs = render_chart("extender.enabled=true")
    for component in ("controller", "webhook", "extender"):
        args = _args_of(docs, component)
        assert "--source=embedded" in args, component
        assert not [
            a for a in args if a.startswith(("--cache", "--electricitymaps-url", "--publish"))
        ]
    assert not [d for d in of_kind(docs, "Role") if "signal" in d["metadata"]["name"]]


@needs_helm
def test_an_oracle_forecast_on_a_live_provider_fails_rendering_with_the_fix() -> None:
    result = run_helm(
        "template", "ck", str(CHART), "--set", "api.provider=ukcarbon", "--set", "forecast=oracle"
    )

    assert result.returncode != 0
    assert "use forecast: provider or persistence" in result.stderr


@needs_helm
def test_latency_risk_reaches_the_webhook_and_the_controller_and_the_learner_is_off() -> None:
    docs = render_chart("threshold.latencyRisk=1")  # --set parses integers only

    webhook, controller = _args_of(docs, "webhook"), _args_of(docs, "controller")

    assert "--latency-risk=1" in webhook
    assert "--replan-latency-risk=1" in controller
    assert not [a for a in webhook + controller if "adaptive" in a]


@needs_helm
def test_release_ahead_is_off_by_default_and_reaches_the_controller_when_set() -> None:
    default = _args_of(render_chart(), "controller")
    tuned = _args_of(
        render_chart("controller.releaseAheadMax=3m", "controller.releaseAheadRate=120"),
        "controller",
    )

    assert "--release-ahead-max=0s" in default
    assert "--release-ahead-max=3m" in tuned
    assert "--release-ahead-rate=120" in tuned


@needs_helm
def test_rl_enabled_switches_the_planners_to_the_adaptive_learner() -> None:
    docs = render_chart("rl.enabled=true", "policy=threshold")

    assert "--adaptive-threshold" in _args_of(docs, "webhook")
    assert "--replan-adaptive-threshold" in _args_of(docs, "controller")
    assert not [a for a in _args_of(docs, "extender") if "adaptive" in a]


@needs_helm
def test_rl_enabled_with_another_policy_fails_rendering_with_the_fix() -> None:
    result = run_helm(
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
        "nativeScheduler.weight=0",
        "nativeScheduler.schedulerName=Carbon_Kube",
        "api.poll.model=crystal-ball",
        "api.poll.weather=noaa",
        "api.poll.interval=often",
        "api.poll.interval=0m",
        "api.poll.interval=500ms",
        "image.digest=latest",
        "surprise=1",
    ],
)
def test_schema_rejects_invalid_values_before_anything_is_rendered(bad: str) -> None:
    result = run_helm("template", "ck", str(CHART), "--set", bad)

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
    native = [arg for value in NATIVE for arg in ("--set", value)]
    installed = run_helm(
        "install",
        release,
        str(CHART),
        "--namespace",
        namespace,
        "--create-namespace",
        *native,
        env=env,
    )
    try:
        assert installed.returncode == 0, installed.stderr
        # The default image is what `make image` builds: the notes say no node can pull it.
        assert "which no node can\npull" in installed.stdout
        names = {d["metadata"]["name"] for d in kube.list(DEPLOYMENTS, namespace)}
        assert names == {
            f"{release}-carbon-kube-{c}"
            for c in ("controller", "webhook", "extender", "native-scheduler")
        }
        assert kube.get(SECRETS, f"{release}-carbon-kube-webhook-tls", namespace)["data"]["ca.crt"]
        assert kube.get(SERVICES, f"{release}-carbon-kube-webhook", namespace)
        kube.get(MUTATING_WEBHOOKS, f"{release}-carbon-kube")
        # An upgrade keeps the generated certificate (lookup) instead of rotating it.
        before = kube.get(SECRETS, f"{release}-carbon-kube-webhook-tls", namespace)["data"]
        upgraded = run_helm(
            "upgrade", release, str(CHART), "--namespace", namespace, *native, env=env
        )
        assert upgraded.returncode == 0, upgraded.stderr
        after = kube.get(SECRETS, f"{release}-carbon-kube-webhook-tls", namespace)["data"]
        assert after == before
    finally:
        run_helm("uninstall", release, "--namespace", namespace, env=env)
        with contextlib.suppress(KubeApiError):
            kube.delete(NAMESPACES, namespace)
    with pytest.raises(KubeApiError) as gone:
        kube.get(MUTATING_WEBHOOKS, f"{release}-carbon-kube")
    assert gone.value.is_not_found
