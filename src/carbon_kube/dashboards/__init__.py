"""Grafana dashboards as code: "Carbon savings", "Held work", "Signal", "Job latency".

Built with grafana-foundation-sdk from the metric objects in ``observability.metrics``;
``carbon-kube dashboards generate`` writes the JSON committed under ``dashboards/`` and
``--check`` fails when it has drifted from this code. Pure: no I/O except ``rendering``'s
file writing.
"""

from __future__ import annotations

from carbon_kube.dashboards.rendering import (
    DASHBOARDS,
    find_drift,
    promql_expressions,
    render,
    render_all,
    write_dashboards,
)

__all__ = [
    "DASHBOARDS",
    "find_drift",
    "promql_expressions",
    "render",
    "render_all",
    "write_dashboards",
]
