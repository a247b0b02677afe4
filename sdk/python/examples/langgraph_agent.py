"""LangGraph: an agent whose `talk_to_human` tool hands the conversation to Desk and pauses
the graph (`interrupt`) until the human session ends.

- The model calls `talk_to_human`; the `escalate` node calls start_hitl with the
  conversation so far and records the ticket; the `with_human` node then `interrupt()`s.
  Two nodes, because a node runs again from its start when the graph resumes: the
  start_hitl node has finished and is not repeated (a ticket the agent closed meanwhile
  would otherwise open a second one).
- While the graph waits, `SupportBot` relays: the user's messages go to the agent in
  Desk, the agent's replies (and the join message) come back to the user.
- `hitlStopped` resumes the graph with `Command(resume=...)`: the tool call gets its
  answer (what happened), and the model carries on with that in its context.
- The `refund` tool is gated on a person's approval: it asks Desk (`request_approval`,
  its `request_id` derived from the tool call, so running again asks once) and
  `interrupt()`s while the request is pending; `approvalDecided` resumes the graph, the
  tool runs again, finds the decision, and refunds the agent's amount, or not.

The model is any LangChain chat model that supports tools (`init_chat_model(...)`);
the test drives it with langchain-core's fake chat model, offline.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage
from langchain_core.runnables import RunnableConfig
from langchain_core.tools import InjectedToolCallId, tool
from langgraph.checkpoint.memory import InMemorySaver
from langgraph.graph import END, START, MessagesState, StateGraph
from langgraph.prebuilt import ToolNode
from langgraph.types import Command, interrupt

from desk_sdk import (
    AgentMessage,
    ApprovalDecided,
    Desk,
    Event,
    HitlAssigned,
    HitlStopped,
    TicketClosed,
)

HANDING_OVER = "I'm getting a person from our team for you; they'll reply here."
ASKED_APPROVAL = "A person on our team is reviewing that; I'll tell you as soon as they decide."
REFUND_SCHEMA = {
    "type": "object",
    "properties": {"orderId": {"type": "string", "minLength": 1},
                   "amount": {"type": "number", "exclusiveMinimum": 0}},
    "required": ["orderId", "amount"],
}


@tool
def talk_to_human(reason: str) -> str:
    """Hand the conversation to a human support agent. Use it when the user asks for a
    person, or for anything you may not decide yourself."""
    raise RuntimeError("run by the graph's escalate and with_human nodes")


class State(MessagesState):
    desk_ticket: int | None


def history(messages: list) -> list[dict[str, str]]:
    """The conversation so far, as Desk's messageHistory (tool calls left out)."""
    lines = []
    for message in messages:
        if isinstance(message, HumanMessage):
            lines.append({"role": "user", "text": str(message.content)})
        elif isinstance(message, AIMessage) and str(message.content).strip():
            lines.append({"role": "bot", "text": str(message.content)})
    return lines[-500:]


def refund_tool(desk: Desk, pay: Callable[[str, float], None]):
    """`refund(order_id, amount)`, run only once a person approved it in Desk."""

    @tool
    def refund(
        order_id: str,
        amount: float,
        config: RunnableConfig,
        tool_call_id: Annotated[str, InjectedToolCallId],
    ) -> str:
        """Refund an order. A person on the support team approves (or changes) it first."""
        approval = desk.request_approval(
            f"langgraph-{tool_call_id}", action="refund",
            title=f"Refund {amount} on order #{order_id}",
            arguments={"orderId": order_id, "amount": amount}, arguments_schema=REFUND_SCHEMA,
            conversation_id=config["configurable"]["thread_id"],
        )
        if approval.pending:
            interrupt({"desk_approval": approval.approval_id})  # until approvalDecided
            approval = desk.get_approval(approval.approval_id)
        if not approval.approved:
            return f"Not refunded: {approval.status}. {approval.reason or ''}".strip()
        pay(approval.arguments["orderId"], approval.arguments["amount"])  # the agent's values
        return f"Refunded {approval.arguments['amount']} on order #{order_id}."

    return refund


def build_graph(model: BaseChatModel, desk: Desk,
                pay: Callable[[str, float], None] = lambda order, amount: None):
    """agent → escalate → with_human → agent, and agent → tools → agent for the refund;
    compiled with a checkpointer (interrupts need one: use a persistent one in
    production). `pay(order_id, amount)` makes an approved refund."""
    tools = [refund_tool(desk, pay)]
    llm = model.bind_tools([talk_to_human, *tools])

    def agent(state: State) -> dict[str, Any]:
        return {"messages": [llm.invoke(state["messages"])]}

    def next_step(state: State) -> str:
        calls = getattr(state["messages"][-1], "tool_calls", None) or []
        if any(c["name"] == "talk_to_human" for c in calls):
            return "escalate"
        return "tools" if calls else END

    def escalate(state: State, config: RunnableConfig) -> dict[str, Any]:
        call = state["messages"][-1].tool_calls[0]
        ticket = desk.start_hitl(
            config["configurable"]["thread_id"],
            title=str(call["args"].get("reason", ""))[:300] or "Talk to a human",
            message_history=history(state["messages"]),
        )
        return {"desk_ticket": ticket.number}

    def with_human(state: State) -> dict[str, Any]:
        outcome = interrupt({"desk_ticket": state["desk_ticket"]})  # until hitlStopped
        call = state["messages"][-1].tool_calls[0]
        answer = (f"The human agent's session ended ({outcome['reason']}). "
                  f"{outcome.get('message') or ''}").strip()
        return {"messages": [ToolMessage(answer, tool_call_id=call["id"])], "desk_ticket": None}

    graph = StateGraph(State)
    graph.add_node("agent", agent)
    graph.add_node("escalate", escalate)
    graph.add_node("with_human", with_human)
    graph.add_node("tools", ToolNode(tools))
    graph.add_edge(START, "agent")
    graph.add_conditional_edges("agent", next_step, ["escalate", "tools", END])
    graph.add_edge("tools", "agent")
    graph.add_edge("escalate", "with_human")
    graph.add_edge("with_human", "agent")
    return graph.compile(checkpointer=InMemorySaver())


class SupportBot:
    """The bot around the graph: one thread per conversation, Desk in between while a
    human has it. Each method returns what to show the user."""

    def __init__(self, model: BaseChatModel, desk: Desk,
                 pay: Callable[[str, float], None] = lambda order, amount: None) -> None:
        self.desk = desk
        self.graph = build_graph(model, desk, pay)

    def _config(self, conversation_id: str) -> RunnableConfig:
        return {"configurable": {"thread_id": conversation_id}}

    def _waiting_for(self, conversation_id: str) -> dict:
        """What the paused graph waits for: {"desk_ticket": …} or {"desk_approval": …}."""
        interrupts = self.graph.get_state(self._config(conversation_id)).interrupts
        return interrupts[0].value if interrupts else {}

    def with_human(self, conversation_id: str) -> bool:
        return "desk_ticket" in self._waiting_for(conversation_id)

    def _resume(self, conversation_id: str, value: Any) -> list[str]:
        result = self.graph.invoke(Command(resume=value), self._config(conversation_id))
        return [str(result["messages"][-1].content)]

    def on_user_message(self, conversation_id: str, text: str) -> list[str]:
        if self.with_human(conversation_id):
            try:
                self.desk.send_message(conversation_id, text)
                return []
            except TicketClosed:
                pass  # the hitlStopped event is on its way; the model answers meanwhile
        if "desk_approval" in self._waiting_for(conversation_id):
            return [ASKED_APPROVAL]  # the graph waits for a person's decision
        result = self.graph.invoke({"messages": [HumanMessage(text)]},
                                   self._config(conversation_id))
        if result.get("__interrupt__"):
            waiting = result["__interrupt__"][0].value
            return [HANDING_OVER if "desk_ticket" in waiting else ASKED_APPROVAL]
        return [str(result["messages"][-1].content)]

    def on_desk_event(self, event: Event) -> list[str]:
        if isinstance(event, HitlAssigned):
            return [event.message]
        if isinstance(event, AgentMessage):
            return [event.text]
        if isinstance(event, HitlStopped) and self.with_human(event.conversation_id):
            said = [event.message] if event.message else []
            resume = {"reason": event.reason, "message": event.message}
            return [*said, *self._resume(event.conversation_id, resume)]
        if isinstance(event, ApprovalDecided) and event.conversation_id:
            waiting = self._waiting_for(event.conversation_id)
            if waiting.get("desk_approval") == event.approval_id:
                return self._resume(event.conversation_id, event.decision)
        return []


if __name__ == "__main__":  # a console chat: DESK_URL, DESK_API_KEY, and a model
    import os
    import threading

    from langchain.chat_models import init_chat_model  # pip install langchain

    desk = Desk(os.environ["DESK_URL"], os.environ["DESK_API_KEY"],
                os.environ.get("DESK_BOT_ID", "langgraph-bot"))
    bot = SupportBot(init_chat_model(os.environ.get("MODEL", "openai:gpt-4.1-mini")), desk)

    def hear_desk() -> None:
        for event in desk.listen():
            for line in bot.on_desk_event(event):
                print(f"\nbot> {line}")

    threading.Thread(target=hear_desk, daemon=True).start()
    while True:
        for line in bot.on_user_message("console", input("you> ")):
            print(f"bot> {line}")
