"""``follow`` survives a watch stream that breaks mid-chunk, and starts over from a list.

A broken stream (an apiserver restarted or a connection cut inside a chunk) cannot be produced
on demand by the lab's apiserver, so this loopback server answers a list, then a watch whose
chunked body stops in the middle of a chunk, then the list again.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import kubernetes.client
import pytest

from carbon_kube.kube.client import JsonObject, KubeClient
from carbon_kube.kube.informer import follow
from carbon_kube.kube.resources import CONFIG_MAPS


def _config_map(name: str, version: str) -> dict[str, Any]:
    return {"metadata": {"name": name, "resourceVersion": version}, "data": {"v": version}}


@pytest.fixture
def apiserver() -> Iterator[tuple[str, list[str]]]:
    seen: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            watching = "watch=true" in self.path
            seen.append("watch" if watching else "list")
            if not watching:
                body = json.dumps(
                    {"metadata": {"resourceVersion": "1"}, "items": [_config_map("a", "1")]}
                ).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                return
            event = json.dumps({"type": "MODIFIED", "object": _config_map("a", "2")}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            line = event + b"\n"
            self.wfile.write(f"{len(line):x}\r\n".encode() + line + b"\r\n")
            self.wfile.write(b'400\r\n{"type": "MODIF')  # a chunk cut short
            self.wfile.flush()
            self.close_connection = True

        def log_message(self, format: str, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", seen
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.loopback
def test_a_watch_cut_mid_chunk_is_retried_from_a_fresh_list(
    apiserver: tuple[str, list[str]],
) -> None:
    url, seen = apiserver
    configuration = kubernetes.client.Configuration()
    configuration.host = url
    client = KubeClient(kubernetes.client.ApiClient(configuration))
    changes: list[tuple[str, str]] = []
    stop = threading.Event()

    def on_change(name: str, obj: JsonObject | None) -> None:
        changes.append((name, str((obj or {}).get("data", {}).get("v"))))
        if seen.count("list") >= 2:
            stop.set()

    worker = threading.Thread(
        target=follow,
        args=(client, CONFIG_MAPS, "ns", on_change, stop),
        kwargs={"retry_s": 0.05},
        daemon=True,
    )
    worker.start()
    worker.join(timeout=10)
    stop.set()  # end it either way, so a failure cannot hang the run

    assert seen[:3] == ["list", "watch", "list"], "follow never started over after the cut"
    assert not worker.is_alive()
    assert changes[:2] == [("a", "1"), ("a", "2")]
