"""The reference bot: canned answers, a handoff to Desk when it is out of its depth, and a
`refund` tool that asks a person on Desk before it refunds (see `bots.demo.refunds`).

Everything it does with Desk goes through Desk's public HTTP API (deploy, startHitl,
messages, stopHitl) with its API key, and everything it hears from Desk arrives as a
signed webhook (see `receive_event`). Copy it as the skeleton of a real bot.
"""

import hashlib
import hmac
import logging
import re
import time
from dataclasses import dataclass
from urllib.parse import quote

import httpx
from asgiref.sync import sync_to_async
from django.db import IntegrityError, transaction
from django.utils import timezone

from bots import wakeups
from bots.demo import refunds
from bots.demo.models import Chat, DemoBotConfig, Line

logger = logging.getLogger("bots.demo")

BOT_NAME = "Acme demo bot"
WEBHOOK_PATH = "/demo/webhook/"
END_COMMAND = "/end"

# What the bot tells Desk to show the end user (Desk fills in {agentName}).
HANDOFF_SETTINGS = {
    "name": BOT_NAME,
    "agentAssignedMessage": "{agentName} from the Acme support team has joined the chat.",
    "sessionEndedMessage": (
        "{agentName} has closed the chat. I'm the Acme bot again: "
        "anything else I can help you with?"
    ),
    "agentAssignedTimeoutSeconds": 600,
    "agentAssignedTimeoutMessage": (
        "No support agent is free right now. Please try again later; "
        "I'll keep helping you in the meantime."
    ),
}

GREETING = (
    "Hi {name}! I'm the Acme bot. Ask me about opening hours, pricing, shipping, "
    "returns or signing in, or type \u201cagent\u201d to talk to a person."
)
HANDING_OVER = (
    "I'm handing you over to a support agent: they will join this chat shortly. "
    "You can keep writing here. (Type /end to stop waiting.)"
)
DONT_KNOW = "I don't know the answer to that one, so let me get you a person who does."
NOT_CONNECTED = (
    "Sorry, I can't reach a support agent right now (this bot is not enabled in Desk). "
    "Is there anything else I can help with?"
)
DESK_DOWN = "Sorry, I couldn't reach the support team just now. Please try again in a moment."
NOT_DELIVERED = "That message could not be passed on to the agent. Please send it again."
USER_ENDED = "You have ended the chat with the support agent. I'm the Acme bot again."

ESCALATE = re.compile(r"\b(agent|human|person|people|someone|representative|operator)s?\b", re.I)
CANNED = [
    (r"\b(hours?|open|opening|closed?)\b",
     "We're open Monday to Friday, 9:00 to 18:00 CET, and our agents answer chats then."),
    (r"\b(price|prices|pricing|cost|costs|plans?)\b",
     "Acme Basic is $9 a month and Acme Pro $29 a month; both start with a 30-day free trial."),
    (r"\b(ship|shipping|delivery|deliver|tracking|track)\b",
     "Orders ship within 2 business days, and you get a tracking link by email when "
     "yours leaves the warehouse."),
    (r"\b(refund|refunds|return|returns)\b",
     "You can return anything within 30 days for a full refund: Orders, then Return an item."),
    (r"\b(password|log ?in|sign ?in)\b",
     "To reset your password, click \u201cForgot password?\u201d on the sign-in page and "
     "follow the link we email you."),
    (r"\b(thanks|thank you|thx)\b", "You're welcome! Anything else?"),
    (r"^\s*(hi|hello|hey|good (morning|afternoon|evening))\b",
     "Hello! Ask me about opening hours, pricing, shipping, returns or signing in."),
]


def canned_answer(text: str) -> str | None:
    for pattern, answer in CANNED:
        if re.search(pattern, text, re.I):
            return answer
    return None


def chat_key(chat_pk: int) -> str:
    return f"demo-chat-{chat_pk}"


def line_json(line: Line) -> dict:
    return {
        "id": line.pk,
        "sender": line.sender,
        "author": line.author,
        "text": line.text,
        "createdAt": line.created_at.isoformat(),
    }


# --- the bot's own storage (sync; the async code calls it through sync_to_async) ------


def add_line(chat: Chat, sender: str, text: str, author: str = "", **extra) -> Line:
    with transaction.atomic():
        line = Line.objects.create(chat=chat, sender=sender, text=text, author=author, **extra)
        transaction.on_commit(lambda: wakeups.fire(chat_key(chat.pk)))
    return line


def set_handoff(chat: Chat, on: bool) -> None:
    chat.handoff = on
    chat.save(update_fields=["handoff"])


def start_chat(*, user_name: str, user_email: str) -> Chat:
    chat = Chat.objects.create(
        conversation_id=f"webchat-{timezone.now():%Y%m%d%H%M%S}-{time.time_ns() % 10**6:06d}",
        user_name=user_name,
        user_email=user_email,
    )
    add_line(chat, Line.Sender.BOT, GREETING.format(name=user_name.split()[0]), BOT_NAME)
    return chat


def transcript(chat: Chat) -> list[dict]:
    return [
        {"role": line.sender, "text": line.text, "createdAt": line.created_at.isoformat()}
        for line in chat.lines.filter(sender__in=["user", "bot"]).order_by("pk")
    ]


# --- talking to Desk -------------------------------------------------------------------


@dataclass
class Desk:
    """Desk's HTTP API as this bot sees it: a base URL and its API key."""

    base_url: str
    config: DemoBotConfig

    def client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            base_url=self.base_url.rstrip("/") + "/api/v1",
            headers={"Authorization": f"Bearer {self.config.api_key}"},
            timeout=15,
        )

    @property
    def bot_path(self) -> str:
        return f"/bots/{quote(self.config.bot_id, safe='')}"

    async def deploy(self) -> None:
        """PUT the bot with its webhook URL (once per URL) and keep the signing secret."""
        webhook_url = self.base_url.rstrip("/") + WEBHOOK_PATH
        if self.config.webhook_url == webhook_url and self.config.webhook_secret:
            return
        async with self.client() as client:
            r = await client.put(
                self.bot_path, json={**HANDOFF_SETTINGS, "webhookUrl": webhook_url}
            )
        r.raise_for_status()
        self.config.webhook_url = webhook_url
        self.config.webhook_secret = r.json()["webhookSecret"]
        self.config.deployed_at = timezone.now()
        await sync_to_async(self.config.save)(
            update_fields=["webhook_url", "webhook_secret", "deployed_at"]
        )


async def handle_user_message(desk: Desk, chat: Chat, text: str) -> None:
    """One message from the webchat: relay it to the agent, or answer it, or escalate."""
    text = text.strip()
    if not text:
        return
    line = await sync_to_async(add_line)(chat, Line.Sender.USER, text, chat.user_name)
    try:
        await desk.deploy()
        if chat.handoff:
            if text.lower() == END_COMMAND:
                await _stop(desk, chat)
                return
            if await _relay(desk, chat, line):
                return
        asked_for_a_person = bool(ESCALATE.search(text))
        if refunds.wants_refund(text) and not asked_for_a_person:
            await _refund(desk, chat, line)
            return
        answer = canned_answer(text)
        if answer and not asked_for_a_person:
            await sync_to_async(add_line)(chat, Line.Sender.BOT, answer, BOT_NAME)
            return
        if not asked_for_a_person:
            await sync_to_async(add_line)(chat, Line.Sender.BOT, DONT_KNOW, BOT_NAME)
        await _escalate(desk, chat)
    except httpx.HTTPError as exc:
        logger.warning("demo bot could not reach Desk: %s", exc)
        await sync_to_async(add_line)(chat, Line.Sender.BOT, DESK_DOWN, BOT_NAME)


async def _relay(desk: Desk, chat: Chat, line: Line) -> bool:
    """Pass the message to the agent. False when the handoff turned out to be over."""
    path = f"{desk.bot_path}/conversations/{quote(chat.conversation_id, safe='')}/messages"
    async with desk.client() as client:
        r = await client.post(
            path, json={"text": line.text, "messageId": f"line-{line.pk}",
                        "userName": chat.user_name},
        )
    if r.status_code == 202:
        return True
    if r.status_code == 409:  # the ticket closed meanwhile: the bot is back in charge
        await sync_to_async(set_handoff)(chat, False)
        return False
    logger.warning("demo bot: relaying failed with %s %s", r.status_code, r.text[:200])
    await sync_to_async(add_line)(chat, Line.Sender.SYSTEM, NOT_DELIVERED)
    return True


async def _escalate(desk: Desk, chat: Chat) -> None:
    history = await sync_to_async(transcript)(chat)
    first_question = next((h["text"] for h in history if h["role"] == "user"), "")
    async with desk.client() as client:
        r = await client.post(
            f"{desk.bot_path}/startHitl",
            json={
                "conversationId": chat.conversation_id,
                "title": f"Webchat: {first_question}"[:300],
                "priority": "medium",
                "userName": chat.user_name,
                "userEmail": chat.user_email,
                "messageHistory": history[-500:],
            },
        )
    if r.status_code in (200, 201):
        await sync_to_async(set_handoff)(chat, True)
        await sync_to_async(add_line)(chat, Line.Sender.BOT, HANDING_OVER, BOT_NAME)
    elif r.status_code == 403:
        await sync_to_async(add_line)(chat, Line.Sender.BOT, NOT_CONNECTED, BOT_NAME)
    else:
        logger.warning("demo bot: startHitl answered %s %s", r.status_code, r.text[:200])
        await sync_to_async(add_line)(chat, Line.Sender.BOT, DESK_DOWN, BOT_NAME)


async def _refund(desk: Desk, chat: Chat, line: Line) -> None:
    """The refund tool: ask a person on Desk to approve it; the decision comes back as
    an `approvalDecided` event (see `receive_event`)."""
    ask = refunds.parse(line.text)
    if ask is None:
        await sync_to_async(add_line)(chat, Line.Sender.BOT, refunds.WHICH_ORDER, BOT_NAME)
        return
    request = refunds.request(ask, line_id=line.pk, user_name=chat.user_name, text=line.text)
    async with desk.client() as client:
        r = await client.post(
            f"{desk.bot_path}/approvals",
            json={**request, "conversationId": chat.conversation_id},
        )
    if r.status_code in (200, 201):
        await sync_to_async(add_line)(chat, Line.Sender.BOT, refunds.reviewing(ask), BOT_NAME)
    elif r.status_code == 403:
        await sync_to_async(add_line)(chat, Line.Sender.BOT, NOT_CONNECTED, BOT_NAME)
    else:
        logger.warning("demo bot: the approval request answered %s %s",
                       r.status_code, r.text[:200])
        await sync_to_async(add_line)(chat, Line.Sender.BOT, DESK_DOWN, BOT_NAME)


async def _stop(desk: Desk, chat: Chat) -> None:
    async with desk.client() as client:
        r = await client.post(
            f"{desk.bot_path}/stopHitl",
            json={"conversationId": chat.conversation_id, "reason": "cancel"},
        )
    if r.status_code not in (200, 404, 409):
        r.raise_for_status()
    await sync_to_async(set_handoff)(chat, False)
    await sync_to_async(add_line)(chat, Line.Sender.BOT, USER_ENDED, BOT_NAME)


# --- hearing from Desk -----------------------------------------------------------------


def signature_ok(secret: str, timestamp: str, body: bytes, signature: str) -> bool:
    """Desk-Signature is v1=HMAC-SHA256(secret, timestamp + "." + body); refuse old ones."""
    if not secret or not timestamp.isdigit() or abs(time.time() - int(timestamp)) > 300:
        return False
    expected = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return hmac.compare_digest(f"v1={expected.hexdigest()}", signature)


def _refund_asked(chat: Chat, request_id: str) -> refunds.RefundAsk | None:
    """What the customer asked for, read again from their line that made the request."""
    line = chat.lines.filter(pk=refunds.line_of(request_id) or 0).first()
    return refunds.parse(line.text) if line else None


def receive_event(event: dict) -> None:
    """Act on one verified webhook event. Safe to receive twice (de-duplicated by id)."""
    chat = Chat.objects.filter(conversation_id=event.get("conversationId")).first()
    if chat is None:
        return  # not one of ours (or long gone): acknowledge and forget
    kind = event.get("type")
    if kind == "hitlStopped":
        set_handoff(chat, False)  # the bot is back in charge (idempotent)
    if kind == "agentMessage":
        sender, author, text = Line.Sender.AGENT, event.get("agentName", ""), event.get("text")
    elif kind == "hitlAssigned":
        sender, author, text = Line.Sender.SYSTEM, "", event.get("message")
    elif kind == "hitlStopped":
        sender, author, text = Line.Sender.BOT, BOT_NAME, event.get("message")
    elif kind == "approvalDecided" and event.get("action") == refunds.ACTION:
        sender, author = Line.Sender.BOT, BOT_NAME
        text = refunds.outcome(event, asked=_refund_asked(chat, event.get("requestId", "")))
    else:
        return
    if not text:
        return
    try:
        # The line keeps the event id: a re-sent event meets the unique constraint.
        add_line(chat, sender, text, author, desk_event_id=event.get("id"))
    except IntegrityError:
        pass  # seen this one already
