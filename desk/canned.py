"""Canned responses: replies an agent inserts by typing `/code` in the composer.

Shared responses belong to the team and only admins change them; each agent also
keeps their own. A code is unique within its scope (the shared ones, or one agent's),
so an agent's own `/ref` may sit beside a shared `/ref`: the picker shows both.

The body may say {customerName}, {agentName}, {ticketNumber} and {botName}: `fill`
puts in the ticket's values when the ticket page is drawn, so what the picker inserts
is already filled in and the agent edits it before sending. A value the ticket lacks
(a customer without a name) stays as its placeholder, which the picker selects for the
agent to type over.

Usage is counted when a message made with a response is sent (reply or note), not when
it is inserted: an insert the agent thinks better of is not a use, and counting on
send needs no request of its own (the message names the responses it was made with).
"""

import re

from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.db.models import F, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from bots.text import text_problem
from desk.exceptions import InvalidInput, NotAllowed, NotFound
from desk.models import CannedResponse, Ticket
from desk.people import display_name
from desk.transcript import MAX_MESSAGE_LENGTH

CODE_MAX_LENGTH = 32
TITLE_MAX_LENGTH = 120
CODE_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]{0,31}$")
PLACEHOLDERS = ("customerName", "agentName", "ticketNumber", "botName")
# What a message may name as the responses it was made with (a sane bound, not a rule).
MAX_USED = 20


def clean_code(code: str) -> str:
    """A code as stored: lower case, without the / people type before it."""
    return (code or "").strip().removeprefix("/").lower()


def _check(*, code: str, title: str, body: str) -> None:
    """Every field's problem at once (the form shows each beside its field)."""
    problems: dict[str, str] = {}
    if not CODE_PATTERN.match(code):
        problems["code"] = _(
            "A code is 1 to 32 lower-case letters, digits, - or _, starting with a "
            "letter or a digit (you type it after /)."
        )
    if not title.strip() or text_problem(title):
        problems["title"] = _("Give the response a title.")
    elif len(title) > TITLE_MAX_LENGTH:
        problems["title"] = _("The title is longer than %(n)s characters.") % {
            "n": TITLE_MAX_LENGTH
        }
    if not body.strip() or text_problem(body):
        problems["body"] = _("Write the response's text.")
    elif len(body) > MAX_MESSAGE_LENGTH:
        problems["body"] = _("The text is longer than %(n)s characters.") % {
            "n": MAX_MESSAGE_LENGTH
        }
    if problems:
        field = next(iter(problems))
        raise InvalidInput(problems[field], field=field, fields=problems)


def response_for_editing(agent: AbstractBaseUser, response_id: object) -> CannedResponse:
    """A response this agent may change: their own, or a shared one for an admin.
    Another agent's own responses do not exist for them (404); a shared one is
    visible to all but changed by admins only (403)."""
    try:
        response = CannedResponse.objects.get(pk=int(response_id))  # type: ignore[arg-type]
    except (TypeError, ValueError, CannedResponse.DoesNotExist):
        raise NotFound(_("No such canned response.")) from None
    if response.owner_id is not None and response.owner_id != agent.pk:
        raise NotFound(_("No such canned response."))
    if response.owner_id is None and not agent.is_staff:
        raise NotAllowed(_("Only admins can change the shared canned responses."))
    return response


def canned_save(
    *,
    by: AbstractBaseUser,
    code: str,
    title: str,
    body: str,
    shared: bool = False,
    response: CannedResponse | None = None,
) -> CannedResponse:
    """Create a response (shared: an admin only) or change `response` (found with
    `response_for_editing`). Raises InvalidInput naming each bad field."""
    code, title, body = clean_code(code), (title or "").strip(), (body or "").strip("\r\n")
    if response is None and shared and not by.is_staff:
        raise NotAllowed(_("Only admins can add shared canned responses."))
    _check(code=code, title=title, body=body)
    if response is None:
        response = CannedResponse(owner=None if shared else by)
    response.code, response.title, response.body = code, title, body
    try:
        with transaction.atomic():
            response.save()
    except IntegrityError:
        if response.owner_id is None:
            message = _("A shared response already uses /%(code)s.") % {"code": code}
        else:
            message = _("One of your responses already uses /%(code)s.") % {"code": code}
        raise InvalidInput(message, field="code") from None
    return response


def canned_delete(*, by: AbstractBaseUser, response_id: object) -> None:
    response_for_editing(by, response_id).delete()


def available_to(agent: AbstractBaseUser) -> QuerySet[CannedResponse]:
    """The responses an agent may insert: the shared ones and their own, most used first."""
    return CannedResponse.objects.filter(Q(owner__isnull=True) | Q(owner_id=agent.pk)).order_by(
        "-usage_count", "code", "owner_id"
    )


def fill(body: str, *, ticket: Ticket, agent: AbstractBaseUser) -> str:
    """The body with the ticket's values in its placeholders; one without a value stays."""
    values = {
        "customerName": ticket.user_name,
        "agentName": display_name(agent),
        "ticketNumber": str(ticket.number),
        "botName": ticket.bot.name,
    }
    return re.sub(
        r"\{(" + "|".join(PLACEHOLDERS) + r")\}",
        lambda m: values[m.group(1)] or m.group(0),
        body,
    )


def for_ticket(ticket: Ticket, agent: AbstractBaseUser) -> list[CannedResponse]:
    """What the composer's picker offers on this ticket, each with `filled` (its body
    with the ticket's values)."""
    responses = list(available_to(agent))
    for response in responses:
        response.filled = fill(response.body, ticket=ticket, agent=agent)
    return responses


def responses_used(*, agent: AbstractBaseUser, ids: list) -> int:
    """A message made with these responses was sent: each counts one use (once per
    message, however often it was inserted). Ids the agent may not use are ignored.
    Returns how many were counted."""
    wanted = set()
    for value in ids[:MAX_USED]:
        try:
            wanted.add(int(value))
        except (TypeError, ValueError):
            continue
    if not wanted:
        return 0
    return (
        available_to(agent)
        .filter(pk__in=wanted)
        .order_by()
        .update(usage_count=F("usage_count") + 1, last_used_at=timezone.now())
    )
