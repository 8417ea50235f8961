"""Webhook admission latency on the live path at 100 admissions/s (goal: p99 < 20 ms).

The live path as the chart deploys it: the webhook plans on the published zone signal
(``--source published``: 48 h of history and a 72 h forecast per zone, made by the leader's
poller from the provider) with ``--forecast provider``, so the model, whichever won, never runs
at admission; what admission costs is reading the held document and planning on it. Here the
documents are built from the embedded DE and FR data and the provider forecast is the next
72 h of that data, published into the store the watch would fill.

The apiserver's side runs in another process (no shared interpreter lock): an open-loop
sender that POSTs one AdmissionReview (a flexible Job, max-delay 12 h, 2 h, allowed-zones
FR) every 1/rate seconds over keep-alive HTTP to ``/mutate``, whatever the previous answer's
latency, so queueing shows up as it would under a steady admission rate. Latency is measured
from the scheduled send time (coordinated omission counted). Figures, not pass/fail.
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing
import os
import statistics
import time
from datetime import UTC, datetime, timedelta
from multiprocessing.queues import Queue

from carbon_kube.domain.clock import FixedClock
from carbon_kube.domain.forecasts import QuantileForecast
from carbon_kube.domain.zones import Zone
from carbon_kube.planning import PlanningService, PlanningSettings
from carbon_kube.providers.embedded import EmbeddedProvider
from carbon_kube.providers.published import PublishedSignals, ZoneSignal
from carbon_kube.providers.regions import load_region_zone_map
from carbon_kube.serving import BackgroundServer
from carbon_kube.webhook.admission import serve_mutate
from carbon_kube.webhook.reviews import AdmissionReviewRequest
from carbon_kube.webhook.server import make_webhook_app

GOAL_P99_MS = 20.0
NOW = datetime(2026, 3, 10, 14, 20, tzinfo=UTC)
ZONES = (Zone("DE"), Zone("FR"))


def published_store(clock: FixedClock) -> PublishedSignals:
    """What the poller would have published for DE and FR at ``NOW``."""
    embedded = EmbeddedProvider(clock)
    store = PublishedSignals(clock)
    hour = NOW.replace(minute=0)
    for zone in ZONES:
        history = embedded.history(zone, hour - timedelta(hours=48), hour)
        ahead = embedded.history(zone, hour, hour + timedelta(hours=72)).values_g_per_kwh
        forecast = QuantileForecast(zone, "provider", hour, history.step, ahead, ahead, ahead)
        store.update(ZoneSignal(zone, "electricitymaps", NOW, history, forecast, model="provider"))
    return store


def review(index: int) -> bytes:
    job = {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {
            "name": f"bench-{index}",
            "namespace": "batch",
            "labels": {"carbon-kube.io/flexible": "true"},
            "annotations": {
                "carbon-kube.io/max-delay": "12h",
                "carbon-kube.io/expected-duration": "2h",
                "carbon-kube.io/allowed-zones": "FR",
            },
        },
        "spec": {
            "template": {
                "spec": {
                    "restartPolicy": "Never",
                    "containers": [
                        {
                            "name": "work",
                            "image": "registry.k8s.io/pause:3.10",
                            "resources": {"requests": {"cpu": "2", "memory": "4Gi"}},
                        }
                    ],
                }
            }
        },
    }
    kind = {"group": "batch", "version": "v1", "kind": "Job"}
    resource = {"group": "batch", "version": "v1", "resource": "jobs"}
    body = {
        "apiVersion": "admission.k8s.io/v1",
        "kind": "AdmissionReview",
        "request": {
            "uid": f"00000000-0000-0000-0000-{index:012d}",
            "kind": kind,
            "resource": resource,
            "requestKind": kind,
            "requestResource": resource,
            "name": f"bench-{index}",
            "namespace": "batch",
            "operation": "CREATE",
            "userInfo": {"username": "bench"},
            "object": job,
            "oldObject": None,
            "dryRun": False,
        },
    }
    return json.dumps(body).encode()


def _send_open_loop(port: int, rate_per_s: float, count: int, out: Queue[list[float]]) -> None:
    """The apiserver's side: one request every 1/rate s; latency from its scheduled time."""
    connection = http.client.HTTPConnection("127.0.0.1", port)
    headers = {"Content-Type": "application/json"}
    bodies = [review(i) for i in range(count)]
    interval_s = 1.0 / rate_per_s
    latencies: list[float] = []
    start = time.perf_counter() + 0.5
    for index, body in enumerate(bodies):
        scheduled = start + index * interval_s
        pause = scheduled - time.perf_counter()
        if pause > 0:
            time.sleep(pause)
        connection.request("POST", "/mutate", body=body, headers=headers)
        response = connection.getresponse()
        answer = response.read()
        if response.status != 200 or b'"allowed":true' not in answer.replace(b" ", b""):
            raise RuntimeError(f"/mutate answered {response.status}: {answer[:300]!r}")
        latencies.append(time.perf_counter() - scheduled)
    connection.close()
    out.put(latencies)


def percentile_ms(samples_s: list[float], q: float) -> float:
    ordered = sorted(samples_s)
    return 1000 * ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=100.0, help="admissions per second")
    parser.add_argument("--seconds", type=float, default=30.0, help="how long to send")
    options = parser.parse_args()

    clock = FixedClock(NOW)
    settings = PlanningSettings(home_zone="DE", policy="spatiotemporal", forecast="provider")
    planner = PlanningService(published_store(clock), clock, settings)
    first = serve_mutate(
        AdmissionReviewRequest.model_validate_json(review(0)),
        planner,
        regions=load_region_zone_map(),
    )
    planned = {
        op["path"].rsplit("~1", 1)[-1]: op["value"]
        for op in first.response.patch_operations
        if op["path"].startswith("/metadata/annotations/")
    }
    count = int(options.rate * options.seconds)
    spawn = multiprocessing.get_context("spawn")
    out: Queue[list[float]] = spawn.Queue()
    with BackgroundServer(make_webhook_app(planner)) as server:
        sender = spawn.Process(target=_send_open_loop, args=(server.port, options.rate, count, out))
        sender.start()
        samples: list[float] = out.get(timeout=options.seconds * 10 + 60)
        sender.join(timeout=60)
    load_1m, load_5m, _ = os.getloadavg()
    p50, p99 = percentile_ms(samples, 0.50), percentile_ms(samples, 0.99)
    mean = 1000 * statistics.fmean(samples)
    print(
        f"webhook /mutate on the published signal (forecast provider, policy spatiotemporal, "
        f"DE+FR): {len(samples)} admissions at {options.rate:g}/s open loop; load average "
        f"{load_1m:.1f} (1 min) {load_5m:.1f} (5 min) on {os.cpu_count()} cores"
    )
    print(
        f"  a plan: zone {planned.get('plan-zone')}, release {planned.get('release-at')}, "
        f"source {planned.get('signal-source')}, model {planned.get('forecast-model')}"
    )
    print(
        f"  p50 {p50:.2f} ms  p99 {percentile_ms(samples, 0.99):.2f} ms  max "
        f"{1000 * max(samples):.2f} ms  mean {mean:.2f} ms"
    )
    verdict = "meets" if p99 < GOAL_P99_MS else "misses"
    print(
        f"admission p99 {p99:.1f} ms at {options.rate:g}/s: {verdict} the < {GOAL_P99_MS:g} ms goal"
    )


if __name__ == "__main__":
    main()
