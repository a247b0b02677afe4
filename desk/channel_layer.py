"""The channel layer of a single Desk process (no Redis): Channels' in-memory layer,
made to scale with the number of open tabs.

Channels' `InMemoryChannelLayer` walks every channel and every group member looking
for expired messages on every `receive` and `group_send`: with a thousand tabs, a
broadcast costs a million steps before the first frame leaves. And it deep-copies a
group message once per member. Here expired messages are swept at most once a second
(a message may outlive its expiry by up to that second before it is dropped), and a
group message is copied once per `group_send` and shared by every member's queue:
consumers only read the messages they receive (Desk's never change them).

Its queues belong to the server's event loop. A sender on another thread with a loop
of its own (the embedded task worker closing a timed-out ticket) hands its sends to
that loop, since asyncio queues are not thread-safe: done in place, the waiting
consumer would not wake until something else woke the server.
"""

import asyncio
import time
from copy import deepcopy

from channels.layers import InMemoryChannelLayer


class DeskInMemoryChannelLayer(InMemoryChannelLayer):
    clean_interval = 1.0  # seconds between sweeps for expired messages

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._cleaned_at = float("-inf")
        self._loop: asyncio.AbstractEventLoop | None = None  # where the receivers wait

    async def receive(self, channel: str) -> dict:
        self._loop = asyncio.get_running_loop()
        return await super().receive(channel)

    def _elsewhere(self) -> asyncio.AbstractEventLoop | None:
        """The receivers' loop, when this call runs on another (running) one."""
        loop = self._loop
        if loop is None or loop is asyncio.get_running_loop() or not loop.is_running():
            return None
        return loop

    async def send(self, channel: str, message: dict) -> None:
        if loop := self._elsewhere():
            await asyncio.wrap_future(
                asyncio.run_coroutine_threadsafe(super().send(channel, message), loop)
            )
            return
        await super().send(channel, message)

    def _clean_expired(self) -> None:
        now = time.monotonic()
        if now - self._cleaned_at < self.clean_interval:
            return
        self._cleaned_at = now
        super()._clean_expired()

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
            queue = self.channels.setdefault(
                channel, asyncio.Queue(maxsize=self.get_capacity(channel))
            )
            try:
                queue.put_nowait(entry)
            except asyncio.QueueFull:
                pass  # as Channels does: a full channel misses group messages
