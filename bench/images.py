"""What `make image` costs and weighs: cold and warm build seconds, sizes, the heaviest wheels.

Cold is from an empty image cache (mmdebstrap's base, every wheel, the package); warm reuses
the cached base and wheels, as a rebuild after a code change does. Sizes are podman's
(unpacked) and the OCI archive's (gzip layers, what a registry push transfers). The issue's
goals: < 200 MB for carbon-kube, < 60 MB for kube-scheduler-carbon.

    .venv/bin/python bench/images.py [--top 12]

Needs podman, mmdebstrap and skopeo (hack/ensure-image-tools.sh) and the scheduler binary
(hack/lab/build.sh scheduler-plugin). Takes 2-4 min on 2 cores.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.integration.images import ENV, Image, podman  # noqa: E402 - after the path

GOALS_MB = {"carbon-kube": 200, "kube-scheduler-carbon": 60}
_MB = 1_000_000


def build_seconds(cache: Path) -> float:
    began = time.perf_counter()
    built = subprocess.run(  # noqa: S603 - the project's own script
        [str(ROOT / "hack/image/build.sh")],
        env={**ENV, "CARBON_KUBE_IMAGE_CACHE": str(cache)},
        check=False,
        capture_output=True,
        text=True,
    )
    if built.returncode != 0:
        raise SystemExit(f"hack/image/build.sh failed:\n{built.stderr[-3000:]}")
    return time.perf_counter() - began


def heaviest(folder: Path, top: int) -> list[tuple[str, int]]:
    """The ``top`` largest entries of an installed-wheels folder, in bytes (files included)."""
    sizes = []
    for entry in folder.iterdir():
        files = [entry] if entry.is_file() else [p for p in entry.rglob("*") if p.is_file()]
        sizes.append((entry.name, sum(p.stat().st_size for p in files)))
    return sorted(sizes, key=lambda item: -item[1])[:top]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--top", type=int, default=12, help="how many wheels to list")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="carbon-kube-image-bench.") as tmp:
        cache = Path(tmp)
        cold = build_seconds(cache)
        warm = build_seconds(cache)
        deps = next(cache.glob("python-deps-*"))
        wheels = heaviest(deps, args.top)
        total_deps = sum(size for _, size in heaviest(deps, 10_000))
        base = next(cache.glob("debian-base-*.tar")).stat().st_size
    print(f"build: cold {cold:.0f} s, warm {warm:.0f} s ({os.cpu_count()} cores)")
    print("| image | unpacked MB | OCI archive MB | goal MB |")
    print("|---|---:|---:|---:|")
    sizes = {}
    for name, goal in GOALS_MB.items():
        image = Image(name)
        unpacked = int(podman("image", "inspect", "--format", "{{.Size}}", image.tag).stdout)
        sizes[name] = unpacked / _MB
        print(f"| {name} | {sizes[name]:.0f} | {image.archive.stat().st_size / _MB:.0f} | {goal} |")
    print(f"carbon-kube layers: Debian base {base / _MB:.0f} MB, wheels {total_deps / _MB:.0f} MB")
    print("| heaviest installed wheels (with .pyc) | MB |")
    print("|---|---:|")
    for name, size in wheels:
        print(f"| {name} | {size / _MB:.1f} |")
    print(
        ", ".join(f"{name} {sizes[name]:.0f} MB (goal < {goal})" for name, goal in GOALS_MB.items())
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
