#!/usr/bin/env bash
# Build Carbon-Kube's container images from registry packages only (no container registry).
#
#   carbon-kube            the Python package and its pinned wheels on a Debian bookworm base
#                          made by mmdebstrap (hack/image/debian-base.sh); entrypoint
#                          `python3 -m carbon_kube`, used by controller, webhook and extender.
#   kube-scheduler-carbon  the static Go scheduler with the CarbonKubeEmissions plugin, built
#                          by hack/lab/build.sh into this cache (dated by the last commit of
#                          scheduler-plugin/, rebuilt when it changes), alone on an empty base.
#
# Each lands as an OCI archive in build/images/NAME-VERSION.oci.tar, with its CycloneDX SBOM
# beside it (and inside the image), and is loaded into local podman storage as
# localhost/NAME:VERSION. Both run as uid 65532 on a read-only root.
#
# Reproducible: file times are clamped to SOURCE_DATE_EPOCH (the commit's time unless set), the
# wheels are the ones constraints.txt pins, the .pyc files are hash-based (never stamped with a
# time, never checked against a source, which an image never changes), and Containerfiles only COPY (no RUN step, so no network or runtime at build time).
# Two builds from one commit give the same layer digests: `build.sh --check` builds twice and
# compares them.
#
# Cached under ${CARBON_KUBE_IMAGE_CACHE:-~/.cache/carbon-kube/images}, rebuilt when inputs change:
#   debian-base-KEY.tar   KEY = hash of debian-base.sh and the month (security updates monthly;
#                         CARBON_KUBE_BASE_REFRESH=<any text> forces a new base)
#   python-deps-KEY/      KEY = hash of constraints.txt, pyproject.toml's dependencies, this
#                         script, and the build Python's version, platform and pip
#   scheduler-bin/        hack/lab/build.sh scheduler-plugin's output, with its source digest
# One build at a time per cache (flock): contexts and pruning are shared.
#
# Usage: hack/image/build.sh [--check] [carbon-kube|kube-scheduler-carbon ...] (default: both)
set -euo pipefail
shopt -s inherit_errexit

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
CACHE="${CARBON_KUBE_IMAGE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/carbon-kube/images}"
OUT="$ROOT/build/images"
PY="${PYTHON:-$ROOT/.venv/bin/python}"
export CONTAINERS_CONF="$HERE/containers.conf"
mkdir -p "$CACHE" "$OUT"
exec 9>"$CACHE/.lock"
flock 9

log() { printf '[image %s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
hash_of() { cat "$@" | sha256sum | cut -c1-16; }
# prune PATTERN KEEP: remove cached builds of PATTERN other than KEEP (each is 100-700 MB).
prune() {
  find "$CACHE" -maxdepth 1 -name "$1" ! -name "$2" ! -name "$2.*" -exec rm -rf {} +
}

VERSION="$("$PY" -c 'import tomllib; print(tomllib.load(open("'"$ROOT"'/pyproject.toml", "rb"))["project"]["version"])')"
REVISION="$(git -C "$ROOT" rev-parse HEAD)"
if [[ -n "$(git -C "$ROOT" status --porcelain --untracked-files=no)" ]]; then
  REVISION="$REVISION-dirty"
fi
export SOURCE_DATE_EPOCH="${SOURCE_DATE_EPOCH:-$(git -C "$ROOT" log -1 --format=%ct)}"
CREATED="$(date -u -d "@$SOURCE_DATE_EPOCH" +%Y-%m-%dT%H:%M:%SZ)"
SOURCE_URL="https://github.com/carbon-kube/carbon-kube"

# debian_base: the cached base tarball's path (built when missing or its script changed).
debian_base() {
  local key tar epoch
  # The base's own epoch: when its script last changed, so commits elsewhere reuse it. It is part
  # of the key: a base built before the script's commit carries another date than a cold build.
  epoch="$(git -C "$ROOT" log -1 --format=%ct -- hack/image/debian-base.sh)"
  epoch="${epoch:-$SOURCE_DATE_EPOCH}"
  key="$(
    {
      cat "$HERE/debian-base.sh"
      echo "$epoch ${CARBON_KUBE_BASE_REFRESH:-$(date -u +%Y-%m)}"
    } | hash_of
  )"
  tar="$CACHE/debian-base-$key.tar"
  if [[ ! -f "$tar" ]]; then
    log "debian base $key: mmdebstrap bookworm (a minute or two)"
    SOURCE_DATE_EPOCH="$epoch" "$HERE/debian-base.sh" "$tar" >&2
    prune 'debian-base-*' "debian-base-$key.tar"
  fi
  printf '%s' "$tar"
}

# python_deps: the cached folder of the package's pinned runtime wheels, installed and compiled.
python_deps() {
  local key dir partial
  key="$(
    {
      cat "$ROOT/constraints.txt" "${BASH_SOURCE[0]}"
      runtime_requirements
      "$PY" -c 'import platform, sys; print(sys.version, platform.machine())'
      "$PY" -m pip --version | cut -d' ' -f2  # the version, not the venv's path
    } | hash_of
  )"
  dir="$CACHE/python-deps-$key"
  if [[ ! -d "$dir" ]]; then
    log "python deps $key: pip install --target (wheels only, as constraints.txt pins them)"
    partial="$dir.partial"
    rm -rf "$partial"
    "$PY" -m pip install --quiet --disable-pip-version-check --no-compile --only-binary=:all: \
      --target "$partial" -c "$ROOT/constraints.txt" -r <(runtime_requirements) >&2
    slim "$partial"
    compile "$partial" /opt/carbon-kube/deps
    mv "$partial" "$dir"
    prune 'python-deps-*' "python-deps-$key"
  fi
  printf '%s' "$dir"
}

runtime_requirements() {
  "$PY" -c 'import tomllib; print("\n".join(tomllib.load(open("'"$ROOT"'/pyproject.toml", "rb"))["project"]["dependencies"]))'
}

# slim DIR: drop what no process of ours reads: the wheels' own test suites and console scripts.
slim() {
  find "$1" -depth -type d -name tests \
    \( -path "$1/pandas/tests" -o -path "$1/numpy/*tests" -o -path "$1/scipy/*tests" \
       -o -path "$1/pyarrow/tests" -o -path "$1/matplotlib/tests" \) -exec rm -rf {} +
  rm -rf "$1/bin"
  # Their RECORD lines too: each hashes a script whose shebang names the build's venv, so two
  # checkouts wrote different RECORDs (a fresh clone's --check failed on them).
  sed -i '\#^\.\./\.\./bin/#d' "$1"/*.dist-info/RECORD
}

# compile DIR WHERE: hash-based .pyc, not stamped with the source's mtime (reproducible) and not
# checked against the source at import (an image's sources never change; a read-only root could
# not take a rewrite anyway), naming the files by WHERE they live in the image.
compile() {
  "$PY" -m compileall -q -j 2 --invalidation-mode unchecked-hash -s "$1" -p "$2" "$1" >/dev/null
}

# app_layer DIR: the carbon-kube package itself (no dependencies), installed and compiled. The
# wheel is built from a copy of the tracked files: in place, setuptools would reuse build/lib
# (modules deleted from src/ kept shipping) and untracked files would ship unlabelled.
app_layer() {
  local dir="$1" tree wheels
  rm -rf "$dir" && mkdir -p "$dir"
  tree="$(mktemp -d)"
  wheels="$(mktemp -d)"
  git -C "$ROOT" ls-files -z | tar -C "$ROOT" --null -T - --ignore-failed-read -cf - 2>/dev/null \
    | tar -C "$tree" -xf -
  "$PY" -m pip wheel --quiet --disable-pip-version-check --no-deps \
    -w "$wheels" "$tree" >/dev/null
  "$PY" -m pip install --quiet --disable-pip-version-check --no-deps --no-compile \
    --target "$dir" "$wheels"/carbon_kube-*.whl
  rm -rf "$tree" "$wheels" "$dir/bin"
  # PEP 610's record of where the wheel was installed from: a temporary path, different at
  # every build, and meaningless inside the image.
  rm "$dir"/carbon_kube-*.dist-info/direct_url.json
  sed -i '/direct_url.json/d' "$dir"/carbon_kube-*.dist-info/RECORD
  compile "$dir" /opt/carbon-kube/app
}

labels() {
  local title="$1" description="$2" licenses="$3"
  printf -- '--label=%s\n' \
    "org.opencontainers.image.title=$title" \
    "org.opencontainers.image.description=$description" \
    "org.opencontainers.image.version=$VERSION" \
    "org.opencontainers.image.revision=$REVISION" \
    "org.opencontainers.image.created=$CREATED" \
    "org.opencontainers.image.source=$SOURCE_URL" \
    "org.opencontainers.image.licenses=$licenses"
}

# finish NAME CONTEXT TITLE DESCRIPTION LICENSES: podman build, save the OCI archive, report size.
finish() {
  local name="$1" context="$2" title="$3" description="$4" licenses="$5" tag archive
  tag="localhost/$name:$VERSION"
  local previous built label_args
  mapfile -t label_args < <(labels "$title" "$description" "$licenses")
  previous="$(podman image inspect --format '{{.Id}}' "$tag" 2>/dev/null || true)"
  # --no-cache: podman's layer cache ignores --timestamp, so it handed back layers stamped with
  # an earlier commit's time (a fresh clone's --check failed on them). COPY-only layers cost the
  # same to rebuild as to look up.
  built="$(podman build --quiet --pull=never --no-cache --timestamp "$SOURCE_DATE_EPOCH" \
    --network=none "${label_args[@]}" -t "$tag" -f "$context/Containerfile" "$context")"
  # The image the tag pointed at before is now unnamed: remove it unless a container or another
  # tag still uses it (no --force: never someone's container).
  if [[ -n "$previous" && "$previous" != "$built" ]]; then
    podman rmi "$previous" >/dev/null 2>&1 || true
  fi
  archive="$OUT/$name-$VERSION.oci.tar"
  rm -f "$archive.partial"
  podman save --quiet --format oci-archive -o "$archive.partial" "$tag"
  mv "$archive.partial" "$archive"
  cp "$context/sbom.cdx.json" "$OUT/$name-$VERSION.cdx.json"
  log "$name: $tag, $(image_mb "$tag") MB unpacked, $(($(stat -c %s "$archive") / 1000000)) MB archive"
}

image_mb() {
  podman image inspect --format '{{.Size}}' "$1" | awk '{printf "%d", $1 / 1000000}'
}

build_carbon_kube() {
  local started base deps context
  started=$(date +%s)
  base="$(debian_base)"
  deps="$(python_deps)"
  context="$CACHE/context-carbon-kube"
  rm -rf "$context" && mkdir -p "$context"
  # Hard links, not copies: the context lives in the cache beside its sources.
  ln "$base" "$context/debian-base.tar"
  cp -al "$deps" "$context/deps"
  app_layer "$context/app"
  "$PY" "$ROOT/scripts/image_sbom.py" --name carbon-kube --version "$VERSION" \
    --revision "$REVISION" --python "$context/deps" --python "$context/app" \
    --debian "$base.packages.tsv" --out "$context/sbom.cdx.json"
  cp "$HERE/carbon-kube.Containerfile" "$context/Containerfile"
  finish carbon-kube "$context" "Carbon-Kube" \
    "Carbon-aware scheduling for Kubernetes batch work: controller, webhook, extender" \
    "Apache-2.0"
  log "carbon-kube: $(($(date +%s) - started)) s"
}

build_scheduler() {
  local started bin binary context
  started=$(date +%s)
  # Its own copy: the lab's binary carries the day it was built. The lab script rebuilds it when
  # scheduler-plugin/ (or the date) changed and skips it otherwise; the stamped date is the last
  # commit of scheduler-plugin/, not HEAD's, so a cached binary stays the one a cold build makes.
  local epoch
  bin="$CACHE/scheduler-bin"
  epoch="$(git -C "$ROOT" log -1 --format=%ct -- scheduler-plugin)"
  if ! SOURCE_DATE_EPOCH="${epoch:-$SOURCE_DATE_EPOCH}" CARBON_KUBE_LAB_BIN="$bin" \
    "$ROOT/hack/lab/build.sh" scheduler-plugin >"$CACHE/scheduler-build.log" 2>&1; then
    log "kube-scheduler-carbon did not build; the end of $CACHE/scheduler-build.log:"
    tail -n 30 "$CACHE/scheduler-build.log" >&2
    exit 1
  fi
  binary="$bin/kube-scheduler-carbon"
  context="$CACHE/context-kube-scheduler-carbon"
  rm -rf "$context" && mkdir -p "$context"
  cp "$binary" "$context/kube-scheduler-carbon"
  touch -d "@$SOURCE_DATE_EPOCH" "$context/kube-scheduler-carbon"
  "$PY" "$ROOT/scripts/image_sbom.py" --name kube-scheduler-carbon --version "$VERSION" \
    --revision "$REVISION" --go-binary "$context/kube-scheduler-carbon" \
    --out "$context/sbom.cdx.json"
  cp "$HERE/kube-scheduler-carbon.Containerfile" "$context/Containerfile"
  finish kube-scheduler-carbon "$context" "kube-scheduler-carbon" \
    "kube-scheduler v1.36.3 with the CarbonKubeEmissions Score plugin" "Apache-2.0"
  log "kube-scheduler-carbon: $(($(date +%s) - started)) s"
}

# layer_digests NAME: the image's layer digests, from its OCI archive.
layer_digests() {
  skopeo inspect --format '{{range .Layers}}{{.}} {{end}}' \
    "oci-archive:$OUT/$1-$VERSION.oci.tar"
}

build() {
  local name
  for name in "$@"; do
    case "$name" in
      carbon-kube) build_carbon_kube ;;
      kube-scheduler-carbon) build_scheduler ;;
      *) echo "build.sh: unknown image '$name' (carbon-kube, kube-scheduler-carbon)" >&2; exit 2 ;;
    esac
  done
}

check=0
if [[ "${1:-}" == "--check" ]]; then check=1; shift; fi
images=("$@")
[[ ${#images[@]} -eq 0 ]] && images=(carbon-kube kube-scheduler-carbon)
"$ROOT/hack/ensure-image-tools.sh"

build "${images[@]}"
if [[ $check -eq 1 ]]; then
  declare -A first
  for name in "${images[@]}"; do first[$name]="$(layer_digests "$name")"; done
  # The second build starts from an empty cache (base, wheels, scheduler binary), as on another
  # machine.
  CACHE="$(mktemp -d "${TMPDIR:-/tmp}/carbon-kube-image-check.XXXXXX")"
  trap 'rm -rf "$CACHE"' EXIT
  log "--check: building again from the same commit, cold, in $CACHE"
  build "${images[@]}"
  for name in "${images[@]}"; do
    if [[ "${first[$name]}" != "$(layer_digests "$name")" ]]; then
      log "$name: NOT reproducible: layer digests differ between two builds"
      exit 1
    fi
    log "$name: reproducible ($(wc -w <<<"${first[$name]}") layers, same digests twice)"
  done
fi
