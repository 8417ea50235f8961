"""The admission webhook's HTTPS server: routes parse, call ``serve_*``, encode, count.

Routes (POST, ``application/json`` AdmissionReview v1):

* ``/mutate`` and ``/validate``: objects that carry the opt-in label themselves;
* ``/mutate/namespace`` and ``/validate/namespace``: objects in a namespace that carries it
  (the webhook configuration's ``namespaceSelector`` decides who is sent here);
* ``GET /healthz`` (liveness/readiness) and ``GET /metrics`` (Prometheus).

Bad bodies get a 4xx with ``{"error": ...}`` (see ``carbon_kube.serving``); the apiserver then
applies ``failurePolicy: Ignore`` and admits the workload unchanged, so a broken webhook
never blocks a cluster. Decisions run on a worker thread: planning may call a live provider.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

from aiohttp import web
from pydantic import BaseModel, ConfigDict

from carbon_kube.domain.zones import RegionZoneMap
from carbon_kube.observability.metrics import (
    CONTENT_TYPE,
    WEBHOOK_REQUEST_SECONDS,
    WEBHOOK_REQUESTS,
    exposition,
)
from carbon_kube.planning.service import PlanningService
from carbon_kube.providers.regions import load_region_zone_map
from carbon_kube.serving import (
    BadRequestError,
    TlsFiles,
    error_response,
    new_application,
    parse_body,
    read_json,
    run_forever,
    server_ssl_context,
)
from carbon_kube.webhook.admission import serve_mutate, serve_validate
from carbon_kube.webhook.reviews import AdmissionReviewRequest, AdmissionReviewResponse

log = logging.getLogger(__name__)

# An AdmissionReview carries the object and, on UPDATE, the old object; etcd caps an object at
# 1.5 MiB, so 4 MiB admits every real review and refuses anything larger with a 413.
MAX_BODY_BYTES = 4 * 1024 * 1024

Decide = Callable[[AdmissionReviewRequest], AdmissionReviewResponse]


class WebhookServerSettings(BaseModel):
    """Where and how to listen; TLS is required by the apiserver outside tests."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    host: str = "0.0.0.0"  # noqa: S104 - a webhook Pod must accept the apiserver's connections
    port: int = 8443
    tls: TlsFiles | None = None
    max_body_bytes: int = MAX_BODY_BYTES


def make_webhook_app(
    planner: PlanningService,
    *,
    regions: RegionZoneMap | None = None,
    max_body_bytes: int = MAX_BODY_BYTES,
) -> web.Application:
    """The aiohttp application with every route wired to ``planner``.

    ``regions`` (region -> grid zone, for the allowed-zones node affinity) defaults to the
    shipped table, as the extender's does.
    """
    app = new_application(max_body_bytes)
    table = regions if regions is not None else load_region_zone_map()

    def mutate(namespace_opted_in: bool) -> Decide:
        return lambda review: serve_mutate(
            review, planner, regions=table, namespace_opted_in=namespace_opted_in
        )

    def validate(namespace_opted_in: bool) -> Decide:
        return lambda review: serve_validate(
            review, now=planner.clock.now(), namespace_opted_in=namespace_opted_in
        )

    app.router.add_post("/mutate", _handler("/mutate", mutate(False)))
    app.router.add_post("/mutate/namespace", _handler("/mutate/namespace", mutate(True)))
    app.router.add_post("/validate", _handler("/validate", validate(False)))
    app.router.add_post("/validate/namespace", _handler("/validate/namespace", validate(True)))
    app.router.add_get("/healthz", _healthz)
    app.router.add_get("/metrics", _metrics)
    return app


def run_webhook(
    planner: PlanningService, settings: WebhookServerSettings, regions: RegionZoneMap
) -> None:
    """Serve until SIGTERM; a bad certificate or key fails here, before listening."""
    ssl_context = server_ssl_context(settings.tls) if settings.tls is not None else None
    app = make_webhook_app(planner, regions=regions, max_body_bytes=settings.max_body_bytes)
    run_forever(
        app, name="webhook", host=settings.host, port=settings.port, ssl_context=ssl_context
    )


def _handler(path: str, decide: Decide) -> Callable[[web.Request], Awaitable[web.Response]]:
    async def handle(request: web.Request) -> web.Response:
        started = time.perf_counter()
        try:
            review = parse_body(AdmissionReviewRequest, await read_json(request))
            answer = await asyncio.to_thread(decide, review)
        except BadRequestError as bad:
            log.info("bad admission review on %s: %s", path, bad.message)
            WEBHOOK_REQUESTS.labels(path, str(bad.status), "bad-request").inc()
            return error_response(bad.status, bad.message)
        finally:
            WEBHOOK_REQUEST_SECONDS.labels(path).observe(time.perf_counter() - started)
        outcome = _outcome(answer)
        WEBHOOK_REQUESTS.labels(path, "200", outcome).inc()
        return web.Response(body=answer.to_json(), content_type="application/json")

    return handle


def _outcome(answer: AdmissionReviewResponse) -> str:
    if not answer.response.allowed:
        return "rejected"
    return "mutated" if answer.response.patch else "unchanged"


async def _healthz(request: web.Request) -> web.Response:
    return web.Response(text="ok")


async def _metrics(request: web.Request) -> web.Response:
    response = web.Response(body=exposition())
    response.headers["Content-Type"] = CONTENT_TYPE
    return response
