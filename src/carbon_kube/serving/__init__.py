"""HTTP plumbing shared by the webhook and the extender servers (aiohttp), and nothing else.

Responsibilities: read a JSON body within a size limit and turn every kind of bad input into
a 4xx with a one-line message (``BadRequestError``), parse it into a pydantic model, build TLS
contexts, and run an ``aiohttp`` application either in the foreground (``run_forever``, the
CLI) or on a background thread (``BackgroundServer``, tests and benchmarks). No decisions
are made here and no metric is chosen here: the adapters own both.

Bad input, by cause -> status:

* body larger than the limit -> 413;
* ``Content-Type`` not JSON -> 415;
* not UTF-8, not JSON (NaN and Infinity literals included), or nested deeper than 1,024
  levels -> 400;
* JSON of the wrong shape (``pydantic.ValidationError``) -> 400 listing the first errors
  with their location, e.g. ``request.uid: Field required``.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import orjson
from aiohttp import web
from pydantic import BaseModel, ValidationError

log = logging.getLogger(__name__)

__all__ = [
    "BackgroundServer",
    "BadRequestError",
    "TlsFiles",
    "error_response",
    "new_application",
    "parse_body",
    "read_json",
    "run_forever",
    "server_ssl_context",
]

_Model = TypeVar("_Model", bound=BaseModel)
MAX_BODY_BYTES_KEY: web.AppKey[int] = web.AppKey("max_body_bytes", int)
_MAX_ERRORS_SHOWN = 5


class BadRequestError(Exception):
    """A client error with the HTTP status and a message fit for the client."""

    def __init__(self, status: int, message: str) -> None:
        self.status = status
        self.message = message
        super().__init__(f"HTTP {status}: {message}")


@dataclass(frozen=True)
class TlsFiles:
    """A PEM certificate (chain) and its private key."""

    cert: Path
    key: Path


def server_ssl_context(files: TlsFiles) -> ssl.SSLContext:
    """A TLS 1.2+ server context; a missing or mismatched file raises here, at start-up."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(certfile=str(files.cert), keyfile=str(files.key))
    return context


async def read_json(request: web.Request) -> Any:
    """The decoded JSON body, or ``BadRequestError`` (see module docstring for the statuses)."""
    if request.content_type not in ("application/json", ""):
        raise BadRequestError(
            415, f"expected Content-Type application/json, got {request.content_type}"
        )
    try:
        raw = await request.read()
    except web.HTTPRequestEntityTooLarge as too_large:
        raise BadRequestError(
            413, f"body larger than the limit of {request.app[MAX_BODY_BYTES_KEY]} bytes"
        ) from too_large
    if not raw:
        raise BadRequestError(400, "empty body: expected a JSON object")
    # orjson: the scheduler sends thousands of node names per request and the stdlib decoder
    # is the slower half of reading them. It checks UTF-8 and refuses NaN/Infinity literals
    # and nesting deeper than 1,024 levels, all as JSONDecodeError: a 400, never a crash.
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as error:
        raise BadRequestError(400, f"body is not JSON: {error.msg} at byte {error.pos}") from None


def parse_body(model: type[_Model], data: Any) -> _Model:
    """``model`` validated from ``data``, or a 400 naming where the shape is wrong."""
    if not isinstance(data, dict):
        raise BadRequestError(
            400, f"expected a JSON object for {model.__name__}, got {_json_type(data)}"
        )
    try:
        return model.model_validate(data)
    except ValidationError as error:
        problems = [
            f"{'.'.join(str(part) for part in entry['loc']) or '(body)'}: {entry['msg']}"
            for entry in error.errors(include_url=False, include_input=False)
        ]
        shown = "; ".join(problems[:_MAX_ERRORS_SHOWN])
        more = len(problems) - _MAX_ERRORS_SHOWN
        suffix = f" (and {more} more)" if more > 0 else ""
        raise BadRequestError(400, f"not a valid {model.__name__}: {shown}{suffix}") from None
    except RecursionError:
        raise BadRequestError(400, "body is nested too deeply to be a Kubernetes object") from None


def error_response(status: int, message: str) -> web.Response:
    """``{"error": message}`` with ``status``."""
    return web.json_response({"error": message}, status=status)


def _json_type(value: Any) -> str:
    names = {list: "an array", str: "a string", bool: "a boolean", type(None): "null"}
    return names.get(type(value), "a number")


def new_application(max_body_bytes: int) -> web.Application:
    """An application whose bodies are capped at ``max_body_bytes`` (413 beyond)."""
    app = web.Application(client_max_size=max_body_bytes)
    app[MAX_BODY_BYTES_KEY] = max_body_bytes
    return app


# One line per request at info: method, path, status, bytes, seconds (no query, no body: the
# bodies are workloads and may carry secrets in their env).
ACCESS_LOG_FORMAT = '%a "%r" %s %b %Tfs'


def run_forever(
    app: web.Application,
    *,
    name: str,
    host: str,
    port: int,
    ssl_context: ssl.SSLContext | None,
) -> None:
    """Serve until SIGINT/SIGTERM (aiohttp installs the handlers and shuts down cleanly).

    Says where it listens, once, and logs each request, both at info under ``carbon_kube``.
    """
    scheme = "https" if ssl_context is not None else "http"
    log.info("%s listening on %s://%s:%d", name, scheme, host, port)
    web.run_app(
        app,
        host=host,
        port=port,
        ssl_context=ssl_context,
        access_log=logging.getLogger(f"carbon_kube.access.{name}"),
        access_log_format=ACCESS_LOG_FORMAT,
        print=None,
    )


class BackgroundServer:
    """Serve ``app`` on a daemon thread with its own event loop; ``port=0`` picks a free one.

    ``start()`` returns once the socket is listening; ``stop()`` closes it and joins the thread.
    """

    def __init__(
        self,
        app: web.Application,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self._app = app
        self._host = host
        self._port = port
        self._ssl = ssl_context
        self._loop = asyncio.new_event_loop()
        self._runner = web.AppRunner(app, access_log=None)
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self.port = 0

    @property
    def url(self) -> str:
        scheme = "https" if self._ssl is not None else "http"
        return f"{scheme}://{self._host}:{self.port}"

    def start(self) -> BackgroundServer:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(timeout=30)
        return self

    async def _start(self) -> None:
        await self._runner.setup()
        site = web.TCPSite(self._runner, self._host, self._port, ssl_context=self._ssl)
        await site.start()
        self.port = int(self._runner.addresses[0][1])

    def stop(self) -> None:
        if not self._thread.is_alive():
            return
        asyncio.run_coroutine_threadsafe(self._stop(), self._loop).result(timeout=30)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=30)
        self._loop.close()

    async def _stop(self) -> None:
        server = self._runner.server
        await self._runner.cleanup()
        # Keep-alive connections (the apiserver and kube-scheduler hold them open) can outlive
        # cleanup; close their transports here rather than leave them to the garbage collector.
        for connection in list(server.connections if server is not None else ()):
            transport = connection.transport
            if transport is not None:
                transport.close()
        # A closing transport finishes on a later loop iteration (connection_lost). Closing the
        # loop before then leaves it to the garbage collector, whose ResourceWarning then lands
        # in whatever test runs next; wait (briefly) until every connection is gone.
        for _ in range(100):
            if server is None or not server.connections:
                break
            await asyncio.sleep(0.01)
        await asyncio.sleep(0)
        await self._loop.shutdown_default_executor()

    def __enter__(self) -> BackgroundServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
