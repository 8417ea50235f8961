"""What ``lab up --install`` runs and registers (carbon_kube.lab.install), without a lab."""

from __future__ import annotations

import base64
import ipaddress
from datetime import UTC, datetime
from pathlib import Path

from cryptography import x509

from carbon_kube.domain.annotations import FLEXIBLE_LABEL
from carbon_kube.kinds.registry import KINDS
from carbon_kube.lab.install import (
    CONTROLLER,
    INSTALL_PORT_NAMES,
    WEBHOOK,
    installed_args,
    prometheus_config,
    stand_in_crds,
    webhook_configurations,
)
from carbon_kube.lab.pki import write_pki
from carbon_kube.lab.settings import InstallSettings
from carbon_kube.lab.state import LabPaths

T0 = datetime(2026, 12, 7, tzinfo=UTC)
URL = "https://127.0.0.1:8443"


def test_the_webhook_certificate_is_for_loopback_and_signed_by_the_lab_ca(tmp_path: Path) -> None:
    pki = write_pki(tmp_path, T0)

    cert = x509.load_pem_x509_certificate(pki.webhook_cert.read_bytes())
    ca = x509.load_pem_x509_certificate(pki.ca_cert.read_bytes())
    sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert sans.get_values_for_type(x509.IPAddress) == [ipaddress.ip_address("127.0.0.1")]
    assert cert.issuer == ca.subject
    cert.verify_directly_issued_by(ca)
    assert oct(pki.webhook_key.stat().st_mode & 0o777) == "0o600"
    # Its own key: the webhook process never reads the apiserver's.
    assert pki.webhook_key.read_bytes() != pki.serving_key.read_bytes()


def test_the_webhook_is_registered_for_every_kind_on_create_and_trusts_the_lab_ca() -> None:
    mutating, validating = webhook_configurations(URL, b"CA PEM")

    assert mutating["kind"] == "MutatingWebhookConfiguration"
    assert validating["kind"] == "ValidatingWebhookConfiguration"
    plurals = {a.api.plural for a in KINDS.values()}
    for configuration, verb in ((mutating, "mutate"), (validating, "validate")):
        urls = {w["clientConfig"]["url"] for w in configuration["webhooks"]}
        assert urls == {f"{URL}/{verb}", f"{URL}/{verb}/namespace"}
        for webhook in configuration["webhooks"]:
            assert base64.b64decode(webhook["clientConfig"]["caBundle"]) == b"CA PEM"
            assert webhook["failurePolicy"] == "Ignore"
            assert {r["resources"][0] for r in webhook["rules"]} == plurals
            assert all(r["operations"] == ["CREATE"] for r in webhook["rules"])


def test_labelled_objects_and_objects_in_labelled_namespaces_reach_different_paths() -> None:
    mutating, _ = webhook_configurations(URL, b"")
    by_url = {w["clientConfig"]["url"]: w for w in mutating["webhooks"]}

    by_object = by_url[f"{URL}/mutate"]
    by_namespace = by_url[f"{URL}/mutate/namespace"]
    assert by_object["objectSelector"] == {"matchLabels": {FLEXIBLE_LABEL: "true"}}
    namespace_rules = by_namespace["namespaceSelector"]["matchExpressions"]
    assert {"key": FLEXIBLE_LABEL, "operator": "In", "values": ["true"]} in namespace_rules
    # An object with the label is served once, by the object entry, never twice.
    assert by_namespace["objectSelector"]["matchExpressions"][0]["operator"] == "NotIn"
    for webhook in mutating["webhooks"]:
        excluded = webhook["namespaceSelector"]["matchExpressions"][0]
        assert excluded["operator"] == "NotIn"
        assert {"kube-system", "carbon-kube"} <= set(excluded["values"])


def test_both_components_run_this_interpreter_on_the_lab_clock_and_its_certificate(
    tmp_path: Path,
) -> None:
    paths = LabPaths(tmp_path)
    pki = write_pki(paths.pki, T0)
    ports = {name: 40000 + index for index, name in enumerate(INSTALL_PORT_NAMES)}

    args = installed_args(
        InstallSettings(python=Path("/venv/bin/python"), home_zone="FR"), pki, ports, paths
    )

    assert set(args) == {WEBHOOK, CONTROLLER}
    webhook, controller = args[WEBHOOK], args[CONTROLLER]
    assert webhook[:4] == ["-m", "carbon_kube", "webhook", "serve"]
    assert controller[:4] == ["-m", "carbon_kube", "controller", "run"]
    assert f"--lab-state-dir={tmp_path}" in webhook
    assert f"--lab-state-dir={tmp_path}" in controller
    assert f"--tls-cert={pki.webhook_cert}" in webhook
    assert "--port=40000" in webhook
    assert "--home-zone=FR" in webhook
    assert "--replan-home-zone=FR" in controller
    assert "--metrics-port=40001" in controller


def test_the_stand_in_crds_serve_spark_applications_and_flink_deployments() -> None:
    crds = {crd["spec"]["names"]["kind"]: crd for crd in stand_in_crds()}

    assert set(crds) == {"SparkApplication", "FlinkDeployment"}
    for adapter in KINDS.values():
        if adapter.api.kind in crds:
            spec = crds[adapter.api.kind]["spec"]
            assert spec["group"] == adapter.api.group
            assert adapter.api.version in {v["name"] for v in spec["versions"]}


def test_prometheus_scrapes_the_webhook_over_tls_and_the_controller_on_their_ports(
    tmp_path: Path,
) -> None:
    pki = write_pki(tmp_path, T0)
    ports = {name: 40000 + index for index, name in enumerate(INSTALL_PORT_NAMES)}

    config = prometheus_config(pki, ports)

    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    assert jobs[WEBHOOK]["scheme"] == "https"
    assert jobs[WEBHOOK]["tls_config"]["ca_file"] == str(pki.ca_cert)
    assert jobs[WEBHOOK]["static_configs"][0]["targets"] == [f"127.0.0.1:{ports[WEBHOOK]}"]
    controller_target = jobs[CONTROLLER]["static_configs"][0]["targets"][0]
    assert controller_target == f"127.0.0.1:{ports['carbon-kube-controller-metrics']}"
    # The controller's --metrics-port is that same port.
    args = installed_args(InstallSettings(python=Path("/py")), pki, ports, LabPaths(tmp_path))
    assert f"--metrics-port={controller_target.rsplit(':', 1)[1]}" in args[CONTROLLER]
