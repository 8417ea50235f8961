# The README's two commands. Everything installs into .venv from pinned packages.
PY ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test unit setup lint lab-binaries image image-tools real-node-tools prometheus chromium cdk-cli dashboards clean

$(STAMP): pyproject.toml constraints.txt
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip==25.3
	$(BIN)/pip install --quiet -c constraints.txt -e '.[dev]'
	touch $(STAMP)

setup: $(STAMP)

## The main job on the embedded default data.
demo: $(STAMP)
	$(BIN)/carbon-kube simulate --out out/simulation

## Lint, types and layer contracts: no Go, no lab, seconds to a minute.
lint: $(STAMP)
	$(BIN)/ruff check src tests bench scripts
	$(BIN)/ruff format --check src tests bench scripts
	$(BIN)/mypy
	$(BIN)/lint-imports

## The unit and property tests: no Go build, no lab, no slow tools (Chromium, notebooks,
## cdk synth); under two minutes.
unit: $(STAMP)
	$(BIN)/python -m pytest tests/unit tests/property -q -m "not lab and not slow"

## Lint, then the Go plugin's gofmt, vet and tests, then every test (the lab's control plane
## is built if missing).
test: $(STAMP) lint lab-binaries image-tools real-node-tools prometheus chromium cdk-cli
	hack/lab/build.sh test-scheduler-plugin
	$(BIN)/python -m pytest

## The lab's control-plane binaries (etcd, kube-*, kwok, helm), built once into ~/.cache.
lab-binaries:
	hack/lab/build.sh

## Container images from registry packages: OCI archives in build/images/, loaded into podman.
image: $(STAMP)
	hack/image/build.sh

## Debian's mmdebstrap, podman, skopeo and runc for the images (installed if missing).
image-tools:
	hack/ensure-image-tools.sh

## Debian's containerd, runc and CNI plugins for the lab's real node (installed if missing).
real-node-tools:
	hack/ensure-real-node.sh

## Debian's prometheus and promtool for the rules and dashboard tests (installed if missing).
prometheus:
	hack/ensure-prometheus.sh

## Debian's chromium for the report's rendering test (installed if missing).
chromium:
	hack/ensure-chromium.sh

## The aws-cdk CLI pinned in cdk/package-lock.json, for the offline `cdk synth` test.
cdk-cli:
	cdk/install-cli.sh

## Regenerate the Grafana dashboards' JSON from code (commit the result).
dashboards: $(STAMP)
	$(BIN)/carbon-kube dashboards generate --out dashboards

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
