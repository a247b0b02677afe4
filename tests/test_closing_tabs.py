"""A tab that closes while a broadcast is on its way to it still leaves properly: the other
viewers hear it left, and its channel leaves every group.

The server side is driven the way daphne drives a consumer: once the browser's close has
been read, the server refuses any further send ("Attempt to send on a closed protocol",
autobahn's `Disconnected`), and the `websocket.disconnect` message arrives a moment later,
when the TCP connection is gone. A broadcast that lands in between must not end the
consumer before its cleanup runs.
"""

import asyncio

import pytest
from asgiref.sync import sync_to_async
from autobahn.exception import Disconnected
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator
from django.test import Client

from desk import services
from desk.asgi import application

pytestmark = pytest.mark.django_db(transaction=True)


async def session_cookie(user) -> bytes:
    client = Client()
    await sync_to_async(client.force_login)(user)
    return f"sessionid={client.cookies['sessionid'].value}".encode()


class DaphneLikeTab:
    """The consumer of one browser tab, with the server's side of the socket in our hands."""

    def __init__(self, path: str, query: str, cookie: bytes) -> None:
        self.scope = {
            "type": "websocket",
            "path": path,
            "raw_path": path.encode(),
            "query_string": query.encode(),
            "headers": [
                (b"host", b"localhost"), (b"origin", b"http://localhost"), (b"cookie", cookie)
            ],
            "subprotocols": [],
            "client": ("127.0.0.1", 50000),
            "server": ("127.0.0.1", 8000),
        }
        self.incoming: asyncio.Queue = asyncio.Queue()
        self.sent: list[dict] = []
        self.socket_closed = False
        self.refused_sends = 0

    async def _receive(self) -> dict:
        return await self.incoming.get()

    async def _send(self, message: dict) -> None:
        if self.socket_closed:
            self.refused_sends += 1
            raise Disconnected("Attempt to send on a closed protocol")
        self.sent.append(message)

    async def open(self) -> None:
        self.task = asyncio.create_task(application(self.scope, self._receive, self._send))
        await self.incoming.put({"type": "websocket.connect"})
        for _ in range(100):
            if any(m["type"] == "websocket.accept" for m in self.sent):
                return
            await asyncio.sleep(0.02)
        raise AssertionError(f"the tab was not accepted: {self.sent}")

    async def close_mid_broadcast(self, broadcast) -> None:
        """The browser closes the tab; a broadcast reaches it before the disconnect does."""
        self.socket_closed = True
        await broadcast()
        for _ in range(100):  # until the consumer has tried to send it
            if self.refused_sends or self.task.done():
                break
            await asyncio.sleep(0.01)
        await self.incoming.put({"type": "websocket.disconnect", "code": 1001})
        await asyncio.wait_for(self.task, timeout=3)  # ends cleanly: no exception


async def test_a_ticket_tab_closing_mid_broadcast_says_it_left_and_leaves_its_group(
    agent, other_agent, connected_bot
):
    ticket, _ = await sync_to_async(services.start_hitl)(
        bot=connected_bot, conversation_id="conv-closing", title="Closing tabs"
    )
    path, query = "/ws/desk/", f"ticket={ticket.pk}"
    watcher = WebsocketCommunicator(
        application, f"{path}?{query}",
        headers=[(b"host", b"localhost"), (b"origin", b"http://localhost"),
                 (b"cookie", await session_cookie(agent))],
    )
    assert (await watcher.connect())[0]
    seen = []

    async def watcher_sees(text: str) -> None:
        while not any(text in frame for frame in seen):
            seen.append(await watcher.receive_from(timeout=3))

    sams_cookie = await session_cookie(other_agent)
    layer = get_channel_layer()
    for _ in range(3):
        seen.clear()
        tab = DaphneLikeTab(path, query, sams_cookie)
        await tab.open()
        await watcher_sees(f'id="viewer-{other_agent.pk}" class="viewer"')

        async def the_watcher_types() -> None:
            await watcher.send_json_to({"action": "typing"})

        await tab.close_mid_broadcast(the_watcher_types)

        assert tab.refused_sends >= 1  # the broadcast really met the closed socket
        await watcher_sees(f'id="viewer-{other_agent.pk}" class="gone"')
        assert len(layer.groups.get(f"ticket-{ticket.pk}", {})) == 1  # the watcher alone
    await watcher.disconnect()
    assert not layer.groups.get(f"ticket-{ticket.pk}")


async def test_an_inbox_tab_closing_mid_broadcast_leaves_the_inbox_group(agent, connected_bot):
    layer = get_channel_layer()
    before = len(layer.groups.get("inbox", {}))
    tab = DaphneLikeTab("/ws/desk/", "inbox=1", await session_cookie(agent))
    await tab.open()
    assert len(layer.groups.get("inbox", {})) == before + 1

    async def a_new_escalation() -> None:
        await sync_to_async(services.start_hitl)(
            bot=connected_bot, conversation_id="conv-mid", title="Mid-broadcast"
        )

    await tab.close_mid_broadcast(a_new_escalation)

    assert tab.refused_sends >= 1
    assert len(layer.groups.get("inbox", {})) == before
