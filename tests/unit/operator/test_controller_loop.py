"""The controller's release loop without a cluster: due work is patched once, the rest waits."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any

from carbon_kube.domain.annotations import RELEASED_REASON, SCHEDULING_GATE
from carbon_kube.domain.workloads import WorkloadKind
from carbon_kube.kube.client import KubeApiError
from carbon_kube.observability.metrics import REGISTRY
from carbon_kube.operator.controller import Controller
from carbon_kube.operator.settings import ControllerSettings, WallClock
from carbon_kube.providers.regions import load_region_zone_map
from tests.builders import HOUR, T0
from tests.held_workloads import held_pod


class RecordingClient:
    """Stands in for KubeClient.patch; fails the first patch of names in ``fail_once``."""

    def __init__(self, fail_once: set[str] | None = None) -> None:
        self.patches: list[tuple[str, Any, str]] = []
        self._fail_once = set(fail_once or ())

    def patch(
        self, resource: Any, name: str, body: Any, namespace: str | None = None, **kw: Any
    ) -> dict[str, Any]:
        if name in self._fail_once:
            self._fail_once.discard(name)
            raise KubeApiError(500, "PATCH", name, "etcd hiccup")
        self.patches.append((name, body, kw.get("patch_type", "merge")))
        return {}


def _run(controller: Controller, seconds: float) -> None:
    async def main() -> None:
        stop = asyncio.Event()
        asyncio.get_running_loop().call_later(seconds, stop.set)
        await controller.run_loops(stop)

    asyncio.run(main())


def _controller(client: RecordingClient, now: datetime) -> Controller:
    settings = ControllerSettings(
        regions=load_region_zone_map(),
        label_nodes=False,
        retry_after=timedelta(milliseconds=50),
        max_sleep=timedelta(milliseconds=50),
    )
    return Controller(client, WallClock(lambda: now), settings)  # type: ignore[arg-type]


def _released_total() -> float:
    labels = {"kind": "pod", "trigger": "planned"}
    return REGISTRY.get_sample_value("carbon_kube_releases_total", labels) or 0.0


def test_due_pod_is_released_once_and_a_future_one_is_left_held() -> None:
    before = _released_total()
    client = RecordingClient()
    controller = _controller(client, T0 + HOUR)
    due = held_pod("due").planned(release_at=T0).build()
    later = held_pod("later").planned(release_at=T0 + 5 * HOUR).build()

    async def main() -> None:
        stop = asyncio.Event()
        controller.observe_workload(WorkloadKind.POD, due, deleted=False)
        controller.observe_workload(WorkloadKind.POD, later, deleted=False)
        loop = asyncio.get_running_loop()
        # A stale event for the released pod arrives after the release: no second patch.
        loop.call_later(0.2, controller.observe_workload, WorkloadKind.POD, due, False)
        loop.call_later(0.5, stop.set)
        await controller.run_loops(stop)

    asyncio.run(main())

    assert [name for name, _, _ in client.patches] == ["due"]
    _, body, patch_type = client.patches[0]
    assert patch_type == "strategic"
    assert body["spec"]["schedulingGates"] == [{"$patch": "delete", "name": SCHEDULING_GATE}]
    assert body["metadata"]["annotations"][RELEASED_REASON] == "planned"
    assert controller.held_count == 1
    assert _released_total() == before + 1


def test_failed_release_is_retried_until_it_succeeds() -> None:
    client = RecordingClient(fail_once={"flaky"})
    controller = _controller(client, T0 + HOUR)
    controller.observe_workload(
        WorkloadKind.POD, held_pod("flaky").planned(release_at=T0).build(), False
    )

    _run(controller, 0.6)

    assert [name for name, _, _ in client.patches] == ["flaky"]
    assert controller.releases == 1


def test_deleted_workload_is_forgotten_and_never_patched() -> None:
    client = RecordingClient()
    controller = _controller(client, T0)
    pod = held_pod("gone").planned(release_at=T0 + HOUR).build()
    controller.observe_workload(WorkloadKind.POD, pod, deleted=False)
    controller.observe_workload(WorkloadKind.POD, pod, deleted=True)

    _run(controller, 0.2)

    assert client.patches == []
    assert controller.held_count == 0


def _burst_controller(client: RecordingClient, now: datetime, ahead_max: timedelta) -> Controller:
    settings = ControllerSettings(
        regions=load_region_zone_map(),
        label_nodes=False,
        max_sleep=timedelta(milliseconds=50),
        release_ahead_max=ahead_max,
        release_ahead_rate_per_s=10.0,
    )
    return Controller(client, WallClock(lambda: now), settings)  # type: ignore[arg-type]


def _released_names(controller: Controller, client: RecordingClient, burst: int) -> set[str]:
    for index in range(burst):
        pod = held_pod(f"b{index}").planned(release_at=T0).build()
        controller.observe_workload(WorkloadKind.POD, pod, deleted=False)
    _run(controller, 0.3)
    return {name for name, _, _ in client.patches}


def test_a_burst_starts_releasing_as_early_as_the_assumed_rate_needs_to_end_on_time() -> None:
    # 50 pods due at T0, 10 releases/s assumed: the last goes at T0, the first 49 gaps of
    # 0.1 s earlier, at T0 - 4.9 s, and not a moment before.
    too_early = RecordingClient()
    on_time = RecordingClient()

    released_5s_ahead = _released_names(
        _burst_controller(too_early, T0 - timedelta(seconds=5), timedelta(minutes=1)),
        too_early,
        50,
    )
    released_4_9s_ahead = _released_names(
        _burst_controller(on_time, T0 - timedelta(seconds=4.9), timedelta(minutes=1)),
        on_time,
        50,
    )

    assert released_5s_ahead == set()
    assert released_4_9s_ahead == {f"b{index}" for index in range(50)}


def test_release_ahead_is_capped_and_off_by_default() -> None:
    capped, off = RecordingClient(), RecordingClient()
    # 50 pods would need 5 s; the cap is 2 s, so 3 s before due nothing is released yet.
    capped_names = _released_names(
        _burst_controller(capped, T0 - timedelta(seconds=3), timedelta(seconds=2)), capped, 50
    )
    off_names = _released_names(
        _burst_controller(off, T0 - timedelta(seconds=1), timedelta(0)), off, 50
    )
    assert capped_names == set()
    assert off_names == set()


def test_work_due_no_faster_than_the_rate_is_released_at_its_own_instant() -> None:
    # One pod a second, 10 releases/s assumed: no burst, so nothing is moved earlier.
    client = RecordingClient()
    controller = _burst_controller(client, T0, timedelta(minutes=1))
    for index in range(5):
        pod = held_pod(f"s{index}").planned(release_at=T0 + timedelta(seconds=index)).build()
        controller.observe_workload(WorkloadKind.POD, pod, deleted=False)

    _run(controller, 0.3)

    assert [name for name, _, _ in client.patches] == ["s0"]


def test_a_burst_behind_spread_work_pulls_only_what_the_rate_cannot_fit() -> None:
    # One pod due at T0 + 3 s, then 40 due at T0 + 5 s. At 10/s the 40 start at T0 + 1.1 s,
    # and the lone pod, which must go one gap before them, at T0 + 1.0 s.
    released: dict[float, set[str]] = {}
    for seconds in (0.9, 1.0, 1.1):
        client = RecordingClient()
        controller = _burst_controller(client, T0 + timedelta(seconds=seconds), timedelta(hours=1))
        lone = held_pod("lone").planned(release_at=T0 + timedelta(seconds=3)).build()
        controller.observe_workload(WorkloadKind.POD, lone, deleted=False)
        for index in range(40):
            pod = held_pod(f"b{index}").planned(release_at=T0 + timedelta(seconds=5)).build()
            controller.observe_workload(WorkloadKind.POD, pod, deleted=False)
        _run(controller, 0.3)
        released[seconds] = {name for name, _, _ in client.patches}

    assert released[0.9] == set()
    assert released[1.0] == {"lone"}
    assert released[1.1] == {"lone"} | {f"b{index}" for index in range(40)}
