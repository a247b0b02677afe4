"""OpenAI Agents SDK: an agent with a `talk_to_human` handoff tool that escalates to Desk.

The tool calls start_hitl with the conversation so far; the run stops at it
(`StopAtTools`), and until Desk's `hitlStopped` the bot relays: the user's messages go
to the agent in Desk, the agent's replies come back. Then the agent answers again,
with what happened in its input.

Pass any model the Agents SDK accepts (a model name, or a `Model`); the test uses a
scripted stub model, offline.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from agents import Agent, RunContextWrapper, Runner, StopAtTools, function_tool

from desk_sdk import AgentMessage, AsyncDesk, Event, HitlAssigned, HitlStopped, TicketClosed

HANDING_OVER = "I'm getting a person from our team for you; they'll reply here."


@dataclass
class Conversation:
    """One end user's conversation: the run context the tool sees."""

    id: str
    desk: AsyncDesk
    user_name: str = ""
    items: list[Any] = field(default_factory=list)  # the agent's input so far
    with_human: bool = False

    def history(self) -> list[dict[str, str]]:
        lines = []
        for item in self.items:
            if isinstance(item, dict) and item.get("role") in ("user", "assistant"):
                content = item.get("content")
                if isinstance(content, list):
                    content = " ".join(part.get("text", "") for part in content)
                if str(content or "").strip():
                    role = "user" if item["role"] == "user" else "bot"
                    lines.append({"role": role, "text": str(content)})
        return lines[-500:]


@function_tool
async def talk_to_human(ctx: RunContextWrapper[Conversation], reason: str) -> str:
    """Hand the conversation to a human support agent. Use it when the user asks for a
    person, or for anything you may not decide yourself.

    Args:
        reason: What the user needs, in a few words (the ticket's title).
    """
    conversation = ctx.context
    ticket = await conversation.desk.start_hitl(
        conversation.id, title=reason[:300], user_name=conversation.user_name,
        message_history=conversation.history(),
    )
    conversation.with_human = True
    return f"Handed over to a human agent (Desk ticket #{ticket.number})."


def build_agent(model: Any) -> Agent[Conversation]:
    return Agent[Conversation](
        name="Support",
        instructions="You are Acme's support assistant. Hand over to a human when asked.",
        tools=[talk_to_human],
        tool_use_behavior=StopAtTools(stop_at_tool_names=["talk_to_human"]),
        model=model,
    )


class SupportBot:
    """The bot around the agent. Each method returns what to show the user."""

    def __init__(self, model: Any, desk: AsyncDesk) -> None:
        self.agent, self.desk = build_agent(model), desk
        self.conversations: dict[str, Conversation] = {}

    def conversation(self, conversation_id: str, user_name: str = "") -> Conversation:
        if conversation_id not in self.conversations:
            self.conversations[conversation_id] = Conversation(conversation_id, self.desk,
                                                               user_name)
        return self.conversations[conversation_id]

    async def _run(self, conversation: Conversation) -> list[str]:
        result = await Runner.run(self.agent, conversation.items, context=conversation)
        conversation.items = result.to_input_list()
        return [HANDING_OVER] if conversation.with_human else [str(result.final_output)]

    async def on_user_message(self, conversation_id: str, text: str,
                              user_name: str = "") -> list[str]:
        conversation = self.conversation(conversation_id, user_name)
        conversation.items.append({"role": "user", "content": text})
        if conversation.with_human:
            try:
                await self.desk.send_message(conversation_id, text)
                return []
            except TicketClosed:
                conversation.with_human = False
        return await self._run(conversation)

    async def on_desk_event(self, event: Event) -> list[str]:
        conversation = self.conversations.get(event.conversation_id)
        if conversation is None:
            return []
        if isinstance(event, HitlAssigned):
            return [event.message]
        if isinstance(event, AgentMessage):
            conversation.items.append({"role": "assistant", "content": event.text})
            return [event.text]
        if isinstance(event, HitlStopped) and conversation.with_human:
            conversation.with_human = False
            note = f"(The human agent's session ended: {event.reason}.)"
            conversation.items.append({"role": "system", "content": note})
            said = [event.message] if event.message else []
            return [*said, *await self._run(conversation)]
        return []
