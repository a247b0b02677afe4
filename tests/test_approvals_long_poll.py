"""A bot waits for the decision: GET .../approvals/{approvalId}?wait=SECONDS, held on the
same non-blocking long-poll machinery as the events, answered as soon as it is decided."""

import asyncio
import time

import pytest
from asgiref.sync import sync_to_async
from django.db import connections
from django.test import AsyncClient

from approvals import services
from approvals.models import Approval
from bots import wakeups
from bots.events import bot_events_key

pytestmark = pytest.mark.django_db(transaction=True)

APPROVALS = "/api/v1/bots/support-bot/approvals"


@pytest.fixture(autouse=True)
async def close_the_shared_threads_connection():
    yield
    await sync_to_async(connections.close_all)()


class Bot:
    """The bot's side, with its key (AsyncClient, so calls can wait side by side)."""

    def __init__(self, key: str) -> None:
        self.client = AsyncClient()
        self.headers = {"Authorization": f"Bearer {key}"}

    async def get(self, path: str, query: dict | None = None):
        return await self.client.get(path, query or {}, headers=self.headers)

    async def post(self, path: str, body: dict | None = None):
        return await self.client.post(
            path, body or {}, content_type="application/json", headers=self.headers
        )


@pytest.fixture
def bot(api_key) -> Bot:
    return Bot(api_key)


async def ask(bot) -> dict:
    r = await bot.post(
        APPROVALS,
        {"requestId": "r1", "action": "refund", "title": "Refund $40",
         "arguments": {"amount": 40}},
    )
    assert r.status_code == 201, r.content
    return r.json()


async def listening(key: str) -> None:
    for _ in range(300):
        if wakeups.listening(key):
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the long-poll never started waiting")


async def test_it_answers_as_soon_as_an_agent_decides(bot, connected_bot, admin_user):
    created = await ask(bot)
    started = time.monotonic()
    poll = asyncio.create_task(bot.get(f"{APPROVALS}/{created['approvalId']}", {"wait": 30}))
    await listening(bot_events_key(connected_bot.pk))
    await asyncio.sleep(0.3)  # really waiting
    approval = await Approval.objects.aget()
    await sync_to_async(services.approval_decide)(
        approval_id=approval.pk, agent=admin_user, approve=True, arguments={"amount": 25}
    )
    decided_at = time.monotonic()
    r = await asyncio.wait_for(poll, 5)
    assert r.status_code == 200
    assert r.json()["status"] == "approved"
    assert r.json()["arguments"] == {"amount": 25}
    assert time.monotonic() - decided_at < 1
    assert time.monotonic() - started < 5


async def test_a_cancel_ends_the_wait_too(bot, connected_bot):
    created = await ask(bot)
    poll = asyncio.create_task(bot.get(f"{APPROVALS}/{created['approvalId']}", {"wait": 30}))
    await listening(bot_events_key(connected_bot.pk))
    r = await bot.post(f"{APPROVALS}/{created['approvalId']}/cancel")
    assert r.status_code == 200
    r = await asyncio.wait_for(poll, 5)
    assert r.json()["status"] == "cancelled"


async def test_the_wait_ends_with_it_still_pending(bot, connected_bot):
    created = await ask(bot)
    started = time.monotonic()
    r = await bot.get(f"{APPROVALS}/{created['approvalId']}", {"wait": 1})
    elapsed = time.monotonic() - started
    assert r.status_code == 200
    assert r.json()["status"] == "pending"
    assert 0.9 < elapsed < 3


async def test_a_decided_approval_answers_at_once(bot, connected_bot, admin_user):
    created = await ask(bot)
    approval = await Approval.objects.aget()
    await sync_to_async(services.approval_decide)(
        approval_id=approval.pk, agent=admin_user, approve=False, reason="No."
    )
    started = time.monotonic()
    r = await bot.get(f"{APPROVALS}/{created['approvalId']}", {"wait": 30})
    assert time.monotonic() - started < 2
    assert r.json()["status"] == "rejected"


async def test_another_bots_event_does_not_end_the_wait(bot, connected_bot, agent):
    """The wait listens on the bot's event log: other events wake it, it reads, waits on."""
    from desk.services import start_hitl, ticket_claim

    created = await ask(bot)
    ticket, _ = await sync_to_async(start_hitl)(bot=connected_bot, conversation_id="c")
    poll = asyncio.create_task(bot.get(f"{APPROVALS}/{created['approvalId']}", {"wait": 2}))
    await listening(bot_events_key(connected_bot.pk))
    await sync_to_async(ticket_claim)(ticket_id=ticket.pk, agent=agent)  # an event
    await asyncio.sleep(0.3)
    assert not poll.done()
    r = await asyncio.wait_for(poll, 5)
    assert r.json()["status"] == "pending"


async def test_an_unknown_approval_is_404_at_once(bot, connected_bot):
    started = time.monotonic()
    r = await bot.get(f"{APPROVALS}/5f0e1d7a-0000-4000-8000-000000000000", {"wait": 30})
    assert r.status_code == 404
    assert time.monotonic() - started < 2
