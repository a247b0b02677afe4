"""Live data stops when a session ends: logging out closes that session's open tabs at once,
and a tab whose session expires (or whose agent was disabled) closes by itself.

Real sockets through the project's ASGI application; the session comes from a real login.
"""

import asyncio
from datetime import timedelta

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.contrib.sessions.models import Session
from django.test import Client, override_settings
from django.utils import timezone

from desk import services
from desk.asgi import application

pytestmark = pytest.mark.django_db(transaction=True)

SIGNED_OUT = 4401


async def logged_in(user) -> Client:
    client = Client()
    await sync_to_async(client.force_login)(user)
    return client


async def inbox_tab(client: Client) -> WebsocketCommunicator:
    socket = WebsocketCommunicator(
        application,
        "/ws/desk/?inbox=1",
        headers=[
            (b"host", b"localhost"),
            (b"origin", b"http://localhost"),
            (b"cookie", f"sessionid={client.cookies['sessionid'].value}".encode()),
        ],
    )
    connected, _ = await socket.connect()
    assert connected
    return socket


async def escalate(bot, title: str):
    return await sync_to_async(services.start_hitl)(
        bot=bot, conversation_id=f"conv-{title}", title=title
    )


async def closed_with(socket: WebsocketCommunicator, timeout: float) -> int | None:
    """The close code the server sent within `timeout` (frames before it are skipped)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while (left := deadline - loop.time()) > 0:
        try:
            output = await socket.receive_output(timeout=left)
        except TimeoutError:
            return None
        if output["type"] == "websocket.close":
            return output.get("code")
    return None


async def test_logging_out_closes_that_sessions_tabs_at_once(agent, connected_bot):
    browser = await logged_in(agent)
    first, second = await inbox_tab(browser), await inbox_tab(browser)

    response = await sync_to_async(browser.post)("/logout/")
    assert response.status_code == 302

    # Both tabs close without sending anything themselves (no action frame needed).
    assert await closed_with(first, timeout=2) == SIGNED_OUT
    assert await closed_with(second, timeout=2) == SIGNED_OUT
    # And hear nothing more: a new escalation's title never reaches them.
    await escalate(connected_bot, "After the logout")
    for socket in (first, second):
        assert await socket.receive_nothing(timeout=0.5)
        await socket.disconnect()


async def test_logging_out_on_one_device_leaves_the_others_open(agent, connected_bot):
    laptop, phone = await logged_in(agent), await logged_in(agent)
    on_laptop, on_phone = await inbox_tab(laptop), await inbox_tab(phone)

    await sync_to_async(laptop.post)("/logout/")

    assert await closed_with(on_laptop, timeout=2) == SIGNED_OUT
    await escalate(connected_bot, "Still on the phone")
    frame = await on_phone.receive_from(timeout=3)
    while "Still on the phone" not in frame:
        frame = await on_phone.receive_from(timeout=3)
    await on_phone.disconnect()
    await on_laptop.disconnect()


async def test_a_tab_closes_when_its_session_expires(agent, connected_bot):
    browser = await logged_in(agent)
    key = browser.cookies["sessionid"].value
    # The session runs out two seconds from now, as if it had been opened long ago.
    await Session.objects.filter(session_key=key).aupdate(
        expire_date=timezone.now() + timedelta(seconds=2)
    )
    tab = await inbox_tab(browser)

    assert await closed_with(tab, timeout=6) == SIGNED_OUT
    await tab.disconnect()


@override_settings(DESK_SESSION_RECHECK_SECONDS=1)
async def test_a_tab_of_a_disabled_agent_closes_by_itself(agent, connected_bot):
    tab = await inbox_tab(await logged_in(agent))
    agent.is_active = False
    await agent.asave(update_fields=["is_active"])

    assert await closed_with(tab, timeout=4) == SIGNED_OUT
    await tab.disconnect()
