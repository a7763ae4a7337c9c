"""The asyncio side of the iterators: each step waits in a worker thread (the native read
releases the GIL), in short slices so that a cancelled task frees its thread promptly."""

from __future__ import annotations

import asyncio
import time
from typing import Any, Callable, Optional, TypeVar

from . import _vas

T = TypeVar("T")

# How long one slice of an asynchronous wait lasts.
_SLICE = 0.25


async def read(source: Any, timeout: Optional[float]) -> Any:
    """`source.read(timeout)` for a coroutine: `vas.Timeout` past `timeout`, `vas.Closed`."""
    loop = asyncio.get_running_loop()
    deadline = None if timeout is None else time.monotonic() + timeout
    while True:
        wait = _SLICE if deadline is None else max(0.0, min(_SLICE, deadline - time.monotonic()))
        try:
            return await loop.run_in_executor(None, source.read, wait)
        except _vas.Timeout:
            if deadline is not None and time.monotonic() >= deadline:
                raise


async def next_item(source: Any, timeout: Optional[float]) -> Any:
    """The next item of a `Frames` or `Events` subscription, for `async for`.

    Raises `StopAsyncIteration` once the subscription (or its engine) is closed, and
    `vas.Timeout` when `timeout` seconds pass without an item.
    """
    try:
        return await read(source, timeout)
    except _vas.Closed:
        raise StopAsyncIteration from None


async def run(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Runs a blocking engine call in a worker thread."""
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(None, lambda: fn(*args, **kwargs))
