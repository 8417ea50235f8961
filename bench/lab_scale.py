"""Scale check of the lab (a benchmark, not a test): 1,000 kwok nodes, 10,000 pods.

Brings up its own lab (state dir under /dev/shm), creates the nodes and pods, and reports:
- pod creation rate (client -> apiserver),
- scheduling throughput: pods bound per second by the real kube-scheduler,
- time until kwok reports every pod Running,
- peak and current RSS of kube-apiserver and etcd (from /proc/<pid>/status).

Run: ``.venv/bin/python bench/lab_scale.py [--nodes 1000] [--pods 10000]``. Prints one JSON
object; record it with the machine's description (numbers from a 2-core VM are not a
laptop's). The lab is taken down at the end, also on Ctrl-C.
"""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from typing import Any

from carbon_kube.cli.lab import default_bin_dir
from carbon_kube.kube.client import NAMESPACES, PODS, SERVICE_ACCOUNTS, KubeClient
from carbon_kube.lab.control_plane import run_down, run_up, wait_for
from carbon_kube.lab.settings import LabSettings, NodePool
from carbon_kube.lab.state import LabState

_log = logging.getLogger("lab_scale")

ZONES = (
    ("eu-west-1a", "eu-west-1"),
    ("eu-central-1a", "eu-central-1"),
    ("us-east-1a", "us-east-1"),
    ("us-west-2a", "us-west-2"),
)


def _proc_memory_kb(pid: int) -> dict[str, int]:
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in {"VmRSS", "VmHWM"}:
            fields[key] = int(value.split()[0])
    return fields


def _pod(index: int) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": f"bench-{index:05d}", "labels": {"app": "bench"}},
        "spec": {
            "restartPolicy": "Never",
            "containers": [
                {
                    "name": "work",
                    "image": "registry.k8s.io/pause:3.10",
                    "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}},
                }
            ],
        },
    }


def _count(kube: KubeClient, namespace: str, field_selector: str) -> int:
    count = len(kube.list(PODS, namespace, field_selector=field_selector))
    _log.info("%d pods match %s", count, field_selector)
    return count


def run(nodes: int, pods: int, threads: int) -> dict[str, Any]:
    per_zone = max(1, nodes // len(ZONES))
    pools = tuple(
        NodePool(
            availability_zone=z, region=r, count=per_zone, cpu="16", memory="64Gi", max_pods=250
        )
        for z, r in ZONES
    )
    settings = LabSettings(
        bin_dir=default_bin_dir(),
        state_dir=Path("/dev/shm/carbon-kube-lab-bench"),  # noqa: S108 - tmpfs for etcd
        node_pools=pools,
        ready_timeout=timedelta(minutes=10),
        client_qps=5000,
        client_burst=10000,
    )
    t0 = time.monotonic()
    state: LabState = run_up(settings)
    result: dict[str, Any] = {
        "nodes": per_zone * len(ZONES),
        "pods": pods,
        "lab_up_s": round(time.monotonic() - t0, 1),
    }
    try:
        with KubeClient.from_kubeconfig(state.kubeconfig, pool_maxsize=threads) as kube:
            kube.create(
                NAMESPACES, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "bench"}}
            )
            wait_for(
                lambda: bool(kube.list(SERVICE_ACCOUNTS, "bench")),
                timedelta(minutes=2),
                "bench/default ServiceAccount",
            )
            start = time.monotonic()
            with ThreadPoolExecutor(max_workers=threads) as pool:
                list(pool.map(lambda i: kube.create(PODS, _pod(i), "bench"), range(pods)))
            created = time.monotonic()
            _log.info("created %d pods in %.1f s", pods, created - start)
            wait_for(
                lambda: _count(kube, "bench", "spec.nodeName=") == 0,
                timedelta(minutes=30),
                "all pods bound",
                poll=timedelta(seconds=5),
            )
            bound = time.monotonic()
            _log.info("all pods bound after %.1f s", bound - start)
            wait_for(
                lambda: _count(kube, "bench", "status.phase!=Running") == 0,
                timedelta(minutes=30),
                "all pods Running",
                poll=timedelta(seconds=5),
            )
            running = time.monotonic()
        result |= {
            "create_s": round(created - start, 1),
            "create_pods_per_s": round(pods / (created - start), 1),
            "all_bound_s": round(bound - start, 1),
            "scheduled_pods_per_s": round(pods / (bound - start), 1),
            "all_running_s": round(running - start, 1),
        }
        for process in state.processes:
            if process.name in {"kube-apiserver", "etcd", "kube-scheduler", "kwok"}:
                memory = _proc_memory_kb(process.pid)
                result[f"{process.name}_rss_mib"] = round(memory["VmRSS"] / 1024)
                result[f"{process.name}_peak_rss_mib"] = round(memory["VmHWM"] / 1024)
    finally:
        run_down(state.state_dir)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=1000)
    parser.add_argument("--pods", type=int, default=10_000)
    parser.add_argument("--threads", type=int, default=16)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    # A background job ignores SIGINT; turn SIGTERM into SystemExit so `finally` runs `down`.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    print(json.dumps(run(args.nodes, args.pods, args.threads), indent=2))


if __name__ == "__main__":
    main()
