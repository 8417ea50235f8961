"""Lab scheduling throughput with and without carbon-aware scoring, in one run.

Goal (issue "Enforcement", item 8): pods scheduled per second with carbon-aware scoring >= 90 %
of the same without it. Two ways to score are measured against the plain default profile: the
HTTP extender and the native Score plugin (``kube-scheduler-carbon``, scheduler-plugin/).

One lab (real etcd, kube-apiserver, kwok nodes; state under /dev/shm), one extender process
(``carbon-kube extender serve`` listing the lab's Nodes, on the lab's virtual clock and the
embedded intensity data) when the extender profile is measured. The nodes carry the labels
the controller writes (grid zone, intensity, power per vCPU and GiB) with fixed per-region
intensities (BENCH_INTENSITY; us-east-1 without: neutral), which is all the native plugin
reads. Then, for each profile in turn:

1. create ``--pods`` identical pods (10m CPU, 16 MiB) whose ``spec.schedulerName`` names
   that profile, while no scheduler for it runs (so creation speed cannot limit scheduling);
2. start a scheduler process with one profile: ``bench-default`` (kube-scheduler, in-tree
   plugins only), ``carbon-kube-scheduler`` (the same plus the extender: prioritize only by
   default, ``--verbs filter,prioritize`` to add the filter; nodeCacheCapable, weight 5,
   ignorable) or ``carbon-kube-native`` (kube-scheduler-carbon: in-tree plugins plus
   CarbonKubeEmissions at weight 5, the same top weight as the extender's 10 x 5 x 10); the
   ``schedulerName`` pattern of docs/enforcement.md, all with the same client QPS/burst as the
   lab's own scheduler;
3. watch the namespace and note when each pod gets its ``nodeName``; the throughput is
   ``(pods - 1) / (last bind - first bind)`` (steady state, without the scheduler's start-up),
   and ``pods / (last bind - scheduler start)`` is printed too.

The lab's own ``default-scheduler`` keeps running and ignores both kinds of pods. Pods stay
(the nodes have room for all of them); before the next measurement kwok is left to mark the
previous pods Running, so its writes do not compete. Rounds rotate the order of the
profiles (the cluster is fuller for whichever runs later, and the load of a shared machine
drifts); each carbon profile's goal is judged on the median of its per-round ratios to the
default profile of the same round, and every round is printed. Prints one JSON object; about
15 minutes on 2 cores with the defaults (three profiles).
Run: ``.venv/bin/python bench/extender_throughput.py [--nodes 500] [--pods 2000] [--rounds 4]
[--profiles default,native,extender]``.
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
from collections import Counter
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import yaml

from carbon_kube.cli.lab import default_bin_dir
from carbon_kube.domain.zones import Zone
from carbon_kube.kube.client import NAMESPACES, PODS, SERVICE_ACCOUNTS, KubeClient
from carbon_kube.lab.control_plane import run_down, run_up, wait_for
from carbon_kube.lab.processes import free_loopback_ports, start_process, stop_process
from carbon_kube.lab.settings import LabSettings, NodePool
from carbon_kube.lab.state import LabState
from carbon_kube.operator.nodes import node_label_patch
from carbon_kube.providers.regions import load_region_zone_map

_log = logging.getLogger("extender_throughput")

GOAL_RATIO = 0.90


@dataclass(frozen=True)
class Profile:
    """One scheduler process with one profile named ``scheduler_name``."""

    scheduler_name: str
    binary: str
    extender: bool = False
    native_plugin: bool = False


PROFILES = {
    "default": Profile("bench-default", "kube-scheduler"),
    "extender": Profile("carbon-kube-scheduler", "kube-scheduler", extender=True),
    "native": Profile("carbon-kube-native", "kube-scheduler-carbon", native_plugin=True),
    # A control, not a product profile: kube-scheduler-carbon with the plugin left out, to
    # tell the binary's cost from the plugin's.
    "native-off": Profile("carbon-kube-native-off", "kube-scheduler-carbon"),
}
BASELINE = "default"
NATIVE_PLUGIN = "CarbonKubeEmissions"
# Illustrative whole-g/kWh intensities for the node labels (values do not change the cost of
# scoring); us-east-1 gets none, so some nodes score neutral as in the extender's runs.
BENCH_INTENSITY = {"eu-west-1": 290.0, "eu-central-1": 380.0, "eu-west-3": 56.0}
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


def _carbon_labels(region: str, instance_type: str) -> tuple[tuple[str, str], ...]:
    """The labels the controller would write on a node of this pool (its own function)."""
    regions = load_region_zone_map()
    zone = regions.zone_for(region)
    intensity = BENCH_INTENSITY.get(region)
    patch = node_label_patch(
        {"node.kubernetes.io/instance-type": instance_type}, Zone(zone), intensity
    )
    labels = patch["metadata"]["labels"] if patch else {}
    return tuple(sorted((k, v) for k, v in labels.items() if v is not None))


def _scheduler_config(
    kubeconfig: Path, profile: Profile, extender_url: str | None, verbs: tuple[str, ...]
) -> dict[str, Any]:
    entry: dict[str, Any] = {"schedulerName": profile.scheduler_name}
    if profile.native_plugin:
        entry["plugins"] = {"multiPoint": {"enabled": [{"name": NATIVE_PLUGIN, "weight": 5}]}}
    config: dict[str, Any] = {
        "apiVersion": "kubescheduler.config.k8s.io/v1",
        "kind": "KubeSchedulerConfiguration",
        "clientConnection": {
            "kubeconfig": str(kubeconfig),
            "qps": CLIENT_QPS,
            "burst": CLIENT_BURST,
        },
        "leaderElection": {"leaderElect": False},
        "profiles": [entry],
    }
    if profile.extender:
        assert extender_url is not None
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
            try:
                self._record(
                    self._kube.watch(
                        PODS, self._namespace, resource_version=self._version, timeout_s=30
                    )
                )
            except Exception:
                # A watch still open when the lab stops ends with a connection error; after
                # stop() that is the expected end, not a failure worth a traceback.
                if self._stop.is_set():
                    return
                raise

    def _record(self, events: Iterable[dict[str, Any]]) -> None:
        for event in events:
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
    profile: Profile,
    extender_url: str | None,
    pods: int,
    threads: int,
    directory: Path,
    round_index: int,
    verbs: tuple[str, ...],
) -> dict[str, Any]:
    namespace = _namespace(profile, round_index)
    kube.create(
        NAMESPACES, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}}
    )
    wait_for(
        lambda: bool(kube.list(SERVICE_ACCOUNTS, namespace)),
        timedelta(minutes=2),
        f"{namespace}/default ServiceAccount",
    )
    with ThreadPoolExecutor(max_workers=threads) as pool:
        list(
            pool.map(
                lambda i: kube.create(PODS, _pod(i, profile.scheduler_name), namespace),
                range(pods),
            )
        )
    listed = kube.request("GET", PODS.collection(namespace), query={"limit": 1})
    recorder = BindRecorder(kube, namespace, listed["metadata"]["resourceVersion"]).start()
    config_path = directory / f"{profile.scheduler_name}.yaml"
    config_path.write_text(
        yaml.safe_dump(_scheduler_config(state.kubeconfig, profile, extender_url, verbs))
    )
    (port,) = free_loopback_ports(1)
    started = time.monotonic()
    scheduler = start_process(
        f"scheduler-{profile.scheduler_name}",
        default_bin_dir() / profile.binary,
        [f"--config={config_path}", "--bind-address=127.0.0.1", f"--secure-port={port}"],
        directory,
    )
    try:
        wait_for(
            lambda: len(recorder.bound_at) >= pods,
            timedelta(minutes=20),
            f"{pods} pods bound by {profile.scheduler_name}",
            poll=timedelta(seconds=1),
        )
    finally:
        stop_process(scheduler)
        recorder.stop()
    times = sorted(recorder.bound_at.values())
    # Where the pods went (node names start with their zone): shows the carbon scoring acted.
    by_zone = Counter(
        next((z for z, _, _ in POOLS if pod["spec"]["nodeName"].startswith(z)), "other")
        for pod in kube.list(PODS, namespace)
    )
    first, last = times[0], times[-1]
    _log.info(
        "%s: %d pods bound in %.1f s after the first", profile.scheduler_name, pods, last - first
    )
    return {
        "pods": pods,
        "first_to_last_bind_s": round(last - first, 2),
        "pods_per_s": round((pods - 1) / (last - first), 1),
        "start_to_last_bind_s": round(last - started, 2),
        "pods_per_s_from_start": round(pods / (last - started), 1),
        "pods_by_zone": dict(sorted(by_zone.items())),
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


def _namespace(profile: Profile, round_index: int) -> str:
    return f"bench-{profile.scheduler_name}-{round_index}"


def run(
    nodes: int,
    pods: int,
    rounds: int,
    threads: int,
    verbs: tuple[str, ...],
    profiles: tuple[str, ...] = ("default", "native", "extender"),
) -> dict[str, Any]:
    per_pool = max(1, nodes // len(POOLS))
    settings = LabSettings(
        bin_dir=default_bin_dir(),
        state_dir=Path(f"/dev/shm/carbon-kube-throughput-{os.getuid()}"),  # noqa: S108 - tmpfs for etcd
        node_pools=tuple(
            NodePool(
                availability_zone=z,
                region=r,
                count=per_pool,
                instance_type=t,
                cpu="16",
                memory="64Gi",
                labels=_carbon_labels(r, t),
            )
            for z, r, t in POOLS
        ),
        ready_timeout=timedelta(minutes=10),
        client_qps=CLIENT_QPS,
        client_burst=CLIENT_BURST,
    )
    t0 = time.monotonic()
    load_before = os.getloadavg()
    state = run_up(settings)
    result: dict[str, Any] = {
        "nodes": per_pool * len(POOLS),
        "pods_per_profile_per_round": pods,
        "profiles": {name: PROFILES[name].scheduler_name for name in profiles},
        "extender_verbs": list(verbs),
        "lab_up_s": round(time.monotonic() - t0, 1),
        "load_average_at_start": [round(x, 2) for x in load_before],
        "rounds": [],
    }
    directory = state.state_dir / "bench"
    directory.mkdir(exist_ok=True)
    try:
        with (
            KubeClient.from_kubeconfig(state.kubeconfig, pool_maxsize=threads) as kube,
            _extender(state, directory)
            if "extender" in profiles
            else nullcontext() as extender_url,
        ):
            for round_index in range(rounds):
                # Rotate the order: every profile runs first, second, ... in turn.
                shift = round_index % len(profiles)
                order = [*profiles[shift:], *profiles[:shift]]
                figures = {}
                for name in order:
                    profile = PROFILES[name]
                    figures[name] = _measure_profile(
                        state,
                        kube,
                        profile,
                        extender_url,
                        pods,
                        threads,
                        directory,
                        round_index,
                        verbs,
                    )
                    # kwok is still marking the pods Running: let it finish, so its
                    # writes do not land in the next profile's measurement.
                    wait_for(
                        lambda p=profile, r=round_index: _pending(kube, _namespace(p, r)) == 0,
                        timedelta(minutes=10),
                        f"kwok to start every pod of {profile.scheduler_name}",
                        poll=timedelta(seconds=2),
                    )
                base = figures[BASELINE]["pods_per_s"]
                ratios = {
                    name: round(figures[name]["pods_per_s"] / base, 3)
                    for name in profiles
                    if name != BASELINE
                }
                result["rounds"].append({"order": order, **figures, "ratio": ratios})
            if extender_url is not None:
                result["extender_requests"] = _extender_calls(extender_url)
    finally:
        run_down(state.state_dir)
    result["goal"] = f"with carbon scoring >= {GOAL_RATIO:.0%} of without (median over rounds)"
    result["ratios"] = {}
    for name in profiles:
        if name == BASELINE:
            continue
        values = [r["ratio"][name] for r in result["rounds"]]
        median = round(statistics.median(values), 3)
        result["ratios"][name] = {
            "median": median,
            "min": min(values),
            "max": max(values),
            "goal_met": median >= GOAL_RATIO,
        }
    result["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
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
    parser.add_argument(
        "--profiles",
        default="default,native,extender",
        help="profiles to measure, default first: default (in-tree plugins), native "
        "(kube-scheduler-carbon's CarbonKubeEmissions plugin), extender (the HTTP extender); "
        "native-off (kube-scheduler-carbon without the plugin, a control)",
    )
    args = parser.parse_args()
    profiles = tuple(p.strip() for p in args.profiles.split(",") if p.strip())
    if BASELINE not in profiles or not set(profiles) <= set(PROFILES) or len(profiles) < 2:
        parser.error(
            f"--profiles: default and at least one of native, extender; got {args.profiles!r}"
        )
    verbs = tuple(v.strip() for v in args.verbs.split(",") if v.strip())
    if not verbs or not set(verbs) <= {"filter", "prioritize"}:
        parser.error(f"--verbs: expected filter and/or prioritize, got {args.verbs!r}")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    # A background job ignores SIGINT; turn SIGTERM into SystemExit so `finally` runs `down`.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    result = run(args.nodes, args.pods, args.rounds, args.threads, verbs, profiles)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
