"""Each recipe of docs/bot-sdk.md (sdk/python/examples/) runs against a real Desk: the
hand-written bot as a process, Rasa's action server as a process (rasa-sdk), a LangGraph
agent driven by langchain-core's fake chat model, an OpenAI Agents SDK agent driven by
a scripted stub model. No network beyond 127.0.0.1."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from conftest import EXAMPLES, free_port, wait_for

from desk_sdk import AgentMessage, AsyncDesk, HitlAssigned, HitlStopped

pytestmark = pytest.mark.slow


def example_env(desk_server, bot_id: str, **more: str) -> dict[str, str]:
    return {**os.environ, "DESK_URL": desk_server.url, "DESK_API_KEY": desk_server.api_key,
            "DESK_BOT_ID": bot_id, "PYTHONUNBUFFERED": "1", **more}


def events_until_stopped(desk, conversation_id: str, timeout: float = 30) -> list:
    """Desk's events for the conversation, up to its hitlStopped."""
    found, deadline = [], time.monotonic() + timeout
    for event in desk.listen(wait=2):
        if event.conversation_id == conversation_id:
            found.append(event)
            if isinstance(event, HitlStopped):
                return found
        assert time.monotonic() < deadline, f"no hitlStopped; got {found}"
    return found


# --- a hand-written bot ----------------------------------------------------------------


def test_the_hand_written_bot_hands_over_in_five_lines(desk_server, tmp_path):
    bot_id = desk_server.new_bot_id("hand-written")
    from desk_sdk import Desk

    Desk(desk_server.url, desk_server.api_key, bot_id).deploy(name="My bot")
    desk_server.agent.connect(bot_id)
    bot = subprocess.Popen(
        [sys.executable, str(EXAMPLES / "hand_written.py"), "conv-5"], cwd=tmp_path,
        env=example_env(desk_server, bot_id), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        ticket = wait_for(lambda: _ticket_or_none(desk_server, bot_id, "conv-5"),
                          what="the bot's ticket")
        wait_for(lambda: len(desk_server.agent.ticket(bot_id, "conv-5")["messages"]) >= 1,
                 what="the relayed message")
        texts = [m["text"] for m in desk_server.agent.ticket(bot_id, "conv-5")["messages"]]
        assert "My order #4411 never came" in texts and ticket["userName"] == "Jo"
        desk_server.agent.claim(bot_id, "conv-5")
        desk_server.agent.reply(bot_id, "conv-5", "A new one ships today.")
        desk_server.agent.close(bot_id, "conv-5")
        output, _ = bot.communicate(timeout=30)
    finally:
        bot.kill()
    assert bot.returncode == 0, output
    assert "to the user: Maya Lopez: A new one ships today." in output
    assert "handoff over (agentClosed): the bot answers again" in output
    assert (tmp_path / f"{bot_id}.cursor").read_text().strip().isdigit()


def _ticket_or_none(desk_server, bot_id: str, conversation_id: str) -> dict | None:
    try:
        return desk_server.agent.ticket(bot_id, conversation_id)
    except AssertionError:  # no ticket yet
        return None


# --- Rasa: rasa-sdk's action server, as Rasa calls it ----------------------------------


@pytest.fixture
def rasa_actions(desk_server, tmp_path):
    """`python -m rasa_sdk --actions rasa_action`: the action server Rasa calls over HTTP."""
    bot_id = desk_server.new_bot_id("rasa")
    from desk_sdk import Desk

    Desk(desk_server.url, desk_server.api_key, bot_id).deploy(name="Rasa bot")
    desk_server.agent.connect(bot_id)
    port = free_port()
    log = open(tmp_path / "actions.log", "w")
    server = subprocess.Popen(
        [sys.executable, "-m", "rasa_sdk", "--actions", "rasa_action", "--port", str(port)],
        cwd=EXAMPLES, env=example_env(desk_server, bot_id), stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"

    def healthy() -> bool:
        assert server.poll() is None, (tmp_path / "actions.log").read_text()
        try:
            return httpx.get(f"{url}/health", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    wait_for(healthy, timeout=60, interval=0.3, what="the Rasa action server")
    yield url, bot_id
    server.terminate()
    server.wait(timeout=15)
    log.close()


def rasa_call(action: str, sender_id: str, events: list[dict], latest: dict,
              slots: dict | None = None) -> dict:
    """The body Rasa POSTs to the action server's /webhook."""
    return {
        "next_action": action, "sender_id": sender_id, "version": "3.6.21",
        "domain": {"slots": {"desk_handoff": {"type": "bool"}}},
        "tracker": {
            "sender_id": sender_id, "slots": slots or {}, "latest_message": latest,
            "events": events, "paused": False, "followup_action": None, "active_loop": {},
            "latest_action_name": "action_listen", "latest_event_time": time.time(),
        },
    }


def user(text: str, message_id: str, entities: list | None = None) -> dict:
    return {"event": "user", "text": text, "timestamp": time.time(),
            "parse_data": {"text": text, "intent": {"name": "ask", "confidence": 1.0},
                           "entities": entities or [], "message_id": message_id}}


def test_a_rasa_action_escalates_relays_and_brings_the_agent_back(desk_server, rasa_actions):
    url, bot_id = rasa_actions
    turns = [user("where is my order?", "m1"),
             {"event": "bot", "text": "It ships in 2 days.", "timestamp": time.time()},
             user("I want a person", "m2")]
    latest = {**turns[-1]["parse_data"], "message_id": "m2"}
    answer = httpx.post(f"{url}/webhook", timeout=30, json=rasa_call(
        "action_handoff_to_desk", "rasa-conv-1", turns, latest)).json()
    assert answer["events"][0]["name"] == "desk_handoff" and answer["events"][0]["value"]
    assert "handing you over" in answer["responses"][0]["text"]
    ticket = desk_server.agent.ticket(bot_id, "rasa-conv-1")
    assert [m["text"] for m in ticket["messages"]] == [
        "where is my order?", "It ships in 2 days.", "I want a person"
    ]

    # While desk_handoff is set, each user message is relayed; Rasa's id de-duplicates.
    relay = rasa_call("action_relay_to_desk", "rasa-conv-1", turns,
                      {"text": "order 4411", "message_id": "m3", "entities": [], "intent": {}},
                      slots={"desk_handoff": True})
    for _ in range(2):  # Rasa may call an action again after a timeout
        answer = httpx.post(f"{url}/webhook", json=relay, timeout=30).json()
        assert answer["responses"] == [] and answer["events"] == []
    texts = [m["text"] for m in desk_server.agent.ticket(bot_id, "rasa-conv-1")["messages"]]
    assert texts.count("order 4411") == 1

    # Desk's events come back through the bridge: a trigger_intent for each...
    sys.path.insert(0, str(EXAMPLES))
    from rasa_action import rasa_bridge

    rasa = StandInRasa()
    try:
        desk_server.agent.claim(bot_id, "rasa-conv-1")
        desk_server.agent.reply(bot_id, "rasa-conv-1", "Found it, it ships today.")
        desk_server.agent.close(bot_id, "rasa-conv-1")
        from desk_sdk import Desk

        handle = rasa_bridge(rasa.url)
        for event in events_until_stopped(Desk(desk_server.url, desk_server.api_key, bot_id),
                                          "rasa-conv-1"):
            handle(event)
    finally:
        rasa.close()
    assert [path for path, _ in rasa.requests] == [
        "/conversations/rasa-conv-1/trigger_intent?output_channel=latest"] * 3
    types = [body["entities"]["desk_type"] for _, body in rasa.requests]
    assert types == ["hitlAssigned", "agentMessage", "hitlStopped"]

    # ...and Rasa runs action_desk_event with the intent's entities: the user hears it.
    for _, body in rasa.requests[1:]:
        entities = [{"entity": k, "value": v} for k, v in body["entities"].items()]
        latest = {"text": "", "intent": {"name": "desk_event"}, "entities": entities,
                  "message_id": "desk"}
        answer = httpx.post(f"{url}/webhook", timeout=30, json=rasa_call(
            "action_desk_event", "rasa-conv-1", turns, latest,
            slots={"desk_handoff": True})).json()
        if body["entities"]["desk_type"] == "agentMessage":
            assert answer["responses"][0]["text"] == "Found it, it ships today."
            assert answer["events"] == []
        else:
            assert answer["events"][0] == {**answer["events"][0], "name": "desk_handoff",
                                           "value": False}


class StandInRasa:
    """Rasa's HTTP API as the bridge meets it (rasa itself does not install on this
    Python): it records each trigger_intent and answers as Rasa does."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, dict]] = []
        rasa = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                rasa.requests.append((self.path, body))
                raw = json.dumps({"tracker": {}, "messages": []}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def log_message(self, *args) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


# --- LangGraph, with langchain-core's fake chat model -----------------------------------


def test_a_langgraph_agent_pauses_while_a_human_has_the_conversation(desk_server):
    from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
    from langchain_core.messages import AIMessage, ToolMessage
    from langgraph_agent import HANDING_OVER, SupportBot

    class FakeToolModel(GenericFakeChatModel):
        def bind_tools(self, tools, **kwargs):
            return self

    model = FakeToolModel(messages=iter([
        AIMessage("", tool_calls=[{"name": "talk_to_human", "id": "call-1",
                                   "args": {"reason": "Refund over $500"}}]),
        AIMessage("Glad our team sorted it out. Anything else?"),
    ]))
    desk = desk_server.connected_bot("langgraph")
    bot = SupportBot(model, desk)

    assert bot.on_user_message("lg-1", "I need a refund of $800") == [HANDING_OVER]
    assert bot.with_human("lg-1")  # the graph is paused at the tool's interrupt
    ticket = desk_server.agent.ticket(desk.bot_id, "lg-1")
    assert ticket["status"] == "pending"
    assert [m["text"] for m in ticket["messages"]] == ["I need a refund of $800"]

    assert bot.on_user_message("lg-1", "it was order 991") == []  # relayed, not the model's
    texts = [m["text"] for m in desk_server.agent.ticket(desk.bot_id, "lg-1")["messages"]]
    assert texts[-1] == "it was order 991"

    desk_server.agent.claim(desk.bot_id, "lg-1")
    desk_server.agent.reply(desk.bot_id, "lg-1", "Refunded $800.")
    desk_server.agent.close(desk.bot_id, "lg-1")
    heard = []
    for event in events_until_stopped(desk, "lg-1"):
        heard += bot.on_desk_event(event)
    assert "Refunded $800." in heard
    assert heard[-1] == "Glad our team sorted it out. Anything else?"
    assert not bot.with_human("lg-1")
    messages = bot.graph.get_state({"configurable": {"thread_id": "lg-1"}}).values["messages"]
    outcome = next(m for m in messages if isinstance(m, ToolMessage))
    assert outcome.content.startswith("The human agent's session ended (agentClosed).")
    # Resuming did not escalate again: the one ticket is the closed one.
    assert desk_server.agent.ticket(desk.bot_id, "lg-1")["status"] == "closed"


def test_a_langgraph_refund_waits_for_a_persons_approval_and_pays_their_amount(desk_server):
    from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
    from langchain_core.messages import AIMessage
    from langgraph_agent import ASKED_APPROVAL, SupportBot

    class FakeToolModel(GenericFakeChatModel):
        def bind_tools(self, tools, **kwargs):
            return self

    model = FakeToolModel(messages=iter([
        AIMessage("", tool_calls=[{"name": "refund", "id": "call-7",
                                   "args": {"order_id": "991", "amount": 40}}]),
        AIMessage("Done: your refund is on its way."),
        AIMessage("", tool_calls=[{"name": "refund", "id": "call-8",
                                   "args": {"order_id": "992", "amount": 500}}]),
        AIMessage("I'm sorry, that refund was not approved."),
    ]))
    paid: list[tuple[str, float]] = []
    desk = desk_server.connected_bot("langgraph")
    bot = SupportBot(model, desk, pay=lambda order, amount: paid.append((order, amount)))

    assert bot.on_user_message("lg-2", "Refund 40 on order 991 please") == [ASKED_APPROVAL]
    assert bot.on_user_message("lg-2", "any news?") == [ASKED_APPROVAL]  # still waiting
    pending = desk.get_approval(bot._waiting_for("lg-2")["desk_approval"])
    assert (pending.request_id, pending.conversation_id) == ("langgraph-call-7", "lg-2")
    assert paid == []

    desk_server.agent.decide(pending.approval_id, approve=True,
                             arguments={"orderId": "991", "amount": 25})
    event = next(desk.listen(wait=5))
    assert bot.on_desk_event(event) == ["Done: your refund is on its way."]
    assert paid == [("991", 25)]  # the amount the person approved, once

    assert bot.on_user_message("lg-2", "And 500 on order 992") == [ASKED_APPROVAL]
    second = desk.get_approval(bot._waiting_for("lg-2")["desk_approval"])
    desk_server.agent.decide(second.approval_id, approve=False, reason="Over the limit.")
    events = desk.listen(cursor_store=None, wait=5)
    decided = next(e for e in events if getattr(e, "approval_id", None) == second.approval_id)
    assert bot.on_desk_event(decided) == ["I'm sorry, that refund was not approved."]
    assert paid == [("991", 25)]
    tool_answers = [m.content for m in bot.graph.get_state(
        {"configurable": {"thread_id": "lg-2"}}).values["messages"] if m.type == "tool"]
    assert tool_answers == ["Refunded 25 on order #991.",
                            "Not refunded: rejected. Over the limit."]


# --- the OpenAI Agents SDK, with a scripted stub model ----------------------------------


def scripted_model(*turns):
    """A stub `agents.Model`: each call answers the next turn, a tool call or a text."""
    from agents.items import ModelResponse
    from agents.models.interface import Model
    from agents.usage import Usage
    from openai.types.responses import (
        ResponseFunctionToolCall,
        ResponseOutputMessage,
        ResponseOutputText,
    )

    class Scripted(Model):
        def __init__(self) -> None:
            self.turns, self.inputs = list(turns), []

        async def get_response(self, system_instructions, input, *args, **kwargs):
            self.inputs.append(input)
            kind, value = self.turns.pop(0)
            if kind == "tool":
                name, arguments = value
                item = ResponseFunctionToolCall(
                    type="function_call", name=name, arguments=json.dumps(arguments),
                    call_id=f"call-{len(self.inputs)}", id=f"fc-{len(self.inputs)}",
                    status="completed",
                )
            else:
                item = ResponseOutputMessage(
                    id=f"msg-{len(self.inputs)}", type="message", role="assistant",
                    status="completed",
                    content=[ResponseOutputText(type="output_text", text=value, annotations=[])],
                )
            return ModelResponse(output=[item], usage=Usage(), response_id=None)

        def stream_response(self, *args, **kwargs):
            raise NotImplementedError

    return Scripted()


async def test_an_openai_agents_sdk_agent_hands_over_with_a_tool(desk_server):
    from agents import set_tracing_disabled
    from openai_agents import HANDING_OVER, SupportBot

    set_tracing_disabled(True)  # nothing leaves the machine
    model = scripted_model(
        ("text", "Our Pro plan is $29 a month."),
        ("tool", ("talk_to_human", {"reason": "Cancel my contract"})),
        ("text", "Welcome back! Anything else I can do?"),
    )
    sync = desk_server.connected_bot("agents")
    async with AsyncDesk(desk_server.url, desk_server.api_key, sync.bot_id) as desk:
        bot = SupportBot(model, desk)
        assert await bot.on_user_message("oa-1", "How much is Pro?", "Sam") == [
            "Our Pro plan is $29 a month."
        ]
        assert await bot.on_user_message("oa-1", "Cancel my contract, a person please") == [
            HANDING_OVER
        ]
        ticket = desk_server.agent.ticket(sync.bot_id, "oa-1")
        assert ticket["userName"] == "Sam"
        assert [m["text"] for m in ticket["messages"]] == [
            "How much is Pro?", "Our Pro plan is $29 a month.",
            "Cancel my contract, a person please",
        ]
        assert await bot.on_user_message("oa-1", "Contract 7781") == []  # relayed
        assert len(model.inputs) == 2  # the model was not asked meanwhile

        desk_server.agent.claim(sync.bot_id, "oa-1")
        desk_server.agent.reply(sync.bot_id, "oa-1", "Cancelled, effective today.")
        desk_server.agent.close(sync.bot_id, "oa-1")
        heard, kinds = [], []
        async for event in desk.listen(wait=2):
            kinds.append(type(event))
            heard += await bot.on_desk_event(event)
            if isinstance(event, HitlStopped):
                break
    assert kinds == [HitlAssigned, AgentMessage, HitlStopped]
    assert "Cancelled, effective today." in heard
    assert heard[-1] == "Welcome back! Anything else I can do?"
    texts = [m["text"] for m in desk_server.agent.ticket(sync.bot_id, "oa-1")["messages"]]
    assert "Contract 7781" in texts
    assert "agentClosed" in json.dumps(model.inputs[-1])  # the agent knows how it ended
