"""The in-memory channel layer of a single Desk process (desk.channel_layer)."""

import pytest
from channels.exceptions import ChannelFull

from desk.channel_layer import DeskInMemoryChannelLayer


async def test_a_group_message_reaches_every_member_in_order():
    layer = DeskInMemoryChannelLayer()
    tabs = [await layer.new_channel() for _ in range(3)]
    for tab in tabs:
        await layer.group_add("inbox", tab)
    await layer.group_send("inbox", {"type": "inbox.ticket", "n": 1})
    await layer.group_send("inbox", {"type": "inbox.ticket", "n": 2})
    for tab in tabs:
        assert (await layer.receive(tab))["n"] == 1
        assert (await layer.receive(tab))["n"] == 2


async def test_a_full_channel_misses_group_messages_but_the_others_get_them():
    layer = DeskInMemoryChannelLayer(capacity=1)
    slow, quick = await layer.new_channel(), await layer.new_channel()
    for tab in (slow, quick):
        await layer.group_add("inbox", tab)
    await layer.group_send("inbox", {"type": "x", "n": 1})
    assert (await layer.receive(quick))["n"] == 1
    await layer.group_send("inbox", {"type": "x", "n": 2})
    assert (await layer.receive(slow))["n"] == 1
    assert (await layer.receive(quick))["n"] == 2
    await layer.send(quick, {"type": "x"})
    with pytest.raises(ChannelFull):
        await layer.send(quick, {"type": "x"})


async def test_expired_messages_are_swept_at_most_once_a_second():
    layer = DeskInMemoryChannelLayer(expiry=0)  # every message has expired once queued
    tab = await layer.new_channel()
    await layer.group_add("inbox", tab)
    await layer.group_send("inbox", {"type": "x"})  # sweeps first (nothing yet), then queues
    layer._clean_expired()  # within the second: no sweep
    assert tab in layer.groups["inbox"]
    layer._cleaned_at -= 1.0
    layer._clean_expired()  # the expired message takes its channel out of the group
    assert tab not in layer.groups.get("inbox", {})


async def test_a_send_from_another_threads_loop_wakes_the_receiver_at_once():
    """The embedded worker announces from its own thread and loop; the waiting consumer
    (on the server's loop) must get the message at once, not whenever its loop next wakes."""
    import asyncio
    import threading
    import time

    from asgiref.sync import async_to_sync

    layer = DeskInMemoryChannelLayer()
    channel = await layer.new_channel()
    await layer.group_add("g", channel)
    receiving = asyncio.ensure_future(layer.receive(channel))
    await asyncio.sleep(0.05)  # the receiver is now waiting on this loop

    sent_at = {}

    def worker_thread() -> None:
        sent_at["t"] = time.monotonic()
        async_to_sync(layer.group_send)("g", {"type": "hello"})

    thread = threading.Thread(target=worker_thread)
    thread.start()
    message = await asyncio.wait_for(receiving, timeout=2)
    took = time.monotonic() - sent_at["t"]
    await asyncio.get_running_loop().run_in_executor(None, thread.join)
    assert message == {"type": "hello"}
    assert took < 0.5


async def test_a_tab_that_stops_receiving_leaves_no_queue_behind():
    import asyncio

    layer = DeskInMemoryChannelLayer()
    tab = await layer.new_channel()
    await layer.group_add("inbox", tab)
    await layer.group_send("inbox", {"type": "x", "n": 1})
    assert (await layer.receive(tab))["n"] == 1
    waiting = asyncio.ensure_future(layer.receive(tab))
    await asyncio.sleep(0)
    waiting.cancel()  # the consumer closed
    with pytest.raises(asyncio.CancelledError):
        await waiting
    assert tab not in layer.channels


async def test_the_sweep_keeps_queues_with_messages_or_a_receiver():
    import asyncio

    layer = DeskInMemoryChannelLayer()
    busy, waiting, gone = [await layer.new_channel() for _ in range(3)]
    for tab in (busy, waiting, gone):
        await layer.group_add("inbox", tab)
    await layer.group_send("inbox", {"type": "x", "n": 1})
    assert (await layer.receive(waiting))["n"] == 1
    assert (await layer.receive(gone))["n"] == 1
    receiving = asyncio.ensure_future(layer.receive(waiting))
    await asyncio.sleep(0)
    layer._cleaned_at -= 1.0
    layer._clean_expired()  # `gone`'s empty queue goes; the others stay
    assert gone not in layer.channels
    await layer.group_send("inbox", {"type": "x", "n": 2})
    assert (await asyncio.wait_for(receiving, 1))["n"] == 2
    assert [(await layer.receive(busy))["n"] for _ in range(2)] == [1, 2]
    assert (await layer.receive(gone))["n"] == 2  # still in the group: a new queue
