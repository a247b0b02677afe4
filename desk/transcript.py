"""Lines of a ticket's transcript as Desk writes them: message text as stored, system
lines and internal notes. The write primitives the service modules (`desk.services`,
`desk.assignment`) share; who may write what is decided there, not here."""

from datetime import datetime

from django.contrib.auth.models import AbstractBaseUser
from django.utils import timezone

from bots.text import MESSAGE_PROBLEMS, text_problem
from desk import realtime
from desk.exceptions import InvalidInput
from desk.models import Message, Ticket
from desk.people import display_name

MAX_MESSAGE_LENGTH = 10_000


def clean_text(text: str, *, field: str = "text") -> str:
    """Message text as stored: surrounding blank lines dropped, never empty or only
    invisible characters, never a NUL character, never huge."""
    text = (text or "").strip("\r\n")
    if problem := text_problem(text):
        raise InvalidInput(MESSAGE_PROBLEMS[problem], field=field)
    if len(text) > MAX_MESSAGE_LENGTH:
        raise InvalidInput(
            f"The message is longer than {MAX_MESSAGE_LENGTH} characters.", field=field
        )
    return text


def system_line(ticket: Ticket, text: str, now: datetime) -> Message:
    message = Message.objects.create(
        ticket=ticket, kind=Message.Kind.SYSTEM, text=text, created_at=now
    )
    realtime.announce_message(ticket.pk, message.pk)
    return message


def note(ticket: Ticket, agent: AbstractBaseUser, text: str) -> Message:
    """An internal note (already cleaned): agents see it, the bot never does."""
    message = Message.objects.create(
        ticket=ticket,
        kind=Message.Kind.NOTE,
        author=agent,
        author_name=display_name(agent),
        text=text,
        created_at=timezone.now(),
    )
    realtime.announce_message(ticket.pk, message.pk)
    return message
