"""How the controller's loops wait: until the next due instant, a wake-up, or ``max_sleep``.

The release loop and the pause loop both sleep until their next step is due on the virtual
clock, but never longer than ``max_sleep`` real seconds (a clock may be re-read, an event may
have moved a plan) and no longer once an event sets ``wake`` or ``stop`` is set.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

from carbon_kube.operator.settings import ControllerClock

__all__ = ["sleep_until"]


async def sleep_until(
    due: datetime | None,
    *,
    clock: ControllerClock,
    max_sleep: timedelta,
    wake: asyncio.Event,
    stop: asyncio.Event,
) -> None:
    """Sleep until ``due`` (virtual; None: ``max_sleep``), ``wake``, ``stop`` or ``max_sleep``."""
    sleep_s = max_sleep.total_seconds()
    if due is not None:
        ahead_s = (due - clock.now()).total_seconds() / clock.speedup
        sleep_s = min(sleep_s, max(0.0, ahead_s))
    if sleep_s <= 0:
        await asyncio.sleep(0)
        return
    waiters = [asyncio.ensure_future(wake.wait()), asyncio.ensure_future(stop.wait())]
    try:
        await asyncio.wait(waiters, timeout=sleep_s, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()
