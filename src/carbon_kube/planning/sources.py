"""The intensity source planning reads: the offline chain of ``providers.construction``.

Planning's servers read the embedded data, or a file over it (``SourceKind.EMBEDDED`` and
``FILE``); the builder, its settings and the failure metric hook live in
``providers.construction`` with every other source, and are re-exported here for planning's
callers.
"""

from __future__ import annotations

from carbon_kube.providers.construction import (
    SourceKind,
    SourceSettings,
    build_intensity_source,
    count_provider_failure,
)

__all__ = ["SourceKind", "SourceSettings", "build_intensity_source", "count_provider_failure"]
