"""Each component's ServiceAccount may do exactly what tests/fixtures/chart_rbac.yaml lists.

The chart is installed into the lab (every component on: the extender, the native scheduler,
a live provider so the signal Roles exist) and the real apiserver's RBAC answers
``kubectl auth can-i --list`` for each ServiceAccount, in the release namespace and in a
workload namespace. The committed expectation is the review: a new permission changes it, and
the diff says which. ``CARBON_KUBE_WRITE_RBAC=1`` rewrites it from the lab instead of checking.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
from pathlib import Path

import pytest
import yaml

from carbon_kube.cli.lab import default_bin_dir
from carbon_kube.kube.client import NAMESPACES, KubeApiError, KubeClient
from carbon_kube.lab.state import LabState
from tests.integration.helm_chart import CHART, needs_helm, run_helm
from tests.paths import FIXTURES_DIR

pytestmark = [pytest.mark.lab, needs_helm]

EXPECTATION = FIXTURES_DIR / "chart_rbac.yaml"
RELEASE = "ck-rbac"
RELEASE_NAMESPACE = "ck-rbac"
WORKLOAD_NAMESPACE = "default"
_COLUMNS = ("Resources", "Non-Resource URLs", "Resource Names", "Verbs")
COMPONENTS = ("controller", "webhook", "extender", "native-scheduler")
VALUES = (
    "extender.enabled=true",
    "nativeScheduler.enabled=true",
    "nativeScheduler.image.repository=example.org/ks-carbon",
    "api.provider=electricitymaps",
    "api.existingSecret=carbon-keys",
    "forecast=provider",
)


@pytest.fixture(scope="module")
def installed_chart(lab: LabState, kube: KubeClient) -> object:
    env = {"KUBECONFIG": str(lab.kubeconfig), "HELM_CACHE_HOME": str(lab.state_dir / "helm")}
    sets = [arg for value in VALUES for arg in ("--set", value)]
    installed = run_helm(
        "install", RELEASE, str(CHART), "--namespace", RELEASE_NAMESPACE, "--create-namespace",
        *sets, env=env,
    )  # fmt: skip
    assert installed.returncode == 0, installed.stderr
    yield
    run_helm("uninstall", RELEASE, "--namespace", RELEASE_NAMESPACE, env=env)
    with contextlib.suppress(KubeApiError):
        kube.delete(NAMESPACES, RELEASE_NAMESPACE)


def can_i_list(lab: LabState, component: str, namespace: str) -> list[str]:
    """``kubectl auth can-i --list`` as the component's ServiceAccount, one rule per line.

    Cells are cut at the header's column offsets (a non-resource rule has an empty Resources
    cell) and joined with `` | ``, verbs sorted; the rules are de-duplicated (two roles may
    grant the same) and sorted, so the expectation reads as a table.
    """
    account = f"system:serviceaccount:{RELEASE_NAMESPACE}:{RELEASE}-carbon-kube-{component}"
    result = subprocess.run(  # noqa: S603 - the lab's kubectl, fixed arguments
        [
            str(default_bin_dir() / "kubectl"),
            f"--kubeconfig={lab.kubeconfig}",
            "auth",
            "can-i",
            "--list",
            f"--as={account}",
            f"--namespace={namespace}",
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    header, *rows = result.stdout.splitlines()
    starts = [header.index(title) for title in _COLUMNS]
    bounds = list(zip(starts, [*starts[1:], None], strict=True))
    rules = set()
    for row in rows:
        if row.strip():
            *cells, verbs = (row[start:end].strip() for start, end in bounds)
            # Verbs merged from several roles come in no fixed order.
            ordered = "[" + " ".join(sorted(verbs.strip("[]").split())) + "]"
            rules.add(" | ".join((*cells, ordered)))
    return sorted(rules)


def actual_permissions(lab: LabState) -> dict[str, dict[str, list[str]]]:
    return {
        component: {
            scope: can_i_list(lab, component, namespace)
            for scope, namespace in (
                ("release-namespace", RELEASE_NAMESPACE),
                ("workload-namespace", WORKLOAD_NAMESPACE),
            )
        }
        for component in COMPONENTS
    }


def test_each_service_account_can_do_exactly_what_the_committed_expectation_lists(
    lab: LabState, installed_chart: object
) -> None:
    actual = actual_permissions(lab)
    if os.environ.get("CARBON_KUBE_WRITE_RBAC") == "1":
        _write(EXPECTATION, actual)
        pytest.skip(f"wrote {EXPECTATION}; review the diff and commit it")
    expected = yaml.safe_load(EXPECTATION.read_text())
    for component in COMPONENTS:
        for scope, rules in actual[component].items():
            wanted = expected[component][scope]
            hint = f"(CARBON_KUBE_WRITE_RBAC=1 rewrites {EXPECTATION.name})"
            extra = sorted(set(rules) - set(wanted))
            assert not extra, f"{component} in the {scope} may also {extra} {hint}"
            lacking = sorted(set(wanted) - set(rules))
            assert not lacking, f"{component} in the {scope} lost {lacking} {hint}"


def test_no_component_may_read_secrets_or_create_workloads(
    lab: LabState, installed_chart: object
) -> None:
    """The properties the expectation must keep, checked on their own so a rewrite cannot
    quietly grant them."""
    for component in COMPONENTS:
        for namespace in (RELEASE_NAMESPACE, WORKLOAD_NAMESPACE):
            rules = can_i_list(lab, component, namespace)
            for rule in rules:
                resource, *_ = rule.split(" | ")
                verbs = rule.rsplit(" | ", 1)[-1]
                assert resource not in {"secrets", "*", "*.*"}, f"{component}: {rule}"
                forbidden = {"create", "delete", "*"}
                if component == "native-scheduler":
                    forbidden = {"create", "*"}  # upstream's role deletes pods to preempt
                workloads = {"pods", "jobs", "sparkapplications", "flinkdeployments"}
                if resource.split(".")[0] in workloads:
                    assert not forbidden & set(verbs.strip("[]").split()), f"{component}: {rule}"


def _write(path: Path, permissions: dict[str, dict[str, list[str]]]) -> None:
    header = (
        "# What each chart component's ServiceAccount may do, from `kubectl auth can-i --list`\n"
        "# against the lab (tests/integration/test_chart_rbac_lab.py). Columns: resource |\n"
        "# non-resource URLs | resource names | verbs. Regenerate: CARBON_KUBE_WRITE_RBAC=1.\n"
    )
    path.write_text(header + yaml.safe_dump(permissions, sort_keys=False, width=200))
