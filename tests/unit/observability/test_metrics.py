from __future__ import annotations

import re

from carbon_kube.observability import metrics


def sample(name: str, **labels: str) -> float:
    value = metrics.REGISTRY.get_sample_value(name, labels)
    return 0.0 if value is None else value


def test_every_carbon_kube_metric_carries_the_prefix() -> None:
    ours = [
        family.name
        for family in metrics.REGISTRY.collect()
        if not family.name.startswith(("process_", "python_"))
    ]
    assert ours, "no metrics registered"
    assert all(name.startswith("carbon_kube_") for name in ours), ours


def test_a_job_that_saved_grams_counts_them_as_avoided() -> None:
    before = sample("carbon_kube_avoided_emissions_grams_total", kind="t-saved", lever="time")
    metrics.record_job_outcome(
        kind="t-saved", lever="time", energy_kwh=1.0, emissions_g=100.0, counterfactual_g=250.0
    )
    after = sample("carbon_kube_avoided_emissions_grams_total", kind="t-saved", lever="time")
    assert after - before == 150.0
    assert sample("carbon_kube_job_emissions_grams_sum", kind="t-saved") == 100.0


def test_a_job_the_forecast_misled_counts_excess_not_negative_avoided() -> None:
    metrics.record_job_outcome(
        kind="t-excess", lever="time", energy_kwh=1.0, emissions_g=300.0, counterfactual_g=250.0
    )
    assert sample("carbon_kube_excess_emissions_grams_total", kind="t-excess", lever="time") == 50
    assert sample("carbon_kube_avoided_emissions_grams_total", kind="t-excess", lever="time") == 0


def test_exposition_is_prometheus_text() -> None:
    metrics.ZONE_INTENSITY_G_PER_KWH.labels("DE", "embedded").set(321.0)
    text = metrics.exposition().decode()
    assert re.search(r'carbon_kube_zone_intensity_g_per_kwh\{.*zone="DE".*\} 321\.0', text)
