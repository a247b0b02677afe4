"""The reference bot: canned answers, a handoff to Desk when it is out of its depth, a
`refund` tool that asks a person on Desk before it refunds (see `bots.demo.refunds`), and
a satisfaction rating after an agent closed (Desk asks for it in hitlStopped's `csat`).

It talks to Desk with the bot SDK (`desk_sdk`, in sdk/python), as any Python bot
would: deploy, startHitl, messages, stopHitl and approval requests through `AsyncDesk` with its
API key,
and Desk's events as signed webhooks through the SDK's Django receiver (see
`receive_event`). Copy it as the skeleton of a real bot.
"""

import hashlib
import json
import logging
import re
import time
from dataclasses import dataclass

from asgiref.sync import sync_to_async
from desk_sdk import (
    AgentMessage,
    ApprovalDecided,
    AsyncDesk,
    BotNotConnected,
    DeskError,
    DeskUnreachable,
    Event,
    HitlAssigned,
    HitlQueued,
    HitlStopped,
    NoRecentTicket,
    NotFound,
    PayloadTooLarge,
    Retry,
    TicketClosed,
)
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import IntegrityError, transaction
from django.db.models import F
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
    # Desk asks for a rating after an agent closes; the webchat shows buttons 1 to 5.
    "csatMessage": "How would you rate the help you received, from 1 to 5?",
    # While the user waits: shown above the chat, replaced as their place changes.
    "queuedMessage": "You are number {queuePosition} in line. An agent will be with you shortly.",
    "outsideHoursMessage": (
        "Our team is offline right now. We will reply here when we are back."
    ),
    "agentTransferredMessage": "{agentName} from the Acme support team has taken over the chat.",
}
# A change to the settings above deploys the bot again on its next message.
SETTINGS_DIGEST = hashlib.sha256(json.dumps(HANDOFF_SETTINGS, sort_keys=True).encode()).hexdigest()

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
THANKS_FOR_RATING = "Thank you for your feedback! Anything else I can help you with?"
TOO_LATE_TO_RATE = "Thanks! That chat is too long ago to be rated now, though."
RATING = re.compile(r"^\s*([1-5])\s*(/\s*5)?\s*$")

# The greeting's card and choice (Botpress message types): their buttons send their value
# as the customer's message; they reach the agent in the handoff's messageHistory.
GREETING_CARD = {
    "title": "Acme Kettle 2000",
    "subtitle": "Our best seller: boils in 90 seconds, with a 2-year warranty.",
    "actions": [
        {"action": "say", "label": "Shipping times", "value": "How long does shipping take?"},
        {"action": "say", "label": "Talk to a person", "value": "I'd like to talk to a person"},
    ],
}
GREETING_CHOICE = {
    "text": "Or pick a topic:",
    "options": [
        {"label": "Pricing", "value": "What does it cost?"},
        {"label": "Returns", "value": "How do returns work?"},
        {"label": "Signing in", "value": "I can't sign in"},
    ],
}
FILE_HANDOVER = (
    "Thanks for the file! I can't look at files myself, so I'm passing it to a support "
    "agent who can."
)
FILE_FIELDS = {"image": "imageUrl", "audio": "audioUrl", "video": "videoUrl", "file": "fileUrl"}

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


def line_items(line: Line) -> list[dict]:
    """The line as {type, payload} items: a bloc's items, or the line alone."""
    if line.kind == "bloc":
        return list(line.payload.get("items", []))
    return [{"type": line.kind, "payload": line.payload}]


def line_json(line: Line) -> dict:
    found = {
        "id": line.pk,
        "sender": line.sender,
        "author": line.author,
        "text": line.text,
        "kind": line.kind,
        "createdAt": line.created_at.isoformat(),
        "ratingScale": line.rating_scale,
        "rating": line.rating,
    }
    if line.kind != "text":
        found["items"] = [
            _item_json(line, index, item) for index, item in enumerate(line_items(line))
        ]
    return found


def _item_json(line: Line, index: int, item: dict) -> dict:
    """One item as the webchat draws it; a file is served by the demo itself (a copy of
    Desk's, whose URLs expire)."""
    kind, payload = item.get("type", "text"), item.get("payload", {})
    if kind in FILE_FIELDS:
        return {
            "type": kind,
            "name": payload.get("name") or payload.get("title") or file_name(
                payload.get(FILE_FIELDS[kind], "")),
            "url": f"/demo/c/{line.chat.public_id}/files/{line.pk}/{index}",
        }
    if kind == "markdown":
        return {"type": "text", "text": payload.get("markdown", "")}
    if kind == "location":
        return {"type": "text", "text": " ".join(
            str(part) for part in (payload.get("title"), payload.get("address"),
                                   f"({payload.get('latitude')}, {payload.get('longitude')})")
            if part)}
    return {"type": kind, **payload}


def file_name(url: str) -> str:
    from urllib.parse import unquote, urlsplit

    return unquote(urlsplit(url).path.rsplit("/", 1)[-1]) or "file"


def card_text(card: dict) -> str:
    buttons = " | ".join(action["label"] for action in card["actions"])
    return f"{card['title']}: {card.get('subtitle', '')} [{buttons}]"


def choice_text(choice: dict) -> str:
    return f"{choice['text']} [" + " | ".join(o["label"] for o in choice["options"]) + "]"


# --- the bot's own storage (sync; the async code calls it through sync_to_async) ------


def add_line(chat: Chat, sender: str, text: str, author: str = "", **extra) -> Line:
    with transaction.atomic():
        line = Line.objects.create(chat=chat, sender=sender, text=text, author=author, **extra)
        transaction.on_commit(lambda: wakeups.fire(chat_key(chat.pk)))
    return line


def set_handoff(chat: Chat, on: bool) -> None:
    chat.handoff = on
    chat.save(update_fields=["handoff"])


def set_queue_status(chat: Chat, text: str) -> None:
    """What the user is told of their place in line ("" once an agent has them)."""
    with transaction.atomic():
        changed = Chat.objects.filter(pk=chat.pk).exclude(queue_status=text).update(
            queue_status=text, queue_version=F("queue_version") + 1
        )
        if changed:
            transaction.on_commit(lambda: wakeups.fire(chat_key(chat.pk)))


def start_chat(*, user_name: str, user_email: str) -> Chat:
    chat = Chat.objects.create(
        conversation_id=f"webchat-{timezone.now():%Y%m%d%H%M%S}-{time.time_ns() % 10**6:06d}",
        user_name=user_name,
        user_email=user_email,
    )
    add_line(chat, Line.Sender.BOT, GREETING.format(name=user_name.split()[0]), BOT_NAME)
    add_line(chat, Line.Sender.BOT, card_text(GREETING_CARD), BOT_NAME, kind="card",
             payload=GREETING_CARD)
    add_line(chat, Line.Sender.BOT, choice_text(GREETING_CHOICE), BOT_NAME, kind="choice",
             payload=GREETING_CHOICE)
    return chat


def transcript(chat: Chat) -> list[dict]:
    """The conversation so far as messageHistory: text in Desk's shape, the rest (the
    greeting's card and choice, the customer's files) in Botpress's."""
    history = []
    for line in chat.lines.filter(sender__in=["user", "bot"]).order_by("pk"):
        when = line.created_at.isoformat()
        if line.kind == "text":
            history.append({"role": line.sender, "text": line.text, "createdAt": when})
            continue
        source = ({"type": "user", "userId": chat.conversation_id} if line.sender == "user"
                  else {"type": "bot"})
        payload = line.payload
        if line.kind in FILE_FIELDS:
            payload = {FILE_FIELDS[line.kind]: line.payload["deskUrl"]}
        history.append({"source": source, "type": line.kind, "payload": payload,
                        "createdAt": when})
    return history


# --- talking to Desk -------------------------------------------------------------------


@dataclass
class Desk:
    """Desk as this bot sees it: Desk's base URL and the bot's settings row (its id, key
    and the webhook secret Desk gave it)."""

    base_url: str
    config: DemoBotConfig

    def client(self) -> AsyncDesk:
        # The customer waits for this answer in the webchat: retries stop within 10 s.
        return AsyncDesk(
            self.base_url, api_key=self.config.api_key, bot_id=self.config.bot_id,
            timeout=15, retry=Retry(total_seconds=10),
        )

    async def deploy(self, client: AsyncDesk) -> None:
        """Deploy the bot with its webhook URL and settings (again only when either
        changed) and keep the signing secret."""
        webhook_url = self.base_url.rstrip("/") + WEBHOOK_PATH
        if (
            self.config.webhook_url == webhook_url
            and self.config.webhook_secret
            and self.config.deployed_settings == SETTINGS_DIGEST
        ):
            return
        bot = await client.deploy(
            name=BOT_NAME,
            webhook_url=webhook_url,
            agent_assigned_message=HANDOFF_SETTINGS["agentAssignedMessage"],
            session_ended_message=HANDOFF_SETTINGS["sessionEndedMessage"],
            agent_assigned_timeout_seconds=HANDOFF_SETTINGS["agentAssignedTimeoutSeconds"],
            agent_assigned_timeout_message=HANDOFF_SETTINGS["agentAssignedTimeoutMessage"],
            csat_message=HANDOFF_SETTINGS["csatMessage"],
            queued_message=HANDOFF_SETTINGS["queuedMessage"],
            outside_hours_message=HANDOFF_SETTINGS["outsideHoursMessage"],
            agent_transferred_message=HANDOFF_SETTINGS["agentTransferredMessage"],
        )
        self.config.webhook_url = webhook_url
        self.config.webhook_secret = bot.webhook_secret
        self.config.deployed_at = timezone.now()
        self.config.deployed_settings = SETTINGS_DIGEST
        await sync_to_async(self.config.save)(
            update_fields=["webhook_url", "webhook_secret", "deployed_at", "deployed_settings"]
        )


async def handle_user_message(desk: Desk, chat: Chat, text: str) -> None:
    """One message from the webchat: relay it to the agent, or answer it, or escalate."""
    text = text.strip()
    if not text:
        return
    line = await sync_to_async(add_line)(chat, Line.Sender.USER, text, chat.user_name)
    try:
        async with desk.client() as client:
            await desk.deploy(client)
            if chat.handoff:
                if text.lower() == END_COMMAND:
                    await _stop(client, chat)
                    return
                if await _relay(client, chat, line):
                    return
            elif (said := RATING.match(text)) and (
                prompt := await sync_to_async(rating_prompt)(chat)
            ):
                await _rate(client, chat, prompt, int(said.group(1)))
                return
            asked_for_a_person = bool(ESCALATE.search(text))
            if refunds.wants_refund(text) and not asked_for_a_person:
                await _refund(client, chat, line)
                return
            answer = canned_answer(text)
            if answer and not asked_for_a_person:
                await sync_to_async(add_line)(chat, Line.Sender.BOT, answer, BOT_NAME)
                return
            if not asked_for_a_person:
                await sync_to_async(add_line)(chat, Line.Sender.BOT, DONT_KNOW, BOT_NAME)
            await _escalate(client, chat)
    except DeskError as exc:  # Desk unreachable, or refusing to deploy the bot
        logger.warning("demo bot could not reach Desk: %s", exc)
        await sync_to_async(add_line)(chat, Line.Sender.BOT, DESK_DOWN, BOT_NAME)


async def handle_user_file(
    desk: Desk, chat: Chat, *, name: str, data: bytes, content_type: str
) -> None:
    """A file from the webchat: upload it to Desk (which says what it is), keep a copy to
    show in the chat, then pass it to the agent, or hand over to one (a bot that reads
    no files)."""
    try:
        async with desk.client() as client:
            await desk.deploy(client)
            try:
                uploaded = await client.upload_file(data, name=name, content_type=content_type)
            except BotNotConnected:
                await sync_to_async(add_line)(chat, Line.Sender.BOT, NOT_CONNECTED, BOT_NAME)
                return
            except PayloadTooLarge as exc:  # Desk's message names its limit
                await sync_to_async(add_line)(chat, Line.Sender.BOT, exc.message, BOT_NAME)
                return
            kind = uploaded.message_type
            payload = {"name": uploaded.name, "size": uploaded.size,
                       "contentType": uploaded.content_type, "deskUrl": uploaded.url}
            line = await sync_to_async(_file_line)(chat, kind, payload, data)
            if chat.handoff:
                try:
                    await client.send_message(
                        chat.conversation_id, type=kind,
                        payload={FILE_FIELDS[kind]: uploaded.url}, message_id=f"line-{line.pk}",
                        user_name=chat.user_name,
                    )
                    return
                except TicketClosed:
                    await sync_to_async(set_handoff)(chat, False)
            await sync_to_async(add_line)(chat, Line.Sender.BOT, FILE_HANDOVER, BOT_NAME)
            await _escalate(client, chat)
    except DeskError as exc:
        logger.warning("demo bot could not reach Desk: %s", exc)
        await sync_to_async(add_line)(chat, Line.Sender.BOT, DESK_DOWN, BOT_NAME)


def _file_line(chat: Chat, kind: str, payload: dict, data: bytes) -> Line:
    line = add_line(chat, Line.Sender.USER, f"[{kind}] {payload['name']}", chat.user_name,
                    kind=kind, payload=payload)
    key = default_storage.save(f"demo/{chat.public_id.hex}/{line.pk}-0", ContentFile(data))
    line.payload = {**payload, "stored": key}
    line.save(update_fields=["payload"])
    return line


async def _relay(client: AsyncDesk, chat: Chat, line: Line) -> bool:
    """Pass the message to the agent. False when the handoff turned out to be over."""
    try:
        # The line's id is the messageId: a retried send is stored once.
        await client.send_message(
            chat.conversation_id, line.text, message_id=f"line-{line.pk}",
            user_name=chat.user_name,
        )
    except TicketClosed:  # the ticket closed meanwhile: the bot is back in charge
        await sync_to_async(set_handoff)(chat, False)
        return False
    except DeskUnreachable:
        raise
    except DeskError as exc:
        logger.warning("demo bot: relaying failed: %s", exc)
        await sync_to_async(add_line)(chat, Line.Sender.SYSTEM, NOT_DELIVERED)
    return True


async def _escalate(client: AsyncDesk, chat: Chat) -> None:
    history = await sync_to_async(transcript)(chat)
    first_question = next((h["text"] for h in history if h.get("role") == "user"), "")
    try:
        ticket = await client.start_hitl(
            chat.conversation_id,
            title=f"Webchat: {first_question or 'a file from the customer'}"[:300],
            priority="medium",
            user_name=chat.user_name,
            user_email=chat.user_email,
            # What the agent sees of the customer beside the ticket (and may search for).
            custom_fields={"channel": "webchat", "linesBeforeHandoff": len(history)},
            message_history=history[-500:],
        )
    except BotNotConnected:
        await sync_to_async(add_line)(chat, Line.Sender.BOT, NOT_CONNECTED, BOT_NAME)
    except DeskUnreachable:
        raise
    except DeskError as exc:
        logger.warning("demo bot: startHitl failed: %s", exc)
        await sync_to_async(add_line)(chat, Line.Sender.BOT, DESK_DOWN, BOT_NAME)
    else:
        await sync_to_async(set_handoff)(chat, True)
        await sync_to_async(add_line)(chat, Line.Sender.BOT, HANDING_OVER, BOT_NAME)
        if ticket.status == "pending" and ticket.within_business_hours is not False:
            # startHitl's answer is the first word on the user's place in line; Desk's
            # hitlQueued events bring the next ones (and the offline message).
            waiting = HANDOFF_SETTINGS["queuedMessage"].replace(
                "{queuePosition}", str(ticket.queue_position)
            )
            await sync_to_async(set_queue_status)(chat, waiting)


async def _refund(client: AsyncDesk, chat: Chat, line: Line) -> None:
    """The refund tool: ask a person on Desk to approve it; the decision comes back as
    an `approvalDecided` event (see `receive_event`)."""
    ask = refunds.parse(line.text)
    if ask is None:
        await sync_to_async(add_line)(chat, Line.Sender.BOT, refunds.WHICH_ORDER, BOT_NAME)
        return
    request = refunds.request(ask, line_id=line.pk, user_name=chat.user_name, text=line.text)
    try:
        await client.request_approval(**request, conversation_id=chat.conversation_id)
    except BotNotConnected:
        await sync_to_async(add_line)(chat, Line.Sender.BOT, NOT_CONNECTED, BOT_NAME)
    except DeskUnreachable:
        raise
    except DeskError as exc:
        logger.warning("demo bot: the approval request failed: %s", exc)
        await sync_to_async(add_line)(chat, Line.Sender.BOT, DESK_DOWN, BOT_NAME)
    else:
        await sync_to_async(add_line)(chat, Line.Sender.BOT, refunds.reviewing(ask), BOT_NAME)


def rating_prompt(chat: Chat, line_id: int | None = None) -> Line | None:
    """The chat's rating question still waiting for an answer (the last one, or the one
    with `line_id`), or None."""
    prompts = chat.lines.filter(rating_scale__isnull=False, rating__isnull=True)
    if line_id is not None:
        prompts = prompts.filter(pk=line_id)
    return prompts.order_by("-pk").first()


def set_rating(prompt: Line, score: int) -> None:
    prompt.rating = score
    prompt.save(update_fields=["rating"])


async def handle_rating(desk: Desk, chat: Chat, line_id: int, score: int) -> bool:
    """The customer pressed a rating button. False when that question is not open."""
    prompt = await sync_to_async(rating_prompt)(chat, line_id)
    if prompt is None or not 1 <= score <= (prompt.rating_scale or 0):
        return False
    await sync_to_async(add_line)(chat, Line.Sender.USER, f"{score} / {prompt.rating_scale}",
                                  chat.user_name)
    try:
        async with desk.client() as client:
            await _rate(client, chat, prompt, score)
    except DeskError as exc:
        logger.warning("demo bot could not reach Desk: %s", exc)
        await sync_to_async(add_line)(chat, Line.Sender.BOT, DESK_DOWN, BOT_NAME)
    return True


async def _rate(client: AsyncDesk, chat: Chat, prompt: Line, score: int) -> None:
    """Pass the customer's score to Desk, which rates the ticket the agent just closed."""
    try:
        await client.rate(chat.conversation_id, score)
    except DeskUnreachable:
        raise
    except NoRecentTicket:
        answer = TOO_LATE_TO_RATE
    except DeskError as exc:  # rated a day ago already (AlreadyRated), or refused
        logger.warning("demo bot: the rating was refused: %s", exc)
        answer = TOO_LATE_TO_RATE
    else:
        answer = THANKS_FOR_RATING
    await sync_to_async(set_rating)(prompt, score)
    await sync_to_async(add_line)(chat, Line.Sender.BOT, answer, BOT_NAME)


async def _stop(client: AsyncDesk, chat: Chat) -> None:
    try:
        await client.stop_hitl(chat.conversation_id, reason="cancel")
    except (NotFound, TicketClosed):
        pass  # already over: the bot is in charge either way
    await sync_to_async(set_handoff)(chat, False)
    await sync_to_async(add_line)(chat, Line.Sender.BOT, USER_ENDED, BOT_NAME)


# --- hearing from Desk -----------------------------------------------------------------


def webhook_secret() -> str:
    """The secret Desk signs this bot's webhooks with (read on each request: it comes
    with the deploy answer)."""
    config = DemoBotConfig.objects.first()
    return config.webhook_secret if config else ""


def _refund_asked(chat: Chat, request_id: str) -> refunds.RefundAsk | None:
    """What the customer asked for, read again from their line that made the request."""
    line = chat.lines.filter(pk=refunds.line_of(request_id) or 0).first()
    return refunds.parse(line.text) if line else None


def receive_event(event: Event) -> None:
    """Act on one verified webhook event. Safe to receive twice (de-duplicated by id)."""
    chat = Chat.objects.filter(conversation_id=event.conversation_id).first()
    if chat is None:
        return  # not one of ours (or long gone): acknowledge and forget
    ask = None
    if isinstance(event, HitlQueued):
        set_queue_status(chat, event.message)  # shown above the chat, not as a line
        return
    if isinstance(event, (HitlAssigned, HitlStopped)):
        set_queue_status(chat, "")  # no longer waiting
    if isinstance(event, HitlStopped):
        set_handoff(chat, False)  # the bot is back in charge (idempotent)
        sender, author, text = Line.Sender.BOT, BOT_NAME, event.message
        ask = event.csat  # an agent closed and Desk asks for a rating
    elif isinstance(event, AgentMessage):
        sender, author, text = Line.Sender.AGENT, event.agent_name, event.text
        if event.message_type != "text":  # pictures, files: shown from the demo's copies
            with transaction.atomic():
                try:
                    with transaction.atomic():
                        add_line(chat, sender, text, author, desk_event_id=event.id,
                                 kind="bloc", payload={"items": event.items})
                except IntegrityError:
                    pass  # seen this one already
            return
    elif isinstance(event, HitlAssigned):
        sender, author, text = Line.Sender.SYSTEM, "", event.message
    elif isinstance(event, ApprovalDecided) and event.action == refunds.ACTION:
        sender, author = Line.Sender.BOT, BOT_NAME
        text = refunds.outcome(event, asked=_refund_asked(chat, event.request_id))
    else:
        return  # an event type this bot does not use
    if not text and not ask:
        return
    try:
        # The line keeps the event id: a re-sent event meets the unique constraint.
        with transaction.atomic():
            if text:
                add_line(chat, sender, text, author, desk_event_id=event.id)
            if ask:  # the question, with buttons 1 … scale in the webchat
                event_id = {} if text else {"desk_event_id": event.id}
                add_line(chat, sender, ask.message, author, rating_scale=ask.scale, **event_id)
    except IntegrityError:
        pass  # seen this one already
