"""A tab's handshake is cheap: every open tab reconnects at once when a server restarts,
and each handshake's database work waits its turn on the server's one sync thread
(docs/perf.md, benchmark 4c). An inbox tab that says what its title and approvals count
show costs at most HANDSHAKE_QUERIES queries, whatever the desk holds; the counts it
corrects are still right."""

import threading

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.db.backends import utils
from django.test import Client

from approvals import services as approvals
from desk import assignment, services
from desk.asgi import application

pytestmark = pytest.mark.django_db(transaction=True)

# A tab of an agent who is present (a reconnect): the session; the account with its
# profile; the session's expiry (the tab closes when it ends); the presence; the queue and
# the agent's tickets awaiting a reply (one query); may they decide approvals (their
# permissions and their groups'); the approvals waiting.
HANDSHAKE_QUERIES = 8


class QueryCount:
    """Queries run on any thread while it is active (a websocket's database work runs on
    the server's sync thread, not the test's)."""

    def __init__(self, monkeypatch) -> None:
        self.n = 0
        self.lock = threading.Lock()
        execute = utils.CursorWrapper.execute

        def counted(cursor, sql, params=None):
            with self.lock:
                self.n += 1
            return execute(cursor, sql, params)

        monkeypatch.setattr(utils.CursorWrapper, "execute", counted)


async def session_of(user) -> str:
    client = Client()
    await sync_to_async(client.force_login)(user)
    return client.cookies["sessionid"].value


async def handshake(session: str, path: str) -> tuple[WebsocketCommunicator, list[str]]:
    headers = [
        (b"host", b"localhost"), (b"origin", b"http://localhost"),
        (b"cookie", f"sessionid={session}".encode()),
    ]
    socket = WebsocketCommunicator(application, path, headers=headers)
    connected, _ = await socket.connect()
    assert connected
    frames = []
    while not await socket.receive_nothing(timeout=0.3):
        frames.append(await socket.receive_from())
    return socket, frames


@pytest.mark.parametrize("tickets", [2, 12])
@pytest.mark.parametrize("availability", ["online", "busy"])
async def test_an_inbox_tabs_handshake_costs_a_few_queries_at_any_size(
    tickets, availability, agent, connected_bot, monkeypatch
):
    for n in range(tickets):
        await sync_to_async(services.start_hitl)(
            bot=connected_bot, conversation_id=f"c-{n}", title=f"T{n}", user_name="Jo"
        )
    # One of them is the agent's, and its customer wrote since: it awaits their reply.
    mine = await sync_to_async(services.open_ticket_for_conversation)(
        bot=connected_bot, conversation_id="c-0"
    )
    await sync_to_async(services.ticket_claim)(ticket_id=mine.pk, agent=agent)
    await sync_to_async(services.post_user_message)(
        bot=connected_bot, conversation_id="c-0", text="Hello?"
    )
    await sync_to_async(assignment.agent_set_availability)(agent=agent, availability=availability)
    await sync_to_async(approvals.approval_request)(
        bot=connected_bot, request_id="r-1", action="refund", title="Refund",
        arguments={"amount": 5},
    )
    session = await session_of(agent)
    first, _ = await handshake(session, "/ws/desk/?inbox=1")  # the agent arrives
    await first.disconnect()

    count = QueryCount(monkeypatch)
    # The tab says its title shows 0 waiting and 0 approvals: both are corrected.
    socket, frames = await handshake(session, "/ws/desk/?inbox=1&w=0&ac=0")
    spent = count.n
    await socket.disconnect()
    assert spent <= HANDSHAKE_QUERIES, spent
    said = "".join(frames)
    # Online: the queue and their own ticket; busy: only their own ticket.
    waiting = tickets if availability == "online" else 1
    assert f'id="waiting-for-me" data-count="{waiting}"' in said, said
    assert 'id="approvals-count" data-count="1"' in said, said
