"""In-process wake-ups: an async waiter sleeps on a key until some thread fires it.

Long-polls (a bot's events, the demo webchat) wait here instead of holding a
database connection or a thread. `fire` is safe from any thread — a request's,
a task worker's — because it hands the wake-up to the waiter's own event loop.
Across processes the channel layer carries the same news (see bots.events).
"""

import asyncio
import threading
from collections import defaultdict

_lock = threading.Lock()
_waiters: dict[str, set[tuple[asyncio.AbstractEventLoop, asyncio.Event]]] = defaultdict(set)


async def wait(key: str, timeout: float) -> bool:
    """Sleep until `fire(key)` or the timeout. True when woken."""
    entry = (asyncio.get_running_loop(), asyncio.Event())
    with _lock:
        _waiters[key].add(entry)
    try:
        async with asyncio.timeout(max(timeout, 0)):
            await entry[1].wait()
        return True
    except TimeoutError:
        return False
    finally:
        with _lock:
            waiting = _waiters.get(key)
            if waiting is not None:
                waiting.discard(entry)
                if not waiting:
                    del _waiters[key]


def fire(key: str) -> None:
    """Wake every waiter on `key`, now, from whichever thread calls this."""
    with _lock:
        entries = list(_waiters.get(key, ()))
    for loop, event in entries:
        if loop.is_closed():
            continue
        try:
            loop.call_soon_threadsafe(event.set)
        except RuntimeError:  # the loop closed in between
            pass


def waiting(key: str) -> int:
    """How many are waiting on `key` (for the tests and the health page)."""
    with _lock:
        return len(_waiters.get(key, ()))
