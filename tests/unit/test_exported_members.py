"""Each package's public names are pinned: changing what a package exports is a conscious edit.

httpx's habit: private modules behind a tested public ``__all__``. A package whose
``__init__`` exports nothing is pinned as ``()``, so a new export shows up here too. Adding a
package without pinning it fails the first test.
"""

from __future__ import annotations

import importlib
import pkgutil

import pytest

import carbon_kube

PINNED_EXPORTS: dict[str, tuple[str, ...]] = {
    "carbon_kube": ("__version__",),
    "carbon_kube.cli": (),
    "carbon_kube.dashboards": (
        "DASHBOARDS",
        "find_drift",
        "promql_expressions",
        "render",
        "render_all",
        "write_dashboards",
    ),
    "carbon_kube.data": (),
    "carbon_kube.domain": (),
    "carbon_kube.energy": (),
    "carbon_kube.exports": (),
    "carbon_kube.extender": (
        "ExtenderContext",
        "ExtenderServerSettings",
        "NodeCache",
        "ZoneIntensities",
        "make_extender_app",
        "run_extender",
        "serve_filter",
        "serve_prioritize",
    ),
    "carbon_kube.forecasting": (
        "BacktestResult",
        "BoostingConfig",
        "Forecaster",
        "GradientBoostingForecaster",
        "KnownHistory",
        "MODEL_NAMES",
        "ModelScore",
        "PersistenceForecaster",
        "ProviderForecaster",
        "SeasonalNaiveForecaster",
        "build_models",
        "known_before",
        "mae_g_per_kwh",
        "mape_pct",
        "run_backtest",
    ),
    "carbon_kube.kinds": (),
    "carbon_kube.kube": (),
    "carbon_kube.lab": (),
    "carbon_kube.observability": (),
    "carbon_kube.operator": (),
    "carbon_kube.planning": (
        "NO_SIGNAL",
        "PlanningService",
        "PlanningSettings",
        "SourceKind",
        "SourceSettings",
        "build_intensity_source",
    ),
    "carbon_kube.policy": (),
    "carbon_kube.providers": (),
    "carbon_kube.serving": (
        "BackgroundServer",
        "BadRequestError",
        "TlsFiles",
        "error_response",
        "new_application",
        "parse_body",
        "read_json",
        "run_forever",
        "server_ssl_context",
    ),
    "carbon_kube.sim": (),
    "carbon_kube.sim.traces": (
        "AlibabaUnit",
        "ConvertOptions",
        "ConvertedTrace",
        "DEFAULT_SLACK",
        "DEFAULT_START",
        "RawJobs",
        "SlackKind",
        "SlackRule",
        "SwimModel",
        "TimeUnit",
        "TraceFormat",
        "assemble",
        "convert_alibaba_batch",
        "convert_gaia",
        "convert_swim",
        "convert_trace",
        "parse_slack",
    ),
    "carbon_kube.storage": (
        "check_row_widths",
        "read_user_bytes",
        "read_user_text",
        "write_atomically",
        "write_bytes_atomically",
        "write_files_atomically",
        "write_text_atomically",
    ),
    "carbon_kube.webhook": (
        "WebhookServerSettings",
        "make_webhook_app",
        "run_webhook",
        "serve_mutate",
        "serve_validate",
    ),
}


def _packages() -> list[str]:
    found = ["carbon_kube"]
    for info in pkgutil.walk_packages(carbon_kube.__path__, "carbon_kube."):
        if info.ispkg:
            found.append(info.name)
    return sorted(found)


def test_every_package_is_pinned() -> None:
    assert sorted(PINNED_EXPORTS) == _packages()


@pytest.mark.parametrize("package", sorted(PINNED_EXPORTS))
def test_a_package_exports_exactly_its_pinned_names(package: str) -> None:
    module = importlib.import_module(package)
    exported = tuple(sorted(getattr(module, "__all__", ())))

    assert exported == PINNED_EXPORTS[package]
    missing = [name for name in exported if not hasattr(module, name)]
    assert missing == [], f"{package}.__all__ names what it does not define"
