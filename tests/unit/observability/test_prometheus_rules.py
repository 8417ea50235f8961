"""deploy/prometheus/rules.yaml: valid for promtool, its unit tests pass, its names are real."""

from __future__ import annotations

import shutil
from pathlib import Path

from tests.prometheus_tools import RULES, RULES_TESTS, run_promtool, unknown_metric_names


def test_rules_file_passes_promtool_check() -> None:
    result = run_promtool("check", "rules", RULES)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS: 23 rules found" in result.stdout


def test_rules_pass_their_promtool_unit_tests() -> None:
    result = run_promtool("test", "rules", RULES_TESTS)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_promtool_unit_tests_fail_when_an_alert_threshold_changes(tmp_path: Path) -> None:
    # The unit tests must be able to fail: raise the webhook error threshold to 50 % and the
    # test expecting the alert at a 10 % error ratio no longer passes.
    rules = RULES.read_text()
    wanted = "carbon_kube:webhook_requests:error_ratio_rate5m > 0.05"
    assert wanted in rules
    (tmp_path / RULES.name).write_text(rules.replace(wanted, wanted.replace("0.05", "0.5")))
    shutil.copy(RULES_TESTS, tmp_path / RULES_TESTS.name)
    result = run_promtool("test", "rules", tmp_path / RULES_TESTS.name)
    assert result.returncode != 0
    assert "alertname: CarbonKubeWebhookErrors" in result.stdout + result.stderr


def test_every_metric_name_in_the_rules_is_exported_by_the_metrics_module() -> None:
    assert unknown_metric_names([RULES.read_text(), RULES_TESTS.read_text()]) == set()


def test_a_misspelled_metric_name_is_reported() -> None:
    assert unknown_metric_names(["rate(carbon_kube_provider_error_total[5m])"]) == {
        "carbon_kube_provider_error_total"
    }
