"""The kube-scheduler HTTP extender: filter by allowed zones, prioritize by expected emissions.

``scheduling`` decides (``serve_filter``, ``serve_prioritize``: plain functions), ``wire``
holds the extender wire types, ``nodes`` the node-name cache, ``server`` the aiohttp transport
(``run_extender``).
"""

from carbon_kube.extender.nodes import NodeCache
from carbon_kube.extender.scheduling import (
    ExtenderContext,
    ZoneIntensities,
    serve_filter,
    serve_prioritize,
)
from carbon_kube.extender.server import ExtenderServerSettings, make_extender_app, run_extender

__all__ = [
    "ExtenderContext",
    "ExtenderServerSettings",
    "NodeCache",
    "ZoneIntensities",
    "make_extender_app",
    "run_extender",
    "serve_filter",
    "serve_prioritize",
]
