"""The CycloneDX SBOM of a carbon-kube image: its Python distributions and Debian packages.

Read from what is installed in the image (each ``*.dist-info`` of its Python folders, and the
base's dpkg list written by ``hack/image/debian-base.sh``), not from the lock file: what ships
is what is listed. Deterministic, as the image is: the serial number derives from the image's
name, version and revision, and the timestamp is ``SOURCE_DATE_EPOCH``.

    python scripts/image_sbom.py --name carbon-kube --version 0.1.0 --revision REV \
        [--python DIR ...] [--debian PACKAGES.tsv] [--go-binary FILE] --out sbom.cdx.json
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime
from importlib.metadata import Distribution, distributions
from pathlib import Path

from cyclonedx.contrib.license.factories import LicenseFactory
from cyclonedx.model.bom import Bom
from cyclonedx.model.component import Component, ComponentType
from cyclonedx.model.license import License
from cyclonedx.output.json import JsonV1Dot6
from packageurl import PackageURL

from carbon_kube.storage.atomic import write_text_atomically

# Debian's purl qualifiers for the base (hack/image/debian-base.sh builds bookworm).
DEBIAN_DISTRO = "debian-12"
_SBOM_NAMESPACE = uuid.UUID("5b0f0a2e-4f7e-4a53-9a8e-6f1c2b7d9e11")


def python_components(folders: Iterable[Path]) -> list[Component]:
    """One library component per installed distribution, with its declared licence."""
    found: dict[str, Component] = {}
    for folder in folders:
        for dist in distributions(path=[str(folder)]):
            name, version = dist.metadata["Name"], dist.version
            purl = PackageURL("pypi", name=name.lower().replace("_", "-"), version=version)
            found[str(purl)] = Component(
                type=ComponentType.LIBRARY,
                name=name,
                version=version,
                purl=purl,
                bom_ref=str(purl),
                licenses=_licences(dist),
            )
    return [found[ref] for ref in sorted(found)]


def debian_components(packages_tsv: Path) -> list[Component]:
    """One component per dpkg package (``name<TAB>version<TAB>arch`` lines)."""
    components = []
    for number, line in enumerate(packages_tsv.read_text(encoding="utf-8").splitlines(), 1):
        fields = line.split("\t")
        if len(fields) != 3:
            raise SystemExit(f"{packages_tsv}:{number}: expected name, version and arch")
        name, version, arch = fields
        purl = PackageURL(
            "deb",
            namespace="debian",
            name=name,
            version=version,
            qualifiers={"arch": arch, "distro": DEBIAN_DISTRO},
        )
        components.append(
            Component(
                type=ComponentType.LIBRARY,
                name=name,
                version=version,
                purl=purl,
                bom_ref=str(purl),
            )
        )
    return components


def go_components(binary: Path, main_version: str) -> list[Component]:
    """The Go toolchain's standard library and every module linked into ``binary``."""
    listing = subprocess.run(  # noqa: S603 - a fixed command on a file we just built
        ["go", "version", "-m", str(binary)],  # noqa: S607 - go from PATH, as the build used
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    modules = go_modules(listing, main_version)
    return [_go_component(path, version) for path, version in modules.items()]


def go_modules(listing: str, main_version: str) -> dict[str, str]:
    """Module path -> version from ``go version -m`` output, as linked.

    The main module (``mod``, built from this repository: ``(devel)`` to Go) gets
    ``main_version``; a ``=>`` line replaces the dep above it with the
    module actually linked, and a replacement by a local folder (no version) is left out rather
    than listed as ``(devel)``.
    """
    lines = listing.splitlines()
    modules = {"stdlib": lines[0].rsplit(" ", 1)[-1]}
    last = ""
    for line in lines[1:]:
        kind, *fields = line.strip().split("\t")
        if kind in ("mod", "dep") and len(fields) >= 2:
            last = fields[0]
            modules[last] = main_version if kind == "mod" else fields[1]
        elif kind == "=>":
            modules.pop(last, None)
            if len(fields) >= 2 and fields[1].startswith("v"):
                modules[fields[0]] = fields[1]
    return dict(sorted(modules.items()))


def _go_component(path: str, version: str) -> Component:
    namespace, _, name = path.rpartition("/")
    purl = PackageURL("golang", namespace=namespace or None, name=name, version=version)
    return Component(
        type=ComponentType.LIBRARY, name=path, version=version, purl=purl, bom_ref=str(purl)
    )


def build_bom(
    name: str, version: str, revision: str, components: list[Component], created: datetime
) -> Bom:
    bom = Bom(serial_number=uuid.uuid5(_SBOM_NAMESPACE, f"{name}@{version}+{revision}"))
    bom.metadata.timestamp = created
    bom.metadata.component = Component(
        type=ComponentType.CONTAINER, name=name, version=version, bom_ref=f"{name}@{version}"
    )
    for component in components:
        bom.components.add(component)
    # Everything is in the image; which package needs which is not recorded (flat graph).
    bom.register_dependency(bom.metadata.component, components)
    return bom


def _licences(dist: Distribution) -> list[License]:
    """The SPDX expression when declared (``License-Expression``), else the free-text field."""
    factory = LicenseFactory()
    expression = _field(dist, "License-Expression")
    if expression:
        return [factory.make_from_string(expression)]
    text = _field(dist, "License")
    if text and "\n" not in text and len(text) < 100:
        return [factory.make_from_string(text)]
    classifiers = [
        c.rsplit(" :: ", 1)[-1]
        for c in dist.metadata.get_all("Classifier") or []
        if c.startswith("License :: ")
    ]
    return [factory.make_from_string(c) for c in sorted(set(classifiers))]


def _field(dist: Distribution, name: str) -> str:
    values = dist.metadata.get_all(name) or []
    return str(values[0]).strip() if values else ""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--name", required=True)
    parser.add_argument("--version", required=True)
    parser.add_argument("--revision", required=True)
    parser.add_argument("--python", type=Path, action="append", default=[])
    parser.add_argument("--debian", type=Path)
    parser.add_argument("--go-binary", type=Path)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch is None:
        print("image_sbom: set SOURCE_DATE_EPOCH (the image's timestamp)", file=sys.stderr)
        return 2
    components = python_components(args.python)
    if args.debian is not None:
        components += debian_components(args.debian)
    if args.go_binary is not None:
        components += go_components(args.go_binary, args.version)
    created = datetime.fromtimestamp(int(epoch), UTC)
    bom = build_bom(args.name, args.version, args.revision, components, created)
    write_text_atomically(args.out, JsonV1Dot6(bom).output_as_string(indent=2) + "\n")
    print(f"image_sbom: {len(components)} components -> {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
