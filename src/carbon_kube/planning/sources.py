"""Build the intensity source planning reads, and count its failures in a metric.

Every source is a ``FallbackProvider`` chain ending in the embedded data, so a zone or an
instant that the configured source cannot answer still gets a real (replayed) value, flagged
by provider name in logs and metrics. Failures of each link are counted in
``carbon_kube_provider_errors_total``; the chain itself owns the fallback.
"""

from __future__ import annotations

from carbon_kube.domain.clock import Clock
from carbon_kube.domain.errors import ProviderError, ProviderTemporaryError
from carbon_kube.observability.metrics import PROVIDER_ERRORS
from carbon_kube.planning.settings import SourceKind, SourceSettings
from carbon_kube.providers.base import IntensityProvider
from carbon_kube.providers.embedded import EmbeddedProvider
from carbon_kube.providers.fallback import FallbackProvider
from carbon_kube.providers.files import read_intensity_file


def count_provider_failure(provider: str, operation: str, error: ProviderError) -> None:
    """``FallbackProvider`` hook: one increment per failed request, by error class."""
    error_class = "temporary" if isinstance(error, ProviderTemporaryError) else "permanent"
    PROVIDER_ERRORS.labels(provider, operation, error_class).inc()


def build_intensity_source(settings: SourceSettings, clock: Clock) -> IntensityProvider:
    """The provider chain for ``settings`` (reads a file now, if one is configured).

    A file source is served without replay: outside its span it fails over to the embedded
    replay rather than pretending the file covers dates it does not.
    """
    embedded = EmbeddedProvider(clock)
    links: list[IntensityProvider] = []
    if settings.kind is SourceKind.FILE:
        if settings.path is None:  # guarded by SourceSettings; kept for the type checker
            raise ValueError("file source without a path")
        series = read_intensity_file(settings.path)
        links.append(EmbeddedProvider(clock, replay=False, series=series))
    links.append(embedded)
    return FallbackProvider(links, clock=clock, on_failure=count_provider_failure)
