"""The cluster plans on a live provider's data: one poller, published signals, no API at admission.

A loopback server speaks Electricity Maps v3 (``tests/provider_server.py``) on the lab's virtual
clock. The controller (a real process) polls it for DE and publishes the zone's signal as a
ConfigMap; the webhook (a real process, registered with the lab's apiserver) is given no API
URL at all, only ``--source published``, and plans a real Job on what the controller published.
Then the provider goes down: the controller's cache serves, the published signal and the next
plan say ``stale``; the provider comes back: fresh again within a poll.
"""

from __future__ import annotations

import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from carbon_kube.domain.annotations import (
    EXPECTED_DURATION,
    FLEXIBLE_LABEL,
    FORECAST_MODEL,
    MAX_DELAY,
    RELEASE_AT,
    SIGNAL_SOURCE,
    SIGNAL_STALE,
)
from carbon_kube.domain.instants import floor_to_hour, parse_rfc3339
from carbon_kube.domain.intensity import IntensitySeries
from carbon_kube.domain.zones import Zone
from carbon_kube.kube.client import JOBS, NAMESPACES, KubeApiError, KubeClient
from carbon_kube.kube.resources import CONFIG_MAPS
from carbon_kube.lab.clock import VirtualClock
from carbon_kube.lab.control_plane import wait_for
from carbon_kube.lab.processes import RunningProcess, free_loopback_ports, stop_process, tail_log
from carbon_kube.lab.state import LabState
from carbon_kube.providers.electricitymaps import TOKEN_ENV_VAR
from carbon_kube.providers.published import ZoneSignal, decode, object_name
from tests.builders import hourly_weather
from tests.integration.controller_process import ControllerProcess
from tests.integration.kube_objects import make_job
from tests.integration.servers import MUTATING, start_server, webhook_configuration
from tests.integration.tls import write_serving_cert
from tests.openmeteo_server import OpenMeteoServer
from tests.provider_server import TOKEN, ElectricityMapsServer, serving

pytestmark = pytest.mark.lab

CARBON_KUBE = Path(sys.executable).parent / "carbon-kube"
DE = Zone("DE")
HOUR = timedelta(hours=1)
# Real seconds: at the lab's 60x a 5-minute poll is 5 s.
SETTLE = timedelta(seconds=90)


@dataclass
class Cluster:
    api: ElectricityMapsServer
    dip_at: datetime
    namespace: str
    controller: ControllerProcess
    webhook: RunningProcess
    logs: Path

    def output(self) -> str:
        return "\n".join(
            f"--- {path.name}\n{tail_log(path, lines=20)}" for path in sorted(self.logs.glob("*"))
        )


def _hourly(start: datetime, values: list[float]) -> IntensitySeries:
    return IntensitySeries(zone=DE, start=start, step=HOUR, values_g_per_kwh=np.asarray(values))


def _lease_namespace(kube: KubeClient) -> None:
    """The chart's namespace, where the controller's Lease lives."""
    try:
        kube.create(
            NAMESPACES,
            {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "carbon-kube"}},
        )
    except KubeApiError as error:
        if not error.is_conflict:
            raise


@pytest.fixture
def cluster(lab: LabState, kube: KubeClient, namespace: str, tmp_path: Path) -> Iterator[Cluster]:
    _lease_namespace(kube)
    clock = lab.clock()
    now = floor_to_hour(clock.now())
    truth = _hourly(now - timedelta(days=3), [300.0] * (6 * 24))
    # The provider forecasts one clean hour, 4 h from now; history alone (flat) would not.
    forecast = [380.0] * (3 * 24)
    forecast[4] = 45.0
    dip_at = now + 4 * HOUR
    api = ElectricityMapsServer(
        now=clock.now, truth={DE: truth}, forecasts={DE: _hourly(now, forecast)}
    )
    logs = tmp_path / "logs"
    logs.mkdir()
    with serving(api):
        controller = _poller(lab, clock, api, namespace, tmp_path).start()
        cert = write_serving_cert(tmp_path / "tls")
        (port,) = free_loopback_ports(1)
        url = f"https://127.0.0.1:{port}"
        ca_file = tmp_path / "tls" / "ca.pem"
        ca_file.write_bytes(cert.ca_pem)
        webhook = None
        registration = f"carbon-kube-live-{uuid.uuid4().hex[:6]}"
        try:
            # No provider URL, no token: the webhook can only plan on what is published.
            webhook = start_server(
                CARBON_KUBE,
                "webhook",
                ["webhook", "serve", "--host", "127.0.0.1", "--port", str(port),
                 "--tls-cert", str(cert.cert), "--tls-key", str(cert.key),
                 "--home-zone", "DE", "--policy", "temporal", "--forecast", "provider",
                 "--source", "published", "--signal-namespace", namespace,
                 "--lab-state-dir", str(lab.state_dir)],
                logs, f"{url}/healthz", ca_file,
            )  # fmt: skip
            kube.create(
                MUTATING,
                webhook_configuration(registration, url, cert.ca_pem, namespace=namespace),
            )
            yield Cluster(api, dip_at, namespace, controller, webhook, logs)
        finally:
            kube.delete(MUTATING, registration)
            if webhook is not None:
                stop_process(webhook)
            controller.stop()


def _poller(
    lab: LabState,
    clock: VirtualClock,
    api: ElectricityMapsServer,
    namespace: str,
    tmp_path: Path,
    *extra_args: str,
) -> ControllerProcess:
    """The controller that polls ``api`` for DE and publishes into ``namespace`` (not started)."""
    return ControllerProcess(
        lab.state_dir,
        clock,
        f"lease-{uuid.uuid4().hex[:8]}",
        tmp_path / "logs" / "controller.log",
        extra_args=(
            *("--kinds", "job", "--no-label-nodes"),
            *("--source", "electricitymaps", "--electricitymaps-url", api.base_url),
            *("--cache", str(tmp_path / "controller-cache.sqlite")),
            *("--publish-zones", "DE", "--signal-namespace", namespace),
            *extra_args,
        ),
        identity="poller",
        env={TOKEN_ENV_VAR: TOKEN},
    )


def _published(kube: KubeClient, namespace: str) -> ZoneSignal | None:
    try:
        config_map = kube.get(CONFIG_MAPS, object_name(DE), namespace)
    except KubeApiError:
        return None
    return decode(config_map["data"])


def _held_job(kube: KubeClient, namespace: str) -> dict[str, str]:
    """Create a flexible Job (probing until the webhook is called) and return its annotations."""
    created: dict[str, str] = {}

    def held() -> bool:
        job = make_job(f"j-{uuid.uuid4().hex[:6]}").build()
        job["metadata"]["labels"] = {FLEXIBLE_LABEL: "true"}
        job["metadata"]["annotations"] = {MAX_DELAY: "6h", EXPECTED_DURATION: "1h"}
        answer = kube.create(JOBS, job, namespace)
        created.clear()
        created.update(answer["metadata"].get("annotations") or {})
        return SIGNAL_SOURCE in created

    wait_for(held, SETTLE, "a Job planned by the webhook", poll=timedelta(seconds=1))
    return created


def test_every_plan_uses_the_published_provider_signal_and_says_when_it_is_stale(
    cluster: Cluster, kube: KubeClient
) -> None:
    ns = cluster.namespace
    wait_for(lambda: _published(kube, ns) is not None, SETTLE, "DE's signal published")
    signal = _published(kube, ns)
    assert signal is not None, cluster.output()
    assert (signal.source, signal.model, signal.stale) == ("electricitymaps", "provider", False)

    fresh = _held_job(kube, ns)

    assert fresh[SIGNAL_SOURCE] == "electricitymaps", cluster.output()
    assert fresh[FORECAST_MODEL] == "provider"
    assert fresh[SIGNAL_STALE] == "false"
    assert parse_rfc3339(fresh[RELEASE_AT], RELEASE_AT) == cluster.dip_at

    # The provider goes down: the controller's cache serves, flagged, and plans say so.
    issued = signal.issued_at
    cluster.api.fault = "down"

    def stale_published() -> bool:
        now = _published(kube, ns)
        return now is not None and now.issued_at > issued and now.stale

    wait_for(stale_published, SETTLE, "a stale signal published while the provider is down")
    stale = _held_job(kube, ns)
    assert stale[SIGNAL_STALE] == "true", cluster.output()
    assert stale[SIGNAL_SOURCE] == "electricitymaps"

    # Back: fresh within a poll.
    cluster.api.fault = None
    down_issued = _published(kube, ns)
    assert down_issued is not None

    def fresh_again() -> bool:
        now = _published(kube, ns)
        return now is not None and now.issued_at > down_issued.issued_at and not now.stale

    wait_for(fresh_again, SETTLE, "a fresh signal once the provider is back")
    assert "Traceback" not in cluster.output()
    assert {path for path, _ in cluster.api.requests} >= {
        "/v3/carbon-intensity/forecast",
        "/v3/carbon-intensity/past-range",
    }


def test_the_pollers_learned_model_trains_on_the_weather_it_fetched(
    lab: LabState, kube: KubeClient, namespace: str, tmp_path: Path
) -> None:
    """``--signal-model lightgbm --signal-weather open-meteo``: the published signal names it."""
    _lease_namespace(kube)
    clock = lab.clock()
    now = floor_to_hour(clock.now())
    days = 100
    hours = np.arange(days * 24)
    truth = _hourly(now - days * 24 * HOUR, list(300.0 + 80.0 * np.sin(2 * np.pi * hours / 24)))
    weather = hourly_weather(now - (days + 1) * 24 * HOUR, days + 3)
    api = ElectricityMapsServer(now=clock.now, truth={DE: truth}, forecasts={})
    logs = tmp_path / "logs"
    logs.mkdir()
    with serving(api), serving(OpenMeteoServer(now=clock.now, truth=weather)) as meteo:
        controller = _poller(
            lab, clock, api, namespace, tmp_path,
            *("--signal-model", "lightgbm", "--signal-weather", "open-meteo"),
            *("--openmeteo-forecast-url", meteo.forecast_url),
            *("--openmeteo-archive-url", meteo.archive_url),
        ).start()  # fmt: skip
        try:
            wait_for(lambda: _published(kube, namespace) is not None, SETTLE, "DE published")
        finally:
            controller.stop()
    signal = _published(kube, namespace)
    output = tail_log(logs / "controller.log", lines=40)
    assert signal is not None, output
    assert (signal.model, signal.weather) == ("lightgbm", "open-meteo observed"), (
        signal.error,
        output,
    )
    assert [path for path, _, _ in meteo.requests] == ["/v1/archive", "/v1/forecast"]
    assert "Traceback" not in output
