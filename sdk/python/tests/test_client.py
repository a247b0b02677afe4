"""The clients against a real Desk: typed answers, one exception per error, safe retries."""

from __future__ import annotations

import http.server
import json
import threading
import time

import httpx
import pytest
from conftest import free_port, start_desk, stop_desk

from desk_sdk import (
    AgentMessage,
    AsyncDesk,
    BotNotConnected,
    Desk,
    DeskUnreachable,
    HistoryItem,
    HitlAssigned,
    HitlQueued,
    HitlStopped,
    MemoryCursorStore,
    NotFound,
    RateLimited,
    Retry,
    ServerError,
    Ticket,
    TicketClosed,
    Unauthorized,
    ValidationFailed,
)

pytestmark = pytest.mark.slow

NOT_CONNECTED = (
    "This bot is not connected to Desk. Enable it on the Deflecting Bots page in Desk, "
    "then republish."
)


def take(iterator, count: int) -> list:
    return [next(iterator) for _ in range(count)]


def test_it_hands_a_conversation_over_and_hears_the_agent(desk_server):
    desk = desk_server.connected_bot(agent_assigned_message="{agentName} joined the chat.",
                                     session_ended_message="{agentName} closed the chat.")
    ticket = desk.start_hitl(
        "conv-1", title="Refund", priority="high", user_name="Jo Doe",
        user_email="jo@example.com",
        message_history=[HistoryItem(role="user", text="I was charged twice"),
                         {"role": "bot", "text": "Let me get a person."}],
    )
    assert isinstance(ticket, Ticket) and ticket.created
    assert (ticket.status, ticket.priority, ticket.title) == ("pending", "high", "Refund")
    assert ticket.conversation_id == "conv-1" and ticket.number > 0
    # Nobody is on shift: it waits in line (other tests' tickets may be ahead of it).
    assert ticket.queue_position >= 1 and ticket.agents_available == 0
    assert ticket.within_business_hours is True and ticket.estimated_wait_seconds is None

    stored = desk.send_message("conv-1", "Are you there?")
    assert stored.text == "Are you there?" and stored.ticket_id == ticket.ticket_id
    assert stored.user_name == "Jo Doe" and stored.duplicate is False
    assert stored.message_id.startswith("sdk-")

    desk_server.agent.claim(desk.bot_id, "conv-1")
    desk_server.agent.reply(desk.bot_id, "conv-1", "Refunded, sorry!")
    desk_server.agent.close(desk.bot_id, "conv-1")

    events = take(desk.listen(cursor_store=MemoryCursorStore(), wait=5), 3)
    assigned, reply, stopped = events
    assert isinstance(assigned, HitlAssigned)
    assert (assigned.agent_name, assigned.message) == ("Maya Lopez", "Maya Lopez joined the chat.")
    assert isinstance(reply, AgentMessage) and reply.text == "Refunded, sorry!"
    assert reply.conversation_id == "conv-1" and reply.ticket_id == ticket.ticket_id
    assert isinstance(stopped, HitlStopped) and stopped.reason == "agentClosed"
    assert stopped.message == "Maya Lopez closed the chat."
    assert [e.cursor for e in events] == sorted(e.cursor for e in events)
    transcript = desk_server.agent.ticket(desk.bot_id, "conv-1")["messages"]
    assert [m["text"] for m in transcript if m["kind"] == "user"] == [
        "I was charged twice", "Are you there?"
    ]


def test_a_transfer_and_a_return_to_the_queue_reach_the_bot_typed(desk_server):
    desk = desk_server.connected_bot(agent_transferred_message="{agentName} took over.",
                                     queued_message="Number {queuePosition}, hold on.")
    assert desk.get_bot().queued_message == "Number {queuePosition}, hold on."
    ticket = desk.start_hitl("conv-t")
    desk_server.agent.claim(desk.bot_id, "conv-t")
    desk_server.agent.transfer(desk.bot_id, "conv-t", to="alex")
    events = take(desk.listen(cursor_store=MemoryCursorStore(), wait=5), 2)
    assert [(e.reassigned, e.message) for e in events] == [
        (False, "A support agent has joined the conversation."), (True, "Alex Admin took over.")
    ]
    desk_server.agent.transfer(desk.bot_id, "conv-t", to="queue")
    [queued] = take(desk.listen(cursor_store=MemoryCursorStore(), wait=5), 3)[2:]
    assert isinstance(queued, HitlQueued) and queued.ticket_id == ticket.ticket_id
    assert queued.message == f"Number {queued.queue_position}, hold on."
    assert queued.within_business_hours is True


async def test_the_async_client_does_the_same(desk_server):
    sync = desk_server.connected_bot()
    async with AsyncDesk(desk_server.url, desk_server.api_key, sync.bot_id) as desk:
        ticket = await desk.start_hitl("conv-async", user_name="Ann")
        assert ticket.created and ticket.status == "pending"
        again = await desk.start_hitl("conv-async")
        assert again.ticket_id == ticket.ticket_id and not again.created
        stored = await desk.send_message("conv-async", "hello", message_id="m-1")
        assert (stored.message_id, stored.duplicate) == ("m-1", False)
        assert (await desk.send_message("conv-async", "hello", message_id="m-1")).duplicate
        closed = await desk.stop_hitl("conv-async")
        assert closed.status == "closed"
        async for event in desk.listen(wait=5):
            assert isinstance(event, HitlStopped) and event.reason == "botStopped"
            break
        with pytest.raises(TicketClosed):
            await desk.send_message("conv-async", "anyone?")
        assert (await desk.get_bot()).connected


def test_a_bot_not_yet_enabled_gets_bot_not_connected_with_desks_words(desk_server):
    desk = Desk(desk_server.url, desk_server.api_key, desk_server.new_bot_id())
    bot = desk.deploy(name="Fresh bot")
    assert bot.created and not bot.connected and bot.webhook_secret.startswith("whsec_")
    assert not desk.deploy(name="Fresh bot, renamed").created
    with pytest.raises(BotNotConnected) as refused:
        desk.start_hitl("conv-x")
    assert refused.value.message == NOT_CONNECTED
    assert (refused.value.status, refused.value.code) == (403, "bot_not_connected")


def test_it_names_the_customer_and_sends_their_custom_fields(desk_server):
    desk = desk_server.connected_bot()
    ticket = desk.start_hitl(
        "conv-fields", user_email="jo@example.com", user_id="bp-user-42",
        custom_fields={"plan": "gold", "orders": 7, "vip": True, "balance": 12.5},
    )
    assert ticket.created
    stored = desk_server.agent.ticket(desk.bot_id, "conv-fields")
    assert stored["userId"] == "bp-user-42"
    assert stored["customFields"] == {"plan": "gold", "orders": 7, "vip": True, "balance": 12.5}
    with pytest.raises(ValidationFailed) as invalid:
        desk.start_hitl("conv-fields-2", custom_fields={"k" * 65: 1, "nested": {"a": 1}})
    assert set(invalid.value.fields) == {f"customFields.{'k' * 65}", "customFields.nested"}


def test_a_waiting_ticket_reads_waiting_and_the_customers_message_ends_the_wait(desk_server):
    desk = desk_server.connected_bot()
    desk.start_hitl("conv-wait")
    desk_server.agent.claim(desk.bot_id, "conv-wait")
    desk_server.agent.wait(desk.bot_id, "conv-wait")
    again = desk.start_hitl("conv-wait")
    assert not again.created and again.status == "waiting"
    desk.send_message("conv-wait", "Order 1042")
    assert desk_server.agent.ticket(desk.bot_id, "conv-wait")["status"] == "assigned"


def test_each_error_desk_answers_is_its_own_exception(desk_server):
    desk = desk_server.connected_bot()
    with pytest.raises(Unauthorized):
        Desk(desk_server.url, "not-a-key", desk.bot_id).get_bot()
    with pytest.raises(NotFound):
        Desk(desk_server.url, desk_server.api_key, "never-deployed-bot").get_bot()
    with pytest.raises(NotFound):
        desk.stop_hitl("a-conversation-desk-never-saw")
    with pytest.raises(ValidationFailed) as invalid:
        desk.start_hitl("conv-e", priority="asap", user_email="not an email")
    assert set(invalid.value.fields) == {"priority", "userEmail"}
    desk.start_hitl("conv-e")
    desk.stop_hitl("conv-e")
    with pytest.raises(TicketClosed) as closed:
        desk.stop_hitl("conv-e")
    assert closed.value.status == 409
    with pytest.raises(TicketClosed) as closed:
        desk.send_message("conv-e", "too late")
    assert closed.value.message.startswith("There is no open ticket for this conversation.")


def test_labels_at_the_escalation_name_the_one_desk_does_not_know(desk_server):
    desk = desk_server.connected_bot()
    desk_server.agent.label("VIP")
    with pytest.raises(ValidationFailed) as refused:
        desk.start_hitl("conv-labels", labels=["vip", "Refund"])
    assert list(refused.value.fields) == ["labels.1"]
    assert "Refund" in refused.value.message
    desk_server.agent.label(bots_create_labels=True)
    try:
        ticket = desk.start_hitl("conv-labels", labels=["vip", "Refund"])
    finally:
        desk_server.agent.label(bots_create_labels=False)
    assert ticket.created and ticket.labels == ["Refund", "VIP"]
    assert desk_server.agent.ticket(desk.bot_id, "conv-labels")["labels"] == ["Refund", "VIP"]


class LoseFirstAnswer(httpx.HTTPTransport):
    """The first request reaches Desk, which acts on it; its answer never comes back."""

    def __init__(self) -> None:
        super().__init__()
        self.bodies: list[bytes] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.bodies.append(request.read())
        response = super().handle_request(request)
        if len(self.bodies) == 1:
            response.read()
            response.close()
            raise httpx.ReadError("connection reset by peer", request=request)
        return response


class RefuseFirstConnection(httpx.HTTPTransport):
    """The first connection is refused: nothing reaches Desk."""

    def __init__(self) -> None:
        super().__init__()
        self.attempts = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.attempts += 1
        if self.attempts == 1:
            raise httpx.ConnectError("connection refused", request=request)
        return super().handle_request(request)


def client(desk_server, bot_id: str, transport: httpx.BaseTransport, **kwargs) -> Desk:
    return Desk(desk_server.url, desk_server.api_key, bot_id,
                http_client=httpx.Client(transport=transport), **kwargs)


def test_a_message_whose_answer_was_lost_is_sent_again_and_stored_once(desk_server):
    desk = desk_server.connected_bot()
    desk.start_hitl("conv-r")
    lossy = LoseFirstAnswer()
    stored = client(desk_server, desk.bot_id, lossy).send_message("conv-r", "only once please")
    assert len(lossy.bodies) == 2 and lossy.bodies[0] == lossy.bodies[1]
    assert json.loads(lossy.bodies[0])["messageId"] == stored.message_id
    assert stored.duplicate is True  # Desk had stored the first one
    texts = [m["text"] for m in desk_server.agent.ticket(desk.bot_id, "conv-r")["messages"]]
    assert texts.count("only once please") == 1


def test_stop_hitl_is_not_repeated_when_desk_may_have_acted(desk_server):
    desk = desk_server.connected_bot()
    desk.start_hitl("conv-s")
    lossy = LoseFirstAnswer()
    with pytest.raises(DeskUnreachable):
        client(desk_server, desk.bot_id, lossy).stop_hitl("conv-s")
    assert len(lossy.bodies) == 1
    assert desk_server.agent.ticket(desk.bot_id, "conv-s")["status"] == "closed"


def test_stop_hitl_is_retried_when_nothing_reached_desk(desk_server):
    desk = desk_server.connected_bot()
    desk.start_hitl("conv-t")
    refusing = RefuseFirstConnection()
    closed = client(desk_server, desk.bot_id, refusing).stop_hitl("conv-t")
    assert closed.status == "closed" and refusing.attempts == 2


def test_retries_end_within_the_total_time():
    dead = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    attempts = []
    desk = Desk(dead, "any-key", "any-bot", retry=Retry(max_attempts=100, total_seconds=2.0),
                http_client=httpx.Client(event_hooks={"request": [attempts.append]}))
    started = time.monotonic()
    with pytest.raises(DeskUnreachable) as failed:
        desk.get_bot()
    elapsed = time.monotonic() - started
    assert elapsed < 2.5, elapsed
    assert len(attempts) >= 3  # it did retry, with pauses (0.25 s to 1 s each) in between
    assert isinstance(failed.value.__cause__, httpx.ConnectError)


@pytest.fixture(scope="module")
def throttled_desk(tmp_path_factory, migrated_db):
    """A Desk that lets each API key make 3 requests a second."""
    desk = start_desk(tmp_path_factory, migrated_db, DESK_API_RATE_LIMIT="3/s")
    yield desk
    stop_desk(desk)


def test_a_rate_limited_call_waits_for_retry_after_then_goes_through(throttled_desk):
    seen: list[tuple[float, int, str | None]] = []

    def record(response: httpx.Response) -> None:
        seen.append((time.monotonic(), response.status_code, response.headers.get("retry-after")))

    bot_id = throttled_desk.new_bot_id()
    desk = Desk(throttled_desk.url, throttled_desk.api_key, bot_id,
                http_client=httpx.Client(event_hooks={"response": [record]}))
    desk.deploy(name="Busy bot")
    for _ in range(7):
        assert desk.get_bot().bot_id == bot_id
    limited = [i for i, (_, status, _) in enumerate(seen) if status == 429]
    assert limited, "Desk never answered 429: the test did not exercise the limit"
    for i in limited:
        waited_until, _, _ = seen[i + 1]
        assert waited_until - seen[i][0] >= float(seen[i][2]) - 0.05  # Retry-After honoured
    impatient = Desk(throttled_desk.url, throttled_desk.api_key, bot_id,
                     retry=Retry(total_seconds=0.5))
    with pytest.raises(RateLimited) as refused:
        for _ in range(10):
            impatient.get_bot()
    assert refused.value.retry_after == 1.0


class FlakyServer:
    """A stand-in for a Desk behind a proxy that answers 503 a few times."""

    def __init__(self, failures: int) -> None:
        self.requests: list[str] = []
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def _answer(self) -> None:
                server.requests.append(f"{self.command} {self.path}")
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                failing = len(server.requests) <= failures or self.command == "POST"
                body = b'{"error": "unavailable", "message": "Try later."}' if failing else (
                    json.dumps({"botId": "b", "name": "B", "connected": True}).encode()
                )
                self.send_response(503 if failing else 200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = _answer

            def log_message(self, *args) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def test_a_5xx_is_retried_for_safe_calls_only():
    flaky = FlakyServer(failures=2)
    try:
        desk = Desk(flaky.url, "key", "b", retry=Retry(backoff=0.05))
        assert desk.get_bot().connected
        assert len(flaky.requests) == 3
        flaky.requests.clear()
        with pytest.raises(ServerError) as failed:
            desk.stop_hitl("conv")
        assert failed.value.status == 503 and failed.value.message == "Try later."
        assert flaky.requests == ["POST /api/v1/bots/b/stopHitl"]
    finally:
        flaky.close()
