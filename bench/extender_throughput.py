"""Lab scheduling throughput with and without the carbon-kube extender, in one run.

Goal (issue "Enforcement", item 8): pods scheduled per second with the extender >= 90 % of
the same without it.

One lab (real etcd, kube-apiserver, kwok nodes; state under /dev/shm), one extender process
(``carbon-kube extender serve`` listing the lab's Nodes, on the lab's virtual clock and the
embedded intensity data). Then, for each profile in turn:

1. create ``--pods`` identical pods (10m CPU, 16 MiB) whose ``spec.schedulerName`` names
   that profile, while no scheduler for it runs (so creation speed cannot limit scheduling);
2. start a kube-scheduler process with one profile: ``bench-default`` (in-tree plugins only)
   or ``carbon-kube-scheduler`` (the same plus the extender: prioritize only by default,
   ``--verbs filter,prioritize`` to add the filter; nodeCacheCapable, weight 5, ignorable, the
   ``schedulerName`` pattern of docs/enforcement.md);
   both with the same client QPS/burst as the lab's own scheduler;
3. watch the namespace and note when each pod gets its ``nodeName``; the throughput is
   ``(pods - 1) / (last bind - first bind)`` (steady state, without the scheduler's start-up),
   and ``pods / (last bind - scheduler start)`` is printed too.

The lab's own ``default-scheduler`` keeps running and ignores both kinds of pods. Pods stay
(the nodes have room for all of them); before the next measurement kwok is left to mark the
previous pods Running, so its writes do not compete. Rounds alternate the order of the two
profiles (the cluster is fuller for whichever runs second, and the load of a shared machine
drifts); the goal is judged on the median of the per-round ratios, and every round is printed.
Prints one JSON object; about 10 minutes on 2 cores with the defaults.
Run: ``.venv/bin/python bench/extender_throughput.py [--nodes 500] [--pods 2000] [--rounds 4]``.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import yaml

from carbon_kube.kube.client import NAMESPACES, PODS, SERVICE_ACCOUNTS, KubeClient
from carbon_kube.lab.control_plane import LabState, run_down, run_up, wait_for
from carbon_kube.lab.processes import free_loopback_ports, start_process, stop_process
from carbon_kube.lab.settings import LabSettings, NodePool, default_bin_dir

_log = logging.getLogger("extender_throughput")

GOAL_RATIO = 0.90
CARBON_PROFILE = "carbon-kube-scheduler"
PLAIN_PROFILE = "bench-default"
# Regions with embedded data (IE, DE, FR) and one without (us-east-1: neutral score), and
# two instance families, so the extender's scores differ between nodes.
POOLS = (
    ("eu-west-1a", "eu-west-1", "m6i.2xlarge"),
    ("eu-central-1a", "eu-central-1", "m6g.2xlarge"),
    ("eu-west-3a", "eu-west-3", "c5.4xlarge"),
    ("us-east-1a", "us-east-1", "m6i.2xlarge"),
)
CLIENT_QPS = 500
CLIENT_BURST = 1000


def _pod(index: int, scheduler_name: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": f"p-{index:05d}", "labels": {"app": "bench"}},
        "spec": {
            "schedulerName": scheduler_name,
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


def _scheduler_config(
    kubeconfig: Path, profile: str, extender_url: str | None, verbs: tuple[str, ...]
) -> dict[str, Any]:
    config: dict[str, Any] = {
        "apiVersion": "kubescheduler.config.k8s.io/v1",
        "kind": "KubeSchedulerConfiguration",
        "clientConnection": {
            "kubeconfig": str(kubeconfig),
            "qps": CLIENT_QPS,
            "burst": CLIENT_BURST,
        },
        "leaderElection": {"leaderElect": False},
        "profiles": [{"schedulerName": profile}],
    }
    if extender_url is not None:
        config["extenders"] = [
            {
                "urlPrefix": extender_url,
                **{f"{verb}Verb": verb for verb in verbs},
                "weight": 5,
                "nodeCacheCapable": True,
                "ignorable": True,
                "httpTimeout": "1s",
            }
        ]
    return config


@contextmanager
def _extender(state: LabState, directory: Path) -> Iterator[str]:
    """``carbon-kube extender serve`` as its own process, as it runs in a cluster."""
    (port,) = free_loopback_ports(1)
    binary = Path(sys.executable).with_name("carbon-kube")
    log = (directory / "extender.log").open("wb")
    process = subprocess.Popen(  # noqa: S603 - our own CLI, fixed arguments
        [
            str(binary),
            "extender",
            "serve",
            f"--port={port}",
            "--home-zone=DE",
            f"--kubeconfig={state.kubeconfig}",
            f"--lab-state-dir={state.state_dir}",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: _healthy(url), timedelta(seconds=60), "the extender to answer /healthz")
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()


def _healthy(url: str) -> bool:
    try:
        return httpx.get(f"{url}/healthz", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


class BindRecorder:
    """Watches a namespace and notes the monotonic time each pod first has a nodeName."""

    def __init__(self, kube: KubeClient, namespace: str, resource_version: str) -> None:
        self.bound_at: dict[str, float] = {}
        self._kube = kube
        self._namespace = namespace
        self._version = resource_version
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> BindRecorder:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()

    def _run(self) -> None:
        while not self._stop.is_set():
            for event in self._kube.watch(
                PODS, self._namespace, resource_version=self._version, timeout_s=30
            ):
                obj = event["object"]
                self._version = obj["metadata"].get("resourceVersion", self._version)
                name = obj["metadata"].get("name")
                if obj.get("spec", {}).get("nodeName") and name not in self.bound_at:
                    self.bound_at[name] = time.monotonic()
                if self._stop.is_set():
                    return


def _measure_profile(
    state: LabState,
    kube: KubeClient,
    profile: str,
    extender_url: str | None,
    pods: int,
    threads: int,
    directory: Path,
    round_index: int,
    verbs: tuple[str, ...],
) -> dict[str, Any]:
    namespace = f"bench-{profile}-{round_index}"
    kube.create(
        NAMESPACES, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}}
    )
    wait_for(
        lambda: bool(kube.list(SERVICE_ACCOUNTS, namespace)),
        timedelta(minutes=2),
        f"{namespace}/default ServiceAccount",
    )
    with ThreadPoolExecutor(max_workers=threads) as pool:
        list(pool.map(lambda i: kube.create(PODS, _pod(i, profile), namespace), range(pods)))
    listed = kube.request("GET", PODS.collection(namespace), query={"limit": 1})
    recorder = BindRecorder(kube, namespace, listed["metadata"]["resourceVersion"]).start()
    config_path = directory / f"{profile}.yaml"
    config_path.write_text(
        yaml.safe_dump(_scheduler_config(state.kubeconfig, profile, extender_url, verbs))
    )
    (port,) = free_loopback_ports(1)
    started = time.monotonic()
    scheduler = start_process(
        f"scheduler-{profile}",
        default_bin_dir() / "kube-scheduler",
        [f"--config={config_path}", "--bind-address=127.0.0.1", f"--secure-port={port}"],
        directory,
    )
    try:
        wait_for(
            lambda: len(recorder.bound_at) >= pods,
            timedelta(minutes=20),
            f"{pods} pods bound by {profile}",
            poll=timedelta(seconds=1),
        )
    finally:
        stop_process(scheduler)
        recorder.stop()
    times = sorted(recorder.bound_at.values())
    first, last = times[0], times[-1]
    _log.info("%s: %d pods bound in %.1f s after the first", profile, pods, last - first)
    return {
        "pods": pods,
        "first_to_last_bind_s": round(last - first, 2),
        "pods_per_s": round((pods - 1) / (last - first), 1),
        "start_to_last_bind_s": round(last - started, 2),
        "pods_per_s_from_start": round(pods / (last - started), 1),
    }


def _extender_calls(url: str) -> dict[str, Any]:
    """Requests per verb and status, and the mean time the extender took per verb."""
    text = httpx.get(f"{url}/metrics", timeout=10).text
    values: dict[str, float] = {}
    for line in text.splitlines():
        if line.startswith("carbon_kube_extender_request"):
            name, _, value = line.rpartition(" ")
            values[name] = float(value)
    calls: dict[str, Any] = {
        name.removeprefix("carbon_kube_extender_requests_total"): value
        for name, value in values.items()
        if name.startswith("carbon_kube_extender_requests_total{")
    }
    for verb in ("filter", "prioritize"):
        total = values.get(f'carbon_kube_extender_request_seconds_sum{{verb="{verb}"}}', 0.0)
        count = values.get(f'carbon_kube_extender_request_seconds_count{{verb="{verb}"}}', 0.0)
        if count:
            calls[f"{verb}_mean_ms_in_extender"] = round(1000 * total / count, 3)
    return calls


def run(nodes: int, pods: int, rounds: int, threads: int, verbs: tuple[str, ...]) -> dict[str, Any]:
    per_pool = max(1, nodes // len(POOLS))
    settings = LabSettings(
        bin_dir=default_bin_dir(),
        state_dir=Path(f"/dev/shm/carbon-kube-throughput-{os.getuid()}"),  # noqa: S108 - tmpfs for etcd
        node_pools=tuple(
            NodePool(zone=z, region=r, count=per_pool, instance_type=t, cpu="16", memory="64Gi")
            for z, r, t in POOLS
        ),
        ready_timeout=timedelta(minutes=10),
        client_qps=CLIENT_QPS,
        client_burst=CLIENT_BURST,
    )
    t0 = time.monotonic()
    state = run_up(settings)
    result: dict[str, Any] = {
        "nodes": per_pool * len(POOLS),
        "pods_per_profile_per_round": pods,
        "extender_verbs": list(verbs),
        "lab_up_s": round(time.monotonic() - t0, 1),
        "rounds": [],
    }
    directory = state.state_dir / "bench"
    directory.mkdir(exist_ok=True)
    try:
        with (
            KubeClient.from_kubeconfig(state.kubeconfig, pool_maxsize=threads) as kube,
            _extender(state, directory) as extender_url,
        ):
            for round_index in range(rounds):
                order = [(PLAIN_PROFILE, None), (CARBON_PROFILE, extender_url)]
                if round_index % 2 == 1:
                    order.reverse()
                figures = {}
                for profile, url in order:
                    figures[profile] = _measure_profile(
                        state, kube, profile, url, pods, threads, directory, round_index, verbs
                    )
                    # kwok is still marking the pods Running: let it finish, so its
                    # writes do not land in the next profile's measurement.
                    wait_for(
                        lambda p=profile, r=round_index: _pending(kube, f"bench-{p}-{r}") == 0,
                        timedelta(minutes=10),
                        f"kwok to start every pod of {profile}",
                        poll=timedelta(seconds=2),
                    )
                ratio = figures[CARBON_PROFILE]["pods_per_s"] / figures[PLAIN_PROFILE]["pods_per_s"]
                result["rounds"].append(
                    {"order": [p for p, _ in order], **figures, "ratio": round(ratio, 3)}
                )
            result["extender_requests"] = _extender_calls(extender_url)
    finally:
        run_down(state.state_dir)
    ratios = [r["ratio"] for r in result["rounds"]]
    result["ratio_median"] = round(statistics.median(ratios), 3)
    result["ratio_min"], result["ratio_max"] = min(ratios), max(ratios)
    result["goal"] = f"with extender >= {GOAL_RATIO:.0%} of without (median over rounds)"
    result["goal_met"] = result["ratio_median"] >= GOAL_RATIO
    result["load_average_1m_at_end"] = round(os.getloadavg()[0], 2)
    return result


def _pending(kube: KubeClient, namespace: str) -> int:
    return len(kube.list(PODS, namespace, field_selector="status.phase=Pending"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=500)
    parser.add_argument("--pods", type=int, default=2000, help="per profile and round")
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--threads", type=int, default=16)
    parser.add_argument(
        "--verbs",
        default="prioritize",
        help="extender verbs the carbon-kube profile calls: prioritize (the default, one call a "
        "pod) or filter,prioritize (the filter is optional: allowed-zones is node affinity)",
    )
    args = parser.parse_args()
    verbs = tuple(v.strip() for v in args.verbs.split(",") if v.strip())
    if not verbs or not set(verbs) <= {"filter", "prioritize"}:
        parser.error(f"--verbs: expected filter and/or prioritize, got {args.verbs!r}")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    # A background job ignores SIGINT; turn SIGTERM into SystemExit so `finally` runs `down`.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    print(json.dumps(run(args.nodes, args.pods, args.rounds, args.threads, verbs), indent=2))


if __name__ == "__main__":
    main()
