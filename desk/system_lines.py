"""The system lines of a ticket's transcript ("Maya Lopez claimed the ticket."): what
happened, stored once, worded in each reader's language.

A system line is stored as two things (`desk.transcript.system_line`):
- its `payload`, what happened: `{"event": "claimed", "agent": "Maya Lopez"}`;
- its `text`, the English sentence, as Desk always stored it: what search indexes and
  what anything reading the transcript as text (exports, bots, a human reading the
  database) gets.

`SENTENCES` is the catalogue: one sentence for each event, with named placeholders, and
the only place a system line's words are written. A page words a stored line in the
language active for its reader (`in_active_language`); a line with no event (written
before the catalogue existed) or an event this version no longer knows shows its
stored text.

Some values are Desk's own words rather than names (a priority, a routing mode): the
payload keeps the stored value ("high", "round_robin") and `WORDS` words it in the
sentence's language.

No sentence counts anything yet (a rating's 4/5 is a score, not a count): one that does
would need its plural forms (ngettext_lazy with the count as the number to choose by).
"""

import re
from collections.abc import Callable, Mapping

from django.utils import translation
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from desk.models import Message, RoutingMode
from desk.templatetags.labels import LABELS

SENTENCES: dict[str, Promise] = {
    # Who has the ticket.
    "claimed": _("%(agent)s claimed the ticket."),
    "assigned": _("%(by)s assigned the ticket to %(agent)s."),
    "routed": _("Routing assigned the ticket to %(agent)s (%(mode)s)."),
    "transferred": _("%(by)s transferred the ticket to %(agent)s."),
    "transferred_from": _("%(by)s transferred the ticket from %(previous)s to %(agent)s."),
    "returned": _("%(by)s returned the ticket to the queue."),
    "returned_for": _("%(by)s returned %(previous)s's ticket to the queue."),
    # Waiting for the customer.
    "waiting": _("%(agent)s is waiting for the customer's answer."),
    "stopped_waiting": _("%(agent)s stopped waiting for the customer."),
    "answered": _("The customer answered: the ticket is assigned again."),
    # What the ticket is.
    "priority_changed": _("%(agent)s changed the priority from %(old)s to %(new)s."),
    "label_added": _("%(agent)s added the label “%(label)s”."),
    "label_removed": _("%(agent)s removed the label “%(label)s”."),
    # How it ended.
    "closed": _("%(agent)s closed the ticket."),
    "closed_customer_left": _("Closed: the customer left the conversation."),
    "closed_bot_timeout": _("Closed: the bot timed the session out."),
    "closed_unassigned": _("Closed: no agent claimed it in time."),
    "closed_waiting": _("Closed: the customer did not answer in time."),
    # The customer's rating, after the close.
    "rated": _("The customer rated this conversation %(score)s/%(scale)s."),
    "rated_with_comment": _(
        "The customer rated this conversation %(score)s/%(scale)s: “%(comment)s”"
    ),
    "rating_changed": _("The customer changed their rating to %(score)s/%(scale)s."),
    "rating_changed_with_comment": _(
        "The customer changed their rating to %(score)s/%(scale)s: “%(comment)s”"
    ),
}


PLACEHOLDER = re.compile(r"%\((\w+)\)s")

# Placeholders whose stored value is one of Desk's words, and how to word it.
WORDS: dict[str, Callable[[object], object]] = {
    "old": lambda value: LABELS["priority"][value],
    "new": lambda value: LABELS["priority"][value],
    "mode": lambda value: RoutingMode(value).label,
}


def placeholders(event: str) -> set[str]:
    """The names the event's sentence needs (`%(name)s`), read from its English."""
    return set(PLACEHOLDER.findall(str(SENTENCES[event])))


def what_happened(event: str, **values: str | int) -> dict:
    """The payload of a new system line. A mistake here (an event not in the catalogue,
    a placeholder missing or extra) is a bug of the call site: it fails loudly."""
    if event not in SENTENCES:
        raise KeyError(f"No system line {event!r} in the catalogue.")
    with translation.override(None):
        wanted = placeholders(event)
    if set(values) != wanted:
        raise KeyError(f"The system line {event!r} takes {sorted(wanted)}, not {sorted(values)}.")
    return {"event": event, **values}


def english(happened: Mapping) -> str:
    """The sentence stored as the line's text."""
    with translation.override(None):
        return _worded(happened)


def in_active_language(message: Message) -> str:
    """The line as the reader reads it: the catalogue's sentence in the active language,
    or the stored text when the line carries no event this catalogue knows."""
    happened = message.payload if isinstance(message.payload, dict) else {}
    if happened.get("event") not in SENTENCES:
        return message.text
    try:
        return _worded(happened)
    except (KeyError, ValueError, TypeError):
        # A line whose values no longer fit its sentence: what it said then.
        return message.text


def _worded(happened: Mapping) -> str:
    values = {
        name: WORDS[name](value) if name in WORDS else value
        for name, value in happened.items()
        if name != "event"
    }
    return str(SENTENCES[happened["event"]]) % values

