"""Rasa: custom actions that hand the conversation to Desk, relay it, and bring the
agent's words back (rasa-sdk's `Action`; run with `python -m rasa_sdk --actions rasa_action`).

- `action_handoff_to_desk` escalates with the conversation so far (the tracker's user
  and bot turns) and sets the `desk_handoff` slot.
- `action_relay_to_desk` runs for each user message while `desk_handoff` is set (a rule
  in your Rasa project): the message goes to the agent, Rasa's own message id as the
  messageId, so a retried action stores it once.
- `action_desk_event` runs when Desk's event reaches Rasa (the `desk_event` intent,
  triggered by `rasa_bridge` below): it utters the agent's words to the user through
  whatever channel the conversation uses, and clears `desk_handoff` when the session ends.

Settings come from the environment: DESK_URL, DESK_API_KEY, DESK_BOT_ID.
"""

from __future__ import annotations

import os
from typing import Any

import httpx
from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from desk_sdk import (
    AgentMessage,
    AsyncDesk,
    BotNotConnected,
    Event,
    HitlAssigned,
    HitlStopped,
    TicketClosed,
)

SLOT = "desk_handoff"
HANDING_OVER = "I'm handing you over to a person from our team. You can keep writing here."
NO_ONE = "Sorry, I can't reach our support team right now. Can I help with something else?"
BACK = "Our agent has left the chat. I'm the bot again: how can I help?"


def desk() -> AsyncDesk:
    return AsyncDesk(os.environ["DESK_URL"], api_key=os.environ["DESK_API_KEY"],
                     bot_id=os.environ.get("DESK_BOT_ID", "rasa-bot"))


def transcript(tracker: Tracker) -> list[dict[str, str]]:
    """The conversation so far, as Desk's messageHistory."""
    return [
        {"role": "user" if event["event"] == "user" else "bot", "text": event["text"]}
        for event in tracker.events
        if event.get("event") in ("user", "bot") and (event.get("text") or "").strip()
    ][-500:]


class ActionHandoffToDesk(Action):
    def name(self) -> str:
        return "action_handoff_to_desk"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[dict[str, Any]]:
        async with desk() as client:
            try:
                await client.start_hitl(
                    tracker.sender_id,
                    title=(tracker.latest_message.get("text") or "Rasa conversation")[:300],
                    user_name=tracker.get_slot("name") or "",
                    message_history=transcript(tracker),
                )
            except BotNotConnected:
                dispatcher.utter_message(text=NO_ONE)
                return []
        dispatcher.utter_message(text=HANDING_OVER)
        return [SlotSet(SLOT, True)]


class ActionRelayToDesk(Action):
    def name(self) -> str:
        return "action_relay_to_desk"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[dict[str, Any]]:
        message = tracker.latest_message
        async with desk() as client:
            try:
                await client.send_message(tracker.sender_id, message.get("text") or "",
                                          message_id=message.get("message_id"))
            except TicketClosed:  # the agent closed meanwhile: the bot is in charge again
                dispatcher.utter_message(text=BACK)
                return [SlotSet(SLOT, False)]
        return []  # the agent answers; the bot stays quiet


class ActionDeskEvent(Action):
    """Desk's event, brought in by `rasa_bridge` as the `desk_event` intent's entities."""

    def name(self) -> str:
        return "action_desk_event"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[dict[str, Any]]:
        entities = {e["entity"]: e.get("value") for e in tracker.latest_message["entities"]}
        if entities.get("desk_text"):
            dispatcher.utter_message(text=entities["desk_text"])
        if entities.get("desk_type") == "hitlStopped":
            return [SlotSet(SLOT, False)]
        return []


# --- the bridge: Desk's webhook in, Rasa's HTTP API out ---------------------------------


def rasa_trigger(event: Event) -> dict[str, Any] | None:
    """The `trigger_intent` body that brings one Desk event into the Rasa conversation."""
    if isinstance(event, AgentMessage):
        text = event.text
    elif isinstance(event, (HitlAssigned, HitlStopped)):
        text = event.message or ""
    else:
        return None
    return {"name": "desk_event",
            "entities": {"desk_type": event.type, "desk_text": text}}


def rasa_bridge(rasa_url: str):
    """A webhook handler for desk_sdk's receivers: each event triggers `desk_event` in the
    conversation on the Rasa server (its HTTP API, `rasa run --enable-api`), which runs
    `action_desk_event` and sends the utterance out on the conversation's channel."""

    def handle(event: Event) -> None:
        body = rasa_trigger(event)
        if body is None:
            return
        answer = httpx.post(
            f"{rasa_url.rstrip('/')}/conversations/{event.conversation_id}/trigger_intent",
            params={"output_channel": "latest"}, json=body, timeout=30,
        )
        answer.raise_for_status()  # an error answer makes Desk deliver the event again

    return handle


if __name__ == "__main__":  # the Desk webhook side: uvicorn serving the bridge
    import uvicorn

    from desk_sdk.asgi import WebhookApp

    app = WebhookApp(os.environ["DESK_WEBHOOK_SECRET"],
                     rasa_bridge(os.environ.get("RASA_URL", "http://localhost:5005")))
    uvicorn.run(app, host="127.0.0.1", port=int(os.environ.get("PORT", "5056")))
