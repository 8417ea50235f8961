"""Gate release lag (a benchmark, not a test): N scheduling-gated pods, real controller, real API.

Brings up its own lab (12 kwok nodes; state under /dev/shm), runs ``carbon-kube controller
run`` as a separate process on the wall clock (speed-up 1), creates N pods gated with
``carbon-kube.io/green-window`` whose ``release-at`` instants are spread uniformly over
``--spread-s`` seconds (whole seconds, as the annotation is written), and watches the pods.
The lag of a pod is the instant our watch sees its gate gone minus its ``release-at``.

The released pods select a node label no node has, so after release they stay Pending: the
benchmark measures the controller's release path (watch -> index -> PATCH -> apiserver ->
watch), not kube-scheduler throughput, which bench/lab_scale.py measures.

The lag is signed: with ``--release-ahead-max`` the controller starts a burst early (at the
assumed ``--release-ahead-rate``) so that its last pod goes out near its due instant; early
releases then have negative lags, and ``lag_min_s`` says how early the earliest was.

Prints one JSON object: pod creation time, lag p50/p90/p99/max/min, releases per second, and
the controller's CPU seconds and peak RSS. Run:
``.venv/bin/python bench/gate_release_lag.py [--pods 10000] [--spread-s 60]
[--release-ahead-max 2m --release-ahead-rate 120]``
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from carbon_kube.cli.lab import default_bin_dir, default_state_dir
from carbon_kube.domain.annotations import RELEASE_AT, SCHEDULING_GATE, format_rfc3339
from carbon_kube.kube.client import NAMESPACES, PODS, SERVICE_ACCOUNTS, KubeApiError, KubeClient
from carbon_kube.lab.control_plane import run_down, run_up, wait_for
from carbon_kube.lab.settings import LabSettings, default_node_pools

NAMESPACE = "gate-bench"


def _pod(name: str, release_at: datetime) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "annotations": {RELEASE_AT: format_rfc3339(release_at)}},
        "spec": {
            "schedulingGates": [{"name": SCHEDULING_GATE}],
            "nodeSelector": {"carbon-kube.dev/bench": "no-such-node"},
            "containers": [
                {
                    "name": "c",
                    "image": "registry.k8s.io/pause:3.10",
                    "resources": {"requests": {"cpu": "1m", "memory": "1Mi"}},
                }
            ],
        },
    }


def _proc_stats(pid: int) -> dict[str, float]:
    status = Path(f"/proc/{pid}/status").read_text()
    peak_kb = next(int(x.split()[1]) for x in status.splitlines() if x.startswith("VmHWM"))
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    cpu_s = (int(fields[11]) + int(fields[12])) / ticks
    return {"peak_rss_mib": peak_kb / 1024, "cpu_s": cpu_s}


class GateWatcher(threading.Thread):
    """Record the first instant each pod is seen without our gate."""

    def __init__(self, client: KubeClient, resource_version: str, want: int) -> None:
        super().__init__(daemon=True)
        self._client = client
        self._rv = resource_version
        self._want = want
        self.released: dict[str, datetime] = {}
        self.done = threading.Event()

    def run(self) -> None:
        while len(self.released) < self._want and not self.done.is_set():
            try:
                for event in self._client.watch(PODS, NAMESPACE, resource_version=self._rv):
                    obj = event.get("object") or {}
                    self._rv = (obj.get("metadata") or {}).get("resourceVersion", self._rv)
                    if event.get("type") != "MODIFIED":
                        continue
                    gates = (obj.get("spec") or {}).get("schedulingGates") or []
                    name = obj["metadata"]["name"]
                    if name not in self.released and not any(
                        g.get("name") == SCHEDULING_GATE for g in gates
                    ):
                        self.released[name] = datetime.now(UTC)
                    if len(self.released) >= self._want:
                        break
            except KubeApiError:
                time.sleep(0.5)
        self.done.set()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pods", type=int, default=10_000)
    parser.add_argument("--spread-s", type=int, default=60)
    parser.add_argument("--create-rate", type=float, default=150.0, help="expected pods/s")
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--release-concurrency", type=int, default=32)
    parser.add_argument(
        "--release-ahead-max", default="0s", help="the controller's --release-ahead-max"
    )
    parser.add_argument(
        "--release-ahead-rate", type=float, default=100.0, help="its --release-ahead-rate"
    )
    args = parser.parse_args()

    base = default_state_dir()
    state_dir = base.with_name(f"{base.name}-gate-bench")
    settings = LabSettings(
        bin_dir=default_bin_dir(),
        state_dir=state_dir,
        node_pools=default_node_pools(zones=3, nodes_per_zone=4),
        ready_timeout=timedelta(minutes=5),
    )
    lab = run_up(settings)
    controller: subprocess.Popen[bytes] | None = None
    log_path = state_dir / "controller.log"
    try:
        client = KubeClient.from_kubeconfig(lab.kubeconfig, pool_maxsize=args.threads * 2)
        for name in (NAMESPACE, "carbon-kube"):
            client.create(
                NAMESPACES, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}
            )

        def has_sa() -> bool:
            try:
                client.get(SERVICE_ACCOUNTS, "default", NAMESPACE)
            except KubeApiError:
                return False
            return True

        wait_for(has_sa, timedelta(seconds=60), "default ServiceAccount")
        cli = str(Path(sys.executable).parent / "carbon-kube")
        with log_path.open("wb") as log:
            controller = subprocess.Popen(  # noqa: S603 - our CLI
                [
                    cli,
                    "controller",
                    "run",
                    "--kubeconfig",
                    str(lab.kubeconfig),
                    "--kinds",
                    "pod",
                    "--no-label-nodes",
                    "--provider",
                    "none",
                    "--identity",
                    "bench",
                    "--log-level",
                    "WARNING",
                    "--release-concurrency",
                    str(args.release_concurrency),
                    "--release-ahead-max",
                    args.release_ahead_max,
                    "--release-ahead-rate",
                    str(args.release_ahead_rate),
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        time.sleep(5)

        listed = client.request("GET", PODS.collection(NAMESPACE), query={"limit": 1})
        watcher = GateWatcher(client, listed["metadata"]["resourceVersion"], args.pods)
        watcher.start()

        began = datetime.now(UTC)
        first_release = began + timedelta(seconds=args.pods / args.create_rate + 15)
        first_release = first_release.replace(microsecond=0) + timedelta(seconds=1)
        rng = random.Random(20261128)
        release_at = {
            f"p{i:05d}": first_release + timedelta(seconds=rng.randrange(args.spread_s))
            for i in range(args.pods)
        }
        created_at = time.perf_counter()
        with ThreadPoolExecutor(args.threads) as pool:
            list(
                pool.map(
                    lambda item: client.create(PODS, _pod(*item), NAMESPACE), release_at.items()
                )
            )
        creation_s = time.perf_counter() - created_at
        created_by = datetime.now(UTC)
        if created_by > first_release:
            print(
                f"warning: creation ended {created_by - first_release} after the first release-at",
                file=sys.stderr,
            )

        watcher.join(timeout=args.spread_s + 300)
        watcher.done.set()
        lags = np.array(
            [(seen - release_at[name]).total_seconds() for name, seen in watcher.released.items()]
        )
        stats = _proc_stats(controller.pid)
        last = max(watcher.released.values()) if watcher.released else None
        result = {
            "pods": args.pods,
            "spread_s": args.spread_s,
            "released_seen": len(watcher.released),
            "creation_s": round(creation_s, 1),
            "creation_pods_per_s": round(args.pods / creation_s, 1),
            "created_before_first_release": created_by <= first_release,
            "lag_p50_s": round(float(np.percentile(lags, 50)), 3) if lags.size else None,
            "lag_p90_s": round(float(np.percentile(lags, 90)), 3) if lags.size else None,
            "lag_p99_s": round(float(np.percentile(lags, 99)), 3) if lags.size else None,
            "lag_max_s": round(float(lags.max()), 3) if lags.size else None,
            "lag_min_s": round(float(lags.min()), 3) if lags.size else None,
            "early_releases": int((lags < 0).sum()),
            "releases_per_s_overall": round(
                len(watcher.released) / max((last - first_release).total_seconds(), 1e-9), 1
            )
            if last
            else None,
            "controller_cpu_s": round(stats["cpu_s"], 1),
            "controller_peak_rss_mib": round(stats["peak_rss_mib"], 1),
            "release_concurrency": args.release_concurrency,
            "release_ahead_max": args.release_ahead_max,
            "release_ahead_rate": args.release_ahead_rate,
            "cpus": os.cpu_count(),
        }
        print(json.dumps(result, indent=2))
    finally:
        if controller is not None and controller.poll() is None:
            controller.send_signal(signal.SIGTERM)
            try:
                controller.wait(timeout=30)
            except subprocess.TimeoutExpired:
                controller.kill()
        run_down(state_dir)


if __name__ == "__main__":
    main()
