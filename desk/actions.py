"""What an agent may ask for on a ticket, in a form post or a websocket frame.

Both carry the same fields (`action`, plus `text`, `priority` or `assignee`); this
module turns them into exactly one service call. It checks access to the ticket and
the shape of the input, nothing else: the rules live in `desk.services`.
"""

from collections.abc import Mapping

from django.contrib.auth.models import AbstractBaseUser
from django.http import Http404

from desk import selectors, services
from desk.access import ticket_for_agent
from desk.exceptions import InvalidInput, NotFound
from desk.models import Priority

ACTIONS = ("claim", "assign", "priority", "reply", "note", "close")

# What the agent sees once the action went through (a plain POST's flash message).
DONE = {
    "claim": "You claimed the ticket.",
    "assign": "Ticket assigned.",
    "priority": "Priority changed.",
    "reply": "Reply sent.",
    "note": "Note added.",
    "close": "Ticket closed.",
}


def perform(*, agent: AbstractBaseUser, ticket_id: object, data: Mapping) -> str:
    """Do `data["action"]` on the ticket as `agent`; return the action's name.
    Raises a DeskError (NotFound for a ticket the agent may not see)."""
    action = str(data.get("action", ""))
    if action not in ACTIONS:
        raise InvalidInput("Unknown action.", field="action")
    try:
        ticket = ticket_for_agent(agent, ticket_id)
    except Http404:
        raise NotFound("No such ticket.") from None
    match action:
        case "claim":
            services.ticket_claim(ticket_id=ticket.pk, agent=agent)
        case "assign":
            assignee = selectors.agent_by_id(data.get("assignee"))
            if assignee is None:
                raise InvalidInput("Choose an agent to assign the ticket to.", field="assignee")
            services.ticket_assign(ticket_id=ticket.pk, agent=agent, assignee=assignee)
        case "priority":
            priority = str(data.get("priority", ""))
            if priority not in Priority.values:
                raise InvalidInput("Choose low, medium, high or urgent.", field="priority")
            services.ticket_set_priority(ticket_id=ticket.pk, agent=agent, priority=priority)
        case "reply":
            services.ticket_reply(ticket_id=ticket.pk, agent=agent, text=str(data.get("text", "")))
        case "note":
            services.ticket_add_note(
                ticket_id=ticket.pk, agent=agent, text=str(data.get("text", ""))
            )
        case "close":
            services.ticket_close(ticket_id=ticket.pk, agent=agent)
    return action
