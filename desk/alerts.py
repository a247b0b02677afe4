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

Service functions call these inside their transaction; the alert goes out after the
commit, like every announcement (`desk.realtime`).
"""

from django.db import transaction
from django.urls import reverse
from django.utils.text import Truncator
from django.utils.translation import gettext as _

from desk import realtime
from desk.models import Message, Ticket
from desk.people import display_name

BODY_CHARS = 140


def agent_group(agent_id: int) -> str:
    """Every open tab of one agent."""
    return f"agent-{agent_id}"


def alert(*, key: str, title: str, body: str, url: str) -> dict:
    """What a tab needs to raise one alert; `key` makes it one alert across tabs."""
    return {"key": key, "title": title, "body": Truncator(body).chars(BODY_CHARS), "url": url}


def _ticket_url(ticket: Ticket) -> str:
    return reverse("ticket", args=[ticket.pk])


def _send_after_commit(group: str, message: dict) -> None:
    transaction.on_commit(lambda: realtime.group_send(group, message), robust=True)


def new_escalation(ticket: Ticket) -> None:
    """A new ticket waits in the queue: alert everyone who takes new tickets."""
    what = alert(
        key=f"ticket-{ticket.pk}-new",
        title=_("New escalation #%(number)s: %(title)s")
        % {"number": ticket.number, "title": ticket.title},
        body=_("%(customer)s via %(bot)s") % {
            "customer": ticket.user_name or _("A customer"), "bot": ticket.bot.name
        },
        url=_ticket_url(ticket),
    )
    _send_after_commit(realtime.AGENTS_GROUP, {"type": "alerts.escalation", **what})


def assigned(ticket: Ticket, *, assignee, by) -> None:
    """The ticket was given to `assignee` by someone else (or routing, `by` None)."""
    if by is not None and by.pk == assignee.pk:
        return  # a claim: the agent knows
    giver = _("Routing") if by is None else display_name(by)
    what = alert(
        key=f"ticket-{ticket.pk}-assigned-{ticket.assigned_at.timestamp():.6f}",
        title=_("#%(number)s is yours: %(title)s")
        % {"number": ticket.number, "title": ticket.title},
        body=_("%(giver)s gave you %(customer)s's conversation.") % {
            "giver": giver, "customer": ticket.user_name or _("a customer")
        },
        url=_ticket_url(ticket),
    )
    _send_after_commit(agent_group(assignee.pk), {"type": "alerts.personal", **what})


def customer_wrote(ticket: Ticket, message: Message) -> None:
    """An end-user message on an assigned ticket: alert its assignee (and recount the
    number in their tab title)."""
    if ticket.assignee_id is None:
        return
    what = alert(
        key=f"message-{message.pk}",
        title=_("%(customer)s (#%(number)s)") % {
            "customer": message.author_name or ticket.user_name or _("The customer"),
            "number": ticket.number,
        },
        body=message.text,
        url=_ticket_url(ticket),
    )
    _send_after_commit(
        agent_group(ticket.assignee_id), {"type": "alerts.personal", "recount": True, **what}
    )


def agent_set_alert_preferences(*, agent, desktop: bool, sound: bool):
    """The agent's own choice: browser notifications and the sound, each on or off."""
    from desk.assignment import profile_for  # the profile's one creator

    profile = profile_for(agent.pk)
    type(profile).objects.filter(pk=profile.pk).update(notify_desktop=desktop, notify_sound=sound)
    profile.notify_desktop, profile.notify_sound = desktop, sound
    return profile
