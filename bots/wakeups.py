"""In-process wake-ups: an async listener sleeps on a key until some thread fires it.

Long-polls (a bot's events, the demo webchat) wait here instead of holding a
database connection or a thread. `fire` is safe from any thread — a request's, a
task worker's — because it hands the wake-up to the listener's own event loop.

A listener starts listening when it is created, *before* the caller reads the
database, so a change committed between that read and the wait still wakes it.
With a shared channel layer (Redis), `listen(key, group=...)` also hears the
group, so a change made in another process wakes it too.
"""

import asyncio
import contextlib
import logging
import threading
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

from asgiref.sync import SyncToAsync, sync_to_async
from channels.layers import InMemoryChannelLayer, get_channel_layer
from django.db import close_old_connections

logger = logging.getLogger("bots.wakeups")

_lock = threading.Lock()
_listeners: dict[str, set["Listener"]] = defaultdict(set)


class Listener:
    def __init__(self, key: str) -> None:
        self.key = key
        self.loop = asyncio.get_running_loop()
        self.event = asyncio.Event()

    def set_threadsafe(self) -> None:
        if self.loop.is_closed():
            return
        with contextlib.suppress(RuntimeError):  # the loop closed in between
            self.loop.call_soon_threadsafe(self.event.set)

    async def wait(self, timeout: float) -> bool:
        """Sleep until fired (since the last wait) or the timeout. True when fired."""
        try:
            async with asyncio.timeout(max(timeout, 0)):
                await self.event.wait()
        except TimeoutError:
            return False
        self.event.clear()
        return True


@contextlib.asynccontextmanager
async def listen(key: str, *, group: str | None = None) -> AsyncIterator[Listener]:
    listener = Listener(key)
    with _lock:
        _listeners[key].add(listener)
    relay = None
    layer = get_channel_layer() if group else None
    if layer is not None and not isinstance(layer, InMemoryChannelLayer):
        relay = asyncio.create_task(_relay(layer, group, listener))
    try:
        yield listener
    finally:
        if relay is not None:
            relay.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await relay
        with _lock:
            found = _listeners.get(key)
            if found is not None:
                found.discard(listener)
                if not found:
                    del _listeners[key]


async def _relay(layer, group: str, listener: Listener) -> None:
    """Wake the listener on every message to the channel-layer group."""
    channel = await layer.new_channel()
    await layer.group_add(group, channel)
    try:
        while True:
            await layer.receive(channel)
            listener.event.set()
    except asyncio.CancelledError:
        raise
    except Exception:  # the periodic re-read still covers us
        logger.exception("lost the channel layer while listening on %s", group)
    finally:
        with contextlib.suppress(Exception):
            await asyncio.shield(layer.group_discard(group, channel))


def fire(key: str) -> None:
    """Wake every listener on `key`, now, from whichever thread calls this."""
    with _lock:
        listeners = list(_listeners.get(key, ()))
    for listener in listeners:
        listener.set_threadsafe()


def listening(key: str) -> int:
    """How many listen on `key` now."""
    with _lock:
        return len(_listeners.get(key, ()))


async def release_request_thread() -> None:
    """Give back the thread Django's ASGI handler keeps for this request, before a long wait.

    Under ASGI, Django runs each request's sync work (its request_started signal, sync
    auth) on a thread of the request's own, kept until the response is sent: an idle
    OS thread per waiting long-poll. This closes that thread's database connection and
    lets the thread end; sync work later in the request gets a fresh one. It leans on
    asgiref's per-context executor map; if that ever changes, it does nothing.
    """
    context_var = getattr(SyncToAsync, "thread_sensitive_context", None)
    executors = getattr(SyncToAsync, "context_to_thread_executor", None)
    if context_var is None or executors is None:
        return
    context = context_var.get(None)
    if context is None or getattr(context, "_executor", None) is not None:
        return  # no per-request thread, or an executor someone else owns
    if context not in executors:
        return
    await sync_to_async(close_old_connections)()  # on that thread: its connection closes
    executor = executors.pop(context, None)
    if executor is not None:
        executor.shutdown(wait=False)


def pooled(function: Callable[..., Any]) -> Callable[..., Awaitable[Any]]:
    """`function` as a short read on a pooled thread that hands its connection back, so
    a long-poll holds neither a thread nor a database connection while it waits."""

    def read(*args: Any) -> Any:
        try:
            return function(*args)
        finally:
            close_old_connections()

    return sync_to_async(read, thread_sensitive=False)


async def long_poll(
    key: str,
    read: Callable[[], Awaitable[Any]],
    *,
    wait: float,
    recheck: float,
    group: str | None = None,
    found: Callable[[Any], bool] = bool,
) -> Any:
    """`await read()` at once; while `found(answer)` is false, sleep on `key` and read
    again when woken, at least every `recheck` seconds, until `wait` is spent. The last
    answer is returned."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait
    async with listen(key, group=group) as listener:
        released = False
        while True:
            answer = await read()
            remaining = deadline - loop.time()
            if found(answer) or remaining <= 0:
                return answer
            if not released:
                await release_request_thread()
                released = True
            await listener.wait(min(remaining, recheck))
