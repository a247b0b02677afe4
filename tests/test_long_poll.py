"""Bots that cannot take webhooks pull their events: GET /api/v1/bots/{botId}/events."""

import asyncio
import time

import pytest
from asgiref.sync import sync_to_async
from django.db import connections
from django.test import AsyncClient

from bots import wakeups
from bots.events import bot_events_key
from bots.services import bot_deploy, bot_set_connected
from desk import services

pytestmark = pytest.mark.django_db(transaction=True)

EVENTS = "/api/v1/bots/support-bot/events"


@pytest.fixture(autouse=True)
async def close_the_shared_threads_connection():
    """AsyncClient runs the API key check on asgiref's shared thread; the test client
    does not close that thread's connection as a server would, so close it here."""
    yield
    await sync_to_async(connections.close_all)()


class Poller:
    """A bot polling with its key (AsyncClient, so polls can wait side by side)."""

    def __init__(self, key: str) -> None:
        self.client = AsyncClient()
        self.headers = {"Authorization": f"Bearer {key}"}

    async def get(self, path: str, query: dict | None = None):
        return await self.client.get(path, query or {}, headers=self.headers)


@pytest.fixture
def poller(api_key) -> Poller:
    return Poller(api_key)


@pytest.fixture
def ticket(connected_bot):
    ticket, _ = services.start_hitl(bot=connected_bot, conversation_id="conv-1")
    return ticket


def _claim_and_reply(ticket, agent, text="Hello, I'm on it"):
    services.ticket_claim(ticket_id=ticket.pk, agent=agent)
    services.ticket_reply(ticket_id=ticket.pk, agent=agent, text=text)


async def _listening(key: str) -> None:
    for _ in range(200):
        if wakeups.listening(key):
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the long-poll never started waiting")


async def test_it_returns_the_backlog_at_once(poller, ticket, agent):
    await sync_to_async(_claim_and_reply)(ticket, agent)
    started = time.monotonic()
    r = await poller.get(EVENTS, {"after": 0, "wait": 30})
    assert time.monotonic() - started < 2
    assert r.status_code == 200
    body = r.json()
    assert [e["type"] for e in body["events"]] == ["hitlAssigned", "agentMessage"]
    assert body["events"][1]["text"] == "Hello, I'm on it"
    assert body["events"][1]["agentName"] == "Maya Lopez"
    assert body["cursor"] == body["events"][-1]["cursor"]


async def test_after_the_cursor_each_event_comes_once(poller, ticket, agent):
    await sync_to_async(_claim_and_reply)(ticket, agent)
    first = (await poller.get(EVENTS, {"after": 0})).json()
    again = (await poller.get(EVENTS, {"after": first["cursor"]})).json()
    assert again == {"events": [], "cursor": first["cursor"]}
    limited = (await poller.get(EVENTS, {"after": 0, "limit": 1})).json()
    assert [e["type"] for e in limited["events"]] == ["hitlAssigned"]
    assert limited["cursor"] == first["events"][0]["cursor"]


async def test_it_waits_and_wakes_on_a_new_event(poller, ticket, agent, connected_bot):
    poll = asyncio.create_task(poller.get(EVENTS, {"after": 0, "wait": 20}))
    await _listening(bot_events_key(connected_bot.pk))
    await asyncio.sleep(0.1)
    assert not poll.done()
    woke_at = time.monotonic()
    await sync_to_async(services.ticket_claim)(ticket_id=ticket.pk, agent=agent)
    r = await asyncio.wait_for(poll, timeout=5)
    assert time.monotonic() - woke_at < 1.5
    [event] = r.json()["events"]
    assert event["type"] == "hitlAssigned"
    assert event["message"] == "A support agent has joined the conversation."


async def test_it_times_out_empty(poller, ticket, agent):
    started = time.monotonic()
    r = await poller.get(EVENTS, {"after": 0, "wait": 1})
    elapsed = time.monotonic() - started
    assert 0.9 < elapsed < 3
    assert r.status_code == 200
    assert r.json() == {"events": [], "cursor": 0}


async def test_another_bots_event_does_not_answer_it(poller, ticket, agent, connected_bot):
    await sync_to_async(bot_deploy)(bot_id="other-bot", api_key=None)
    other = await sync_to_async(bot_set_connected)(bot_id="other-bot", connected=True)
    other_ticket, _ = await sync_to_async(services.start_hitl)(bot=other, conversation_id="x")
    poll = asyncio.create_task(poller.get(EVENTS, {"after": 0, "wait": 1}))
    await _listening(bot_events_key(connected_bot.pk))
    await sync_to_async(services.ticket_claim)(ticket_id=other_ticket.pk, agent=agent)
    r = await asyncio.wait_for(poll, timeout=5)
    assert r.json()["events"] == []


async def test_it_finds_an_event_whose_wake_up_was_missed(
    poller, ticket, agent, settings, monkeypatch, connected_bot
):
    # As when another process records it without a shared channel layer.
    settings.DESK_LONG_POLL_RECHECK_SECONDS = 0.2
    monkeypatch.setattr("bots.events.announce_event", lambda bot_pk: None)
    poll = asyncio.create_task(poller.get(EVENTS, {"after": 0, "wait": 10}))
    await _listening(bot_events_key(connected_bot.pk))
    await sync_to_async(services.ticket_claim)(ticket_id=ticket.pk, agent=agent)
    r = await asyncio.wait_for(poll, timeout=3)
    assert [e["type"] for e in r.json()["events"]] == ["hitlAssigned"]


@pytest.mark.parametrize(
    "query, field",
    [({"wait": 31}, "wait"), ({"wait": -1}, "wait"), ({"after": -5}, "after"),
     ({"after": "x"}, "after"), ({"limit": 0}, "limit")],
)
async def test_bad_parameters_are_422(poller, connected_bot, query, field):
    r = await poller.get(EVENTS, query)
    assert r.status_code == 422
    assert field in r.json()["fields"]


async def test_an_unknown_bot_is_404(poller, db):
    r = await poller.get("/api/v1/bots/nobody/events", {"wait": 5})
    assert r.status_code == 404
    assert r.json()["error"] == "not_found"


async def test_it_needs_the_api_key(connected_bot):
    r = await AsyncClient().get(EVENTS)
    assert r.status_code == 401


async def test_internal_notes_never_become_events(poller, ticket, agent):
    await sync_to_async(services.ticket_add_note)(ticket_id=ticket.pk, agent=agent, text="VIP")
    assert (await poller.get(EVENTS)).json()["events"] == []


async def test_waiting_polls_hold_no_thread(api_key, connected_bot):
    """Through Django's real ASGI handler, as daphne serves it: 40 polls waiting at once
    add no thread each (Django would otherwise keep one per request)."""
    import json
    import threading

    from channels.testing import HttpCommunicator
    from django.core.asgi import get_asgi_application

    application = get_asgi_application()
    headers = [(b"authorization", f"Bearer {api_key}".encode()), (b"host", b"127.0.0.1")]

    def poll(wait: int) -> HttpCommunicator:
        return HttpCommunicator(application, "GET", f"{EVENTS}?wait={wait}", headers=headers)

    warm = await poll(1).get_response(timeout=5)  # the shared pools' threads start now
    assert warm["status"] == 200
    before = threading.active_count()
    polls = [poll(3) for _ in range(40)]
    waiting = [asyncio.create_task(p.get_response(timeout=10)) for p in polls]
    await asyncio.sleep(1.5)
    assert not any(task.done() for task in waiting)
    assert threading.active_count() - before < 10
    for response in await asyncio.gather(*waiting):
        assert response["status"] == 200
        assert json.loads(response["body"]) == {"events": [], "cursor": 0}


def _redis_url() -> str | None:
    import socket

    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=0.5):
            return "redis://127.0.0.1:6379/15"
    except OSError:
        return None


@pytest.mark.skipif(_redis_url() is None, reason="no Redis on 127.0.0.1:6379")
async def test_with_redis_an_event_from_another_process_wakes_it(
    poller, ticket, agent, settings, monkeypatch, connected_bot
):
    settings.CHANNEL_LAYERS = {
        "default": {"BACKEND": "channels_redis.core.RedisChannelLayer",
                    "CONFIG": {"hosts": [_redis_url()]}}
    }
    settings.DESK_LONG_POLL_RECHECK_SECONDS = 30
    # Another process: no in-process wake-up reaches this poll, only the channel layer.
    monkeypatch.setattr("bots.wakeups.fire", lambda key: None)
    poll = asyncio.create_task(poller.get(EVENTS, {"after": 0, "wait": 20}))
    await _listening(bot_events_key(connected_bot.pk))
    await asyncio.sleep(0.3)  # the poll joins its channel-layer group
    claimed_at = time.monotonic()
    await sync_to_async(services.ticket_claim)(ticket_id=ticket.pk, agent=agent)
    r = await asyncio.wait_for(poll, timeout=5)
    assert time.monotonic() - claimed_at < 2
    assert [e["type"] for e in r.json()["events"]] == ["hitlAssigned"]
