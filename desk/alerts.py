"""Alerts: no handoff goes unnoticed.

The server decides who is alerted of what; the page (static/alerts.js) decides how,
from the agent's own choices: a browser notification and a short sound, only while no
Desk tab of theirs is visible, and each alert once however many tabs they have open.

- A new escalation that routing could not give to anyone: every agent who takes new
  tickets (status "online") is alerted, through the "agents" group every tab joins.
- A ticket given to an agent (by routing, by an admin, by a transfer): that agent,
  through their own group.
- An end-user message on an assigned ticket: its assignee, through their own group.
- A new approval request: every agent who may decide it (see `approvals.consumers`).

Service functions call these inside their transaction with what the alert tells; it
goes out after the commit, like every announcement (`desk.realtime`), worded once in
each locale among the open tabs (each tab raises its agent's language's).
"""

from django.db import transaction
from django.urls import reverse
from django.utils.text import Truncator
from django.utils.translation import gettext as _

from desk import fragments, realtime
from desk.models import Message, Ticket
from desk.people import display_name

BODY_CHARS = 140


def agent_group(agent_id: int) -> str:
    """Every open tab of one agent."""
    return f"agent-{agent_id}"


def alert(*, key: str, title: str, body: str, url: str) -> dict:
    """What a tab needs to raise one alert; `key` makes it one alert across tabs."""
    return {"key": key, "title": title, "body": Truncator(body).chars(BODY_CHARS), "url": url}


def _ticket_url(ticket_id: int) -> str:
    return reverse("ticket", args=[ticket_id])


def _send_after_commit(group: str, message_type: str, kind: str, facts: dict, **extra) -> None:
    """After the commit, the alert `kind` about `facts` (plain values, no database needed
    to word it) in each locale present (`realtime.localized`)."""

    def send() -> None:
        message = {"type": message_type, **extra, **realtime.localized(kind, facts)}
        realtime.group_send(group, message)

    transaction.on_commit(send, robust=True)


def new_escalation(ticket: Ticket) -> None:
    """A new ticket waits in the queue: alert everyone who takes new tickets."""
    facts = {
        "ticket_id": ticket.pk,
        "number": ticket.number,
        "title": ticket.title,
        "customer": ticket.user_name,
        "bot": ticket.bot.name,
    }
    _send_after_commit(realtime.AGENTS_GROUP, "alerts.escalation", "alert.escalation", facts)


def escalation_words(facts: dict) -> dict:
    return _words(
        key=f"ticket-{facts['ticket_id']}-new",
        title=_("New escalation #%(number)s: %(title)s")
        % {"number": facts["number"], "title": facts["title"]},
        body=_("%(customer)s via %(bot)s") % {
            "customer": facts["customer"] or _("A customer"), "bot": facts["bot"]
        },
        url=_ticket_url(facts["ticket_id"]),
    )


def assigned(ticket: Ticket, *, assignee, by) -> None:
    """The ticket was given to `assignee` by someone else (or routing, `by` None)."""
    if by is not None and by.pk == assignee.pk:
        return  # a claim: the agent knows
    facts = {
        "ticket_id": ticket.pk,
        "number": ticket.number,
        "title": ticket.title,
        "customer": ticket.user_name,
        "giver": None if by is None else display_name(by),
        "at": f"{ticket.assigned_at.timestamp():.6f}",
    }
    _send_after_commit(agent_group(assignee.pk), "alerts.personal", "alert.assigned", facts)


def assigned_words(facts: dict) -> dict:
    return _words(
        key=f"ticket-{facts['ticket_id']}-assigned-{facts['at']}",
        title=_("#%(number)s is yours: %(title)s")
        % {"number": facts["number"], "title": facts["title"]},
        body=_("%(giver)s gave you %(customer)s's conversation.") % {
            "giver": facts["giver"] or _("Routing"),
            "customer": facts["customer"] or _("a customer"),
        },
        url=_ticket_url(facts["ticket_id"]),
    )


def customer_wrote(ticket: Ticket, message: Message) -> None:
    """An end-user message on an assigned ticket: alert its assignee (and recount the
    number in their tab title)."""
    if ticket.assignee_id is None:
        return
    facts = {
        "ticket_id": ticket.pk,
        "number": ticket.number,
        "message_id": message.pk,
        "customer": message.author_name or ticket.user_name,
        "text": Truncator(message.text).chars(BODY_CHARS),
    }
    _send_after_commit(
        agent_group(ticket.assignee_id), "alerts.personal", "alert.message", facts, recount=True
    )


def customer_wrote_words(facts: dict) -> dict:
    return _words(
        key=f"message-{facts['message_id']}",
        title=_("%(customer)s (#%(number)s)") % {
            "customer": facts["customer"] or _("The customer"),
            "number": facts["number"],
        },
        body=facts["text"],
        url=_ticket_url(facts["ticket_id"]),
    )


def _words(**what: str) -> dict:
    return {"alert_html": fragments.alert_html(alert(**what))}


def _as_told(facts: dict) -> dict:
    """An alert's facts travel in its message: wording it reads no database."""
    return facts


realtime.live_fragment("alert.escalation", load=_as_told, words=escalation_words)
realtime.live_fragment("alert.assigned", load=_as_told, words=assigned_words)
realtime.live_fragment("alert.message", load=_as_told, words=customer_wrote_words)


def agent_set_alert_preferences(*, agent, desktop: bool, sound: bool):
    """The agent's own choice: browser notifications and the sound, each on or off."""
    from desk.assignment import profile_for  # the profile's one creator

    profile = profile_for(agent.pk)
    type(profile).objects.filter(pk=profile.pk).update(notify_desktop=desktop, notify_sound=sound)
    profile.notify_desktop, profile.notify_sound = desktop, sound
    return profile
