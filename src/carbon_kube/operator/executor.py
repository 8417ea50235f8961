"""Where the controller's blocking API calls run: a bounded thread pool off the event loop.

:class:`KubeClient` calls block, and kopf shares the controller's event loop, so every call
runs in a pool of ``concurrency`` threads behind a semaphore of the same size; background work
(a release, a node patch) is spawned as a task kept alive until it ends. No decisions here.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

__all__ = ["ApiExecutor"]

_T = TypeVar("_T")


class ApiExecutor:
    """Bounded blocking calls and fire-and-forget tasks for the controller's loops."""

    def __init__(self, concurrency: int) -> None:
        self._pool = ThreadPoolExecutor(
            max_workers=concurrency, thread_name_prefix="carbon-kube-api"
        )
        self._slots = asyncio.Semaphore(concurrency)
        self._tasks: set[asyncio.Future[None]] = set()

    async def call(self, fn: Callable[[], _T]) -> _T:
        """Run ``fn`` in the pool once one of the ``concurrency`` slots is free."""
        async with self._slots:
            return await self.run(fn)

    async def run(self, fn: Callable[[], _T]) -> _T:
        """Run ``fn`` in the pool without taking a slot (work off a release's critical path)."""
        return await asyncio.get_running_loop().run_in_executor(self._pool, fn)

    def spawn(self, coroutine: Awaitable[None]) -> None:
        task = asyncio.ensure_future(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def shutdown(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
