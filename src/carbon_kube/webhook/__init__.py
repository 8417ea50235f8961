"""The mutating/validating admission webhook: holds opted-in workloads and records their plan.

``admission`` decides (``serve_mutate``, ``serve_validate``: plain functions), ``reviews`` holds
the AdmissionReview v1 wire types, ``server`` is the aiohttp transport (``run_webhook``).
"""

from carbon_kube.webhook.admission import serve_mutate, serve_validate
from carbon_kube.webhook.server import WebhookServerSettings, make_webhook_app, run_webhook

__all__ = [
    "WebhookServerSettings",
    "make_webhook_app",
    "run_webhook",
    "serve_mutate",
    "serve_validate",
]
