"""``run_controller``: wait for leadership, then run kopf and the controller's loops.

A standby replica blocks in :func:`run_controller` until it holds the Lease. The leader renews
it in the background; if renewal fails for a whole lease duration it stops and
:class:`LeadershipLostError` is raised (exit code 1, so the Deployment restarts it as a
standby). SIGTERM/SIGINT stop gracefully and hand the Lease over at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import threading
from collections.abc import Callable
from datetime import datetime

import kopf

from carbon_kube.domain.errors import CarbonKubeError
from carbon_kube.kube.client import KubeClient
from carbon_kube.kube.connection import ApiConnection
from carbon_kube.operator.controller import Controller
from carbon_kube.operator.handlers import build_registry, kopf_settings
from carbon_kube.operator.leadership import LeaseElector
from carbon_kube.operator.outcomes import OutcomeSource
from carbon_kube.operator.replanning import Replanner
from carbon_kube.operator.settings import ControllerClock, ControllerSettings
from carbon_kube.providers.base import IntensityProvider

__all__ = ["LeadershipLostError", "run_controller"]

_log = logging.getLogger(__name__)


class LeadershipLostError(CarbonKubeError):
    """The Lease could not be renewed in time; another replica may be leading now."""


def run_controller(
    settings: ControllerSettings,
    *,
    connect: Callable[[], ApiConnection],
    client: KubeClient,
    clock: ControllerClock,
    real_now: Callable[[], datetime],
    provider: IntensityProvider | None = None,
    replanner: Replanner | None = None,
    outcomes: OutcomeSource | None = None,
) -> None:
    """Block until stopped by a signal (returns) or by losing leadership (raises)."""
    stopping = threading.Event()
    previous = {
        signum: signal.signal(signum, lambda *_: stopping.set())
        for signum in (signal.SIGTERM, signal.SIGINT)
    }
    elector = LeaseElector(client, settings.identity, settings.lease, now=real_now)
    try:
        _log.info("%s: waiting for the Lease %s", settings.identity, settings.lease.name)
        while not elector.try_acquire_or_renew():
            if stopping.wait(settings.lease.retry_period.total_seconds()):
                return
        _log.info("%s: leading", settings.identity)
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        lost = asyncio.run(
            _lead(
                settings,
                connect,
                client,
                clock,
                real_now,
                elector,
                provider,
                replanner,
                outcomes,
            )
        )
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    if lost:
        raise LeadershipLostError(
            f"{settings.identity} could not renew Lease {settings.lease.namespace}/"
            f"{settings.lease.name} for {settings.lease.lease_duration}; stopped leading"
        )
    elector.release()


async def _lead(
    settings: ControllerSettings,
    connect: Callable[[], ApiConnection],
    client: KubeClient,
    clock: ControllerClock,
    real_now: Callable[[], datetime],
    elector: LeaseElector,
    provider: IntensityProvider | None,
    replanner: Replanner | None,
    outcomes: OutcomeSource | None,
) -> bool:
    """Run until a signal or a lost Lease; True when the Lease was lost."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    controller = Controller(
        client, clock, settings, provider=provider, replanner=replanner, outcomes=outcomes
    )
    registry = build_registry(controller, connect, settings.kinds)
    lost = False

    async def renew() -> None:
        nonlocal lost
        last_renewed = real_now()
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), settings.lease.renew_period.total_seconds())
            if stop.is_set():
                return
            if await asyncio.to_thread(elector.try_acquire_or_renew):
                last_renewed = real_now()
            elif real_now() - last_renewed >= settings.lease.lease_duration:
                _log.error("%s: lost the Lease", settings.identity)
                lost = True
                stop.set()

    async def operator() -> None:
        try:
            await kopf.operator(
                registry=registry,
                settings=kopf_settings(),
                standalone=True,
                clusterwide=True,
                stop_flag=stop,
            )
        finally:
            stop.set()

    try:
        await asyncio.gather(operator(), controller.run_loops(stop), renew())
    except asyncio.CancelledError:
        # kopf cancels the tasks around it when it handles SIGTERM itself: a normal stop.
        _log.info("%s: stopped", settings.identity)
    return lost
