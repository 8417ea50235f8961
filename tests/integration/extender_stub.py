"""A recording kube-scheduler HTTP extender for integration tests.

The real kube-scheduler calls it (``/filter``, ``/prioritize``); it records every call and,
for pods annotated with :data:`PREFER_NODE_ANNOTATION`, scores that node 10 and all others 0.
Other pods get neutral scores, so the stub never disturbs tests that do not ask for it.

Wire format: the extender types in k8s.io/kube-scheduler/extender/v1 have no json tags, so
keys are Go field names (``Pod``, ``Nodes``, ``NodeNames``, ``FailedNodes``, ``Host``, ``Score``).
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

PREFER_NODE_ANNOTATION = "lab-test.carbon-kube.dev/prefer-node"
MAX_EXTENDER_SCORE = 10


@dataclass
class ExtenderCall:
    verb: str
    pod: str
    node_names: list[str]
    scores: dict[str, int] = field(default_factory=dict)


def _node_names(args: dict[str, Any]) -> list[str]:
    if args.get("NodeNames") is not None:  # nodeCacheCapable: true
        return [str(n) for n in args["NodeNames"]]
    nodes = (args.get("Nodes") or {}).get("items") or []
    return [str(n["metadata"]["name"]) for n in nodes]


class RecordingExtender:
    """Serves the extender protocol on 127.0.0.1 in a daemon thread and records calls."""

    def __init__(self) -> None:
        self.calls: list[ExtenderCall] = []
        self._lock = threading.Lock()
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                args = json.loads(self.rfile.read(length) or b"{}")
                answer = recorder.answer(self.path.strip("/"), args)
                body = json.dumps(answer).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                return  # keep pytest output clean

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> RecordingExtender:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def calls_for(self, pod: str, verb: str | None = None) -> list[ExtenderCall]:
        with self._lock:
            return [c for c in self.calls if c.pod == pod and (verb is None or c.verb == verb)]

    def answer(self, verb: str, args: dict[str, Any]) -> Any:
        pod = args.get("Pod") or {}
        metadata = pod.get("metadata") or {}
        pod_key = f"{metadata.get('namespace')}/{metadata.get('name')}"
        names = _node_names(args)
        call = ExtenderCall(verb=verb, pod=pod_key, node_names=names)
        if verb == "filter":
            result: Any = {
                "NodeNames": names,
                "FailedNodes": {},
                "FailedAndUnresolvableNodes": {},
                "Error": "",
            }
        elif verb == "prioritize":
            preferred = (metadata.get("annotations") or {}).get(PREFER_NODE_ANNOTATION)
            call.scores = {n: (MAX_EXTENDER_SCORE if n == preferred else 0) for n in names}
            result = [{"Host": n, "Score": s} for n, s in call.scores.items()]
        else:
            result = {"Error": f"unknown verb {verb}"}
        with self._lock:
            self.calls.append(call)
        return result
