"""The channel layer of a single Desk process (no Redis): Channels' in-memory layer,
made to scale with the number of open tabs.

Channels' `InMemoryChannelLayer` walks every channel and every group member looking
for expired messages on every `receive` and `group_send`: with a thousand tabs, a
broadcast costs a million steps before the first frame leaves. And it deep-copies a
group message once per member. Here expired messages are swept at most once a second
(a message may outlive its expiry by up to that second before it is dropped), and a
group message is copied once per `group_send` and shared by every member's queue:
consumers only read the messages they receive (Desk's never change them).
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
