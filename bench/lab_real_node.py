"""What the installable path costs: image builds, a real node, and the chart to all-Ready.

Prints, one figure per line: image build seconds from an empty cache (cold) and with the
cached base and wheels (warm), each image's size; `lab up --real-node` seconds to every node
Ready (the images imported); `helm install` to every Deployment Available by its probes; the
first held Job's hold and release by the in-cluster webhook and controller; `lab down`
seconds and whether the host came back as it was (sysctls, iptables, links, cgroups, mounts).

    .venv/bin/python bench/lab_real_node.py [--warm-only]

Needs root, hack/ensure-real-node.sh, hack/ensure-image-tools.sh and hack/lab/build.sh
(kubelet included). Takes 5-8 min on 2 cores (3-4 of them the cold image build).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.images import build_seconds  # noqa: E402 - after the path
from tests.integration.helm_chart import CHART, run_helm  # noqa: E402
from tests.integration.images import CARBON_KUBE, SCHEDULER, Image, podman  # noqa: E402
from tests.integration.real_node import (  # noqa: E402
    ON_THE_REAL_NODE,
    chart_rolled_out,
    flexible_job,
    host_snapshot,
)

from carbon_kube.cli.lab import default_bin_dir  # noqa: E402
from carbon_kube.domain.annotations import LATEST_START  # noqa: E402
from carbon_kube.domain.instants import parse_rfc3339  # noqa: E402
from carbon_kube.kube.client import JOBS, NAMESPACES  # noqa: E402
from carbon_kube.lab.control_plane import run_down, run_up, wait_for  # noqa: E402
from carbon_kube.lab.settings import (  # noqa: E402
    LabSettings,
    RealNodeSettings,
    default_node_pools,
)

_MB = 1_000_000
_NAMESPACE = "carbon-kube"


def _size_mb(image: Image) -> tuple[float, float]:
    unpacked = int(podman("image", "inspect", "--format", "{{.Size}}", image.tag).stdout)
    return unpacked / _MB, image.archive.stat().st_size / _MB


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--warm-only", action="store_true", help="skip the cold image build")
    args = parser.parse_args(argv)
    default_cache = Path.home() / ".cache" / "carbon-kube" / "images"
    if not args.warm_only:
        with tempfile.TemporaryDirectory(prefix="carbon-kube-image-cold.") as cold:
            print(f"image build cold: {build_seconds(Path(cold)):.0f} s", flush=True)
    print(f"image build warm: {build_seconds(default_cache):.0f} s", flush=True)
    for image in (CARBON_KUBE, SCHEDULER):
        unpacked, archive = _size_mb(image)
        print(f"{image.name}: {unpacked:.0f} MB unpacked, {archive:.0f} MB archive")

    before = host_snapshot()
    with tempfile.TemporaryDirectory(prefix="carbon-kube-real-node.") as tmp:
        settings = LabSettings(
            bin_dir=default_bin_dir(),
            state_dir=Path(tmp) / "state",
            node_pools=default_node_pools(zones=1, nodes_per_zone=2),
            real_node=RealNodeSettings(
                python=Path(sys.executable), images=(CARBON_KUBE.archive, SCHEDULER.archive)
            ),
        )
        began = time.perf_counter()
        lab = run_up(settings)
        print(f"lab up --real-node (2 images imported): {time.perf_counter() - began:.1f} s")
        try:
            with lab.client() as kube:
                kube.create(NAMESPACES, {"apiVersion": "v1", "kind": "Namespace",
                                         "metadata": {"name": _NAMESPACE}})  # fmt: skip
                env = {"KUBECONFIG": str(lab.kubeconfig), "HELM_CACHE_HOME": f"{tmp}/helm"}
                values = (
                    *ON_THE_REAL_NODE,
                    "extender.enabled=true",
                    "nativeScheduler.enabled=true",
                )
                began = time.perf_counter()
                installed = run_helm(
                    "install", "ck", str(CHART), "--namespace", _NAMESPACE,
                    *[a for v in values for a in ("--set", v)], env=env,
                )  # fmt: skip
                if installed.returncode != 0:
                    raise SystemExit(installed.stderr)

                wait_for(
                    lambda: chart_rolled_out(kube, _NAMESPACE, 4),
                    timedelta(minutes=5),
                    "every Deployment Available",
                )
                ready_s = time.perf_counter() - began
                print(f"helm install to 4 Deployments (7 pods) Available: {ready_s:.1f} s")
                name = f"bench-{uuid.uuid4().hex[:6]}"
                created = time.perf_counter()
                kube.create(JOBS, flexible_job(name), namespace="default")
                held_job = kube.get(JOBS, name, namespace="default")
                held = held_job["spec"]["suspend"] is True
                latest = parse_rfc3339(
                    held_job["metadata"]["annotations"][LATEST_START], LATEST_START
                )
                created_at = parse_rfc3339(
                    held_job["metadata"]["creationTimestamp"], "creationTimestamp"
                )
                wait_for(
                    lambda: kube.get(JOBS, name, namespace="default")["spec"]["suspend"] is False,
                    timedelta(minutes=3),
                    "the release",
                )
                latest_s = (latest - created_at).total_seconds()
                print(
                    f"a Job held by the webhook pods: {held}; released by the controller pod "
                    f"{time.perf_counter() - created:.0f} s after creation (its latest safe "
                    f"start: {latest_s:.0f} s)"
                )
        finally:
            began = time.perf_counter()
            run_down(lab.state_dir)
            print(f"lab down: {time.perf_counter() - began:.1f} s")
    unchanged = host_snapshot() == before
    print(
        "end-to-end replay in pods vs the simulator: not measured (the chart's pods run on "
        "the real clock; the replay needs the lab's virtual clock in them)"
    )
    print(f"host unchanged after down (sysctls, iptables, links, cgroups, mounts): {unchanged}")
    return 0 if unchanged else 1


if __name__ == "__main__":
    sys.exit(main())
