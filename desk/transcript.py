"""Lines of a ticket's transcript as Desk writes them: message text as stored, system
lines and internal notes. The write primitives the service modules (`desk.services`,
`desk.assignment`) share; who may write what is decided there, not here."""

from collections.abc import Iterable
from datetime import datetime

from django.contrib.auth.models import AbstractBaseUser
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from bots.text import MESSAGE_PROBLEMS, text_problem
from desk import realtime, system_lines
from desk.exceptions import InvalidInput
from desk.models import Message, Ticket
from desk.people import display_name

MAX_MESSAGE_LENGTH = 10_000


def clean_text(text: str, *, field: str = "text") -> str:
    """Message text as stored: surrounding blank lines dropped, never empty or only
    invisible characters, never a NUL character, never huge."""
    text = (text or "").strip("\r\n")
    if problem := text_problem(text):
        raise InvalidInput(_(MESSAGE_PROBLEMS[problem]), field=field)
    if len(text) > MAX_MESSAGE_LENGTH:
        raise InvalidInput(
            ngettext(
                "The message is longer than %(most)s character.",
                "The message is longer than %(most)s characters.",
                MAX_MESSAGE_LENGTH,
            ) % {"most": MAX_MESSAGE_LENGTH},
            field=field,
        )
    return text


def link_files(pairs: Iterable[tuple[Message, object]]) -> None:
    """Link each message to the Desk files its content names (`Content.files`)."""
    through = Message.files.through
    rows = [
        through(message_id=message.pk, storedfile_id=stored.pk)
        for message, content in pairs
        for stored in {f.pk: f for f in content.files}.values()
    ]
    through.objects.bulk_create(rows, ignore_conflicts=True)


def system_line(ticket: Ticket, event: str, now: datetime, **values: str | int) -> Message:
    """A line saying what happened (`desk.system_lines`: the event and its values, in
    the catalogue's words): stored with its English sentence as the text, worded in
    each reader's language on the page."""
    happened = system_lines.what_happened(event, **values)
    message = Message.objects.create(
        ticket=ticket,
        kind=Message.Kind.SYSTEM,
        text=system_lines.english(happened),
        payload=happened,
        created_at=now,
    )
    realtime.announce_message(ticket.pk, message.pk)
    return message


def note(ticket: Ticket, agent: AbstractBaseUser, text: str, content=None) -> Message:
    """An internal note (already cleaned), with files as `content` (`desk.content.Content`)
    or not: agents see it, the bot never does."""
    message = Message.objects.create(
        ticket=ticket,
        kind=Message.Kind.NOTE,
        author=agent,
        author_name=display_name(agent),
        text=content.text if content else text,
        type=content.type if content else "text",
        payload=content.payload if content else {},
        created_at=timezone.now(),
    )
    if content is not None:
        link_files([(message, content)])
    realtime.announce_message(ticket.pk, message.pk)
    return message
