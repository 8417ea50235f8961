"""The scheduler extender's HTTP(S) server: routes parse, call ``serve_*``, encode, count.

Routes: ``POST /filter``, ``POST /prioritize`` (ExtenderArgs in, Go field names as keys),
``GET /healthz``, ``GET /metrics``. Bad bodies get a 4xx with ``{"error": ...}``; with
``ignorable: true`` in the scheduler's configuration any failure of ours, a 4xx, a timeout or
the extender being down, lets scheduling go on without us.

Decisions run on the event loop itself: they are CPU-only (no provider call in the hot path
once ``ZoneIntensities`` is warm) and take about a millisecond, less than a thread hop costs
under load. The node cache is refreshed by a background thread listing Nodes through
``carbon_kube.kube`` every ``node_refresh`` (a full list rather than a watch: simple, and
5,000 nodes list in well under a second).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta

from aiohttp import web
from pydantic import BaseModel, ConfigDict

from carbon_kube.extender.scheduling import ExtenderContext, serve_filter, serve_prioritize
from carbon_kube.extender.wire import ExtenderArgs, encode_priorities
from carbon_kube.kube.client import NODES, KubeApiError, KubeClient
from carbon_kube.observability.metrics import (
    CONTENT_TYPE,
    EXTENDER_REQUEST_SECONDS,
    EXTENDER_REQUESTS,
    exposition,
)
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

log = logging.getLogger(__name__)

# ExtenderArgs with full Nodes for 5,000 nodes is ~10-20 MiB; with NodeNames far less.
MAX_BODY_BYTES = 32 * 1024 * 1024


class ExtenderServerSettings(BaseModel):
    """Where to listen, TLS (optional: the scheduler supports both), node-cache refresh."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    host: str = "127.0.0.1"
    port: int = 8888
    tls: TlsFiles | None = None
    max_body_bytes: int = MAX_BODY_BYTES
    node_refresh: timedelta = timedelta(seconds=30)


def make_extender_app(
    context: ExtenderContext, *, max_body_bytes: int = MAX_BODY_BYTES
) -> web.Application:
    """The aiohttp application for ``context``."""
    app = new_application(max_body_bytes)

    def filter_body(args: ExtenderArgs) -> bytes:
        return serve_filter(args, context).to_json()

    def prioritize_body(args: ExtenderArgs) -> bytes:
        return encode_priorities(serve_prioritize(args, context))

    app.router.add_post("/filter", _handler("filter", filter_body))
    app.router.add_post("/prioritize", _handler("prioritize", prioritize_body))
    app.router.add_get("/healthz", _healthz)
    app.router.add_get("/metrics", _metrics)
    return app


class NodeCacheRefresher:
    """Lists Nodes every ``interval`` into the context's cache, on a daemon thread."""

    def __init__(self, kube: KubeClient, context: ExtenderContext, interval: timedelta) -> None:
        self._kube = kube
        self._context = context
        self._interval_s = interval.total_seconds()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="node-cache", daemon=True)

    def refresh(self) -> int:
        """One full list; returns the number of nodes cached."""
        self._context.nodes.replace(self._kube.list(NODES))
        return len(self._context.nodes)

    def start(self) -> NodeCacheRefresher:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.refresh()
            except KubeApiError as error:
                # Keep the last good cache: stale zones beat no zones, and unknown nodes
                # score neutral anyway.
                log.warning("node list failed, keeping the cache: %s", error)
            self._stop.wait(self._interval_s)


def run_extender(
    context: ExtenderContext, settings: ExtenderServerSettings, kube: KubeClient | None
) -> None:
    """Serve until SIGTERM; with ``kube``, keep the node cache filled from the apiserver."""
    ssl_context = server_ssl_context(settings.tls) if settings.tls is not None else None
    refresher = (
        NodeCacheRefresher(kube, context, settings.node_refresh).start()
        if kube is not None
        else None
    )
    app = make_extender_app(context, max_body_bytes=settings.max_body_bytes)
    try:
        run_forever(
            app, name="extender", host=settings.host, port=settings.port, ssl_context=ssl_context
        )
    finally:
        if refresher is not None:
            refresher.stop()


def _handler(
    verb: str, decide: Callable[[ExtenderArgs], bytes]
) -> Callable[[web.Request], Awaitable[web.Response]]:
    async def handle(request: web.Request) -> web.Response:
        started = time.perf_counter()
        try:
            args = parse_body(ExtenderArgs, await read_json(request))
            body = decide(args)
        except BadRequestError as bad:
            log.info("bad extender request on %s: %s", verb, bad.message)
            EXTENDER_REQUESTS.labels(verb, str(bad.status)).inc()
            return error_response(bad.status, bad.message)
        finally:
            EXTENDER_REQUEST_SECONDS.labels(verb).observe(time.perf_counter() - started)
        EXTENDER_REQUESTS.labels(verb, "200").inc()
        return web.Response(body=body, content_type="application/json")

    return handle


async def _healthz(request: web.Request) -> web.Response:
    return web.Response(text="ok")


async def _metrics(request: web.Request) -> web.Response:
    response = web.Response(body=exposition())
    response.headers["Content-Type"] = CONTENT_TYPE
    return response
