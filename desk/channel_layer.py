"""The channel layer of a single Desk process (no Redis): Channels' in-memory layer,
made to scale with the number of open tabs.

Channels' `InMemoryChannelLayer` walks every channel and every group member looking
for expired messages on every `receive` and `group_send`: with a thousand tabs, a
broadcast costs a million steps before the first frame leaves. And it deep-copies a
group message once per member. Here expired messages are swept at most once a second
(a message may outlive its expiry by up to that second before it is dropped), and a
group message is copied once per `group_send` and shared by every member's queue:
consumers only read the messages they receive (Desk's never change them).

A channel's queue is made once and kept while its consumer receives: Channels drops
an emptied queue after every message and makes a new one (an `asyncio.Queue`, its
`Event` and deques) for the next, and builds a spare queue on every `send` and
`receive` even when the channel has one. A broadcast to thousands of tabs made
thousands of them, long-lived enough to reach the garbage collector's oldest
generation (docs/perf.md, "Fan-out: the collector and the frame's path"). A queue
goes when its consumer stops receiving (its `receive` is cancelled) or when the sweep
finds it empty with nobody waiting.

Its queues belong to the server's event loop. A sender on another thread with a loop
of its own (the embedded task worker closing a timed-out ticket) hands its sends to
that loop, since asyncio queues are not thread-safe: done in place, the waiting
consumer would not wake until something else woke the server.
"""

import asyncio
import time
from copy import deepcopy

from channels.exceptions import ChannelFull
from channels.layers import InMemoryChannelLayer


class DeskInMemoryChannelLayer(InMemoryChannelLayer):
    clean_interval = 1.0  # seconds between sweeps for expired messages

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._cleaned_at = float("-inf")
        self._loop: asyncio.AbstractEventLoop | None = None  # where the receivers wait

    def _queue(self, channel: str) -> asyncio.Queue:
        queue = self.channels.get(channel)
        if queue is None:
            queue = self.channels[channel] = asyncio.Queue(maxsize=self.get_capacity(channel))
        return queue

    async def receive(self, channel: str) -> dict:
        self._loop = asyncio.get_running_loop()
        self.require_valid_channel_name(channel)
        self._clean_expired()
        queue = self._queue(channel)
        try:
            _, message = await queue.get()
        except asyncio.CancelledError:
            # The consumer is gone: its queue with it, unless it holds messages (they
            # expire) or another receiver waits on it.
            if queue.empty() and not queue._getters and self.channels.get(channel) is queue:
                del self.channels[channel]
            raise
        return message

    def _elsewhere(self) -> asyncio.AbstractEventLoop | None:
        """The receivers' loop, when this call runs on another (running) one."""
        loop = self._loop
        if loop is None or loop is asyncio.get_running_loop() or not loop.is_running():
            return None
        return loop

    async def send(self, channel: str, message: dict) -> None:
        if loop := self._elsewhere():
            await asyncio.wrap_future(
                asyncio.run_coroutine_threadsafe(self._send_here(channel, message), loop)
            )
            return
        await self._send_here(channel, message)

    async def _send_here(self, channel: str, message: dict) -> None:
        assert isinstance(message, dict), "message is not a dict"
        self.require_valid_channel_name(channel)
        assert "__asgi_channel__" not in message
        try:
            self._queue(channel).put_nowait((time.time() + self.expiry, deepcopy(message)))
        except asyncio.QueueFull:
            raise ChannelFull(channel) from None

    def _clean_expired(self) -> None:
        """Channels' sweep (a channel with an expired message leaves every group; group
        memberships older than `group_expiry` end), at most once a second, and without
        copying every channel and membership first; empty queues nobody waits on go."""
        now = time.monotonic()
        if now - self._cleaned_at < self.clean_interval:
            return
        self._cleaned_at = now
        wall = time.time()
        expired, idle = [], []
        for channel, queue in self.channels.items():
            if queue.empty():
                if not queue._getters:  # Channels reads asyncio.Queue's internals too
                    idle.append(channel)
            elif queue._queue[0][0] < wall:
                expired.append(channel)
        for channel in idle:
            del self.channels[channel]
        for channel in expired:
            queue = self.channels[channel]
            while not queue.empty() and queue._queue[0][0] < wall:
                queue.get_nowait()
            self._remove_from_groups(channel)
            if queue.empty() and not queue._getters:
                del self.channels[channel]
        timeout = int(wall) - self.group_expiry
        for members in self.groups.values():
            stale = [name for name, joined in members.items() if joined and joined < timeout]
            for name in stale:
                del members[name]

    async def flush(self) -> None:
        await super().flush()
        self._cleaned_at = float("-inf")

    async def group_send(self, group: str, message: dict) -> None:
        if loop := self._elsewhere():
            await asyncio.wrap_future(
                asyncio.run_coroutine_threadsafe(self._group_send_here(group, message), loop)
            )
            return
        await self._group_send_here(group, message)

    async def _group_send_here(self, group: str, message: dict) -> None:
        assert isinstance(message, dict), "Message is not a dict"
        self.require_valid_group_name(group)
        self._clean_expired()
        members = list(self.groups.get(group, ()))
        if not members:
            return
        entry = (time.time() + self.expiry, deepcopy(message))
        for channel in members:
            try:
                self._queue(channel).put_nowait(entry)
            except asyncio.QueueFull:
                pass  # as Channels does: a full channel misses group messages
