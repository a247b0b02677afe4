"""What an agent may ask for on a ticket, in a form post or a websocket frame.

Both carry the same fields (`action`, plus `text`, `files` (ids of the agent's
uploads) and `canned` (ids of the canned responses the message was made with),
`priority`, `label` (a label's id, to add or remove), or `assignee` (for a transfer:
an agent or "queue") and `note`); this module turns them into exactly one service
call. It checks access to the ticket and the shape of the input, nothing else: the
rules live in `desk.services` (and `desk.labels`).
"""

from collections.abc import Mapping

from django.contrib.auth.models import AbstractBaseUser
from django.http import Http404
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext, pgettext_lazy

from desk import assignment, canned, files, labels, selectors, services
from desk.access import ticket_for_agent
from desk.exceptions import InvalidInput, NotFound
from desk.models import Priority

MAX_ATTACHMENTS = 10
ACTIONS = (
    "claim", "assign", "transfer", "priority", "reply", "note", "close", "add_label",
    "remove_label", "wait", "resume",
)

# What the agent sees once the action went through (a plain POST's flash message), in
# their language: read it with str() while their language is active.
DONE = {
    "claim": gettext_lazy("You claimed the ticket."),
    "assign": gettext_lazy("Ticket assigned."),
    "transfer": gettext_lazy("Ticket transferred."),
    "priority": gettext_lazy("Priority changed."),
    "reply": gettext_lazy("Reply sent."),
    "note": gettext_lazy("Note added."),
    "close": gettext_lazy("Ticket closed."),
    "add_label": pgettext_lazy("on a ticket", "Label added."),
    "remove_label": gettext_lazy("Label removed."),
    "wait": gettext_lazy("The ticket waits for the customer's answer."),
    "resume": gettext_lazy("The ticket is assigned again."),
}


def _ids(data: Mapping, name: str) -> object:
    """A field that holds one id or several, from a form post or a websocket frame."""
    if hasattr(data, "getlist"):
        return data.getlist(name)
    ids = data.get(name) or []
    return [ids] if isinstance(ids, (str, int)) else ids


def _attached(ticket, agent, data: Mapping) -> list:
    """The agent's uploads the message names (`files`: one id, or several)."""
    ids = _ids(data, "files")
    if not isinstance(ids, list) or len(ids) > MAX_ATTACHMENTS:
        raise InvalidInput(
            ngettext(
                "Attach at most %(most)s file to one message.",
                "Attach at most %(most)s files to one message.",
                MAX_ATTACHMENTS,
            ) % {"most": MAX_ATTACHMENTS},
            field="files",
        )
    return files.agent_uploads(ticket=ticket, agent=agent, ids=[str(i) for i in ids if i])


def perform(*, agent: AbstractBaseUser, ticket_id: object, data: Mapping) -> str:
    """Do `data["action"]` on the ticket as `agent`; return the action's name.
    Raises a DeskError (NotFound for a ticket the agent may not see)."""
    action = str(data.get("action", ""))
    if action not in ACTIONS:
        raise InvalidInput(_("Unknown action."), field="action")
    try:
        ticket = ticket_for_agent(agent, ticket_id)
    except Http404:
        raise NotFound(_("No such ticket.")) from None
    match action:
        case "claim":
            services.ticket_claim(ticket_id=ticket.pk, agent=agent)
        case "assign":
            assignee = selectors.agent_by_id(data.get("assignee"))
            if assignee is None:
                raise InvalidInput(_("Choose an agent to assign the ticket to."), field="assignee")
            services.ticket_assign(ticket_id=ticket.pk, agent=agent, assignee=assignee)
        case "transfer":
            chosen = str(data.get("assignee", "")).strip()
            to = None
            if chosen != assignment.QUEUE:
                to = selectors.agent_by_id(chosen)
                if to is None:
                    raise InvalidInput(
                        _("Choose an agent to transfer the ticket to, or the queue."),
                        field="assignee",
                    )
            assignment.ticket_transfer(
                ticket_id=ticket.pk, agent=agent, to=to, note=str(data.get("note", ""))
            )
        case "priority":
            priority = str(data.get("priority", ""))
            if priority not in Priority.values:
                raise InvalidInput(_("Choose low, medium, high or urgent."), field="priority")
            services.ticket_set_priority(ticket_id=ticket.pk, agent=agent, priority=priority)
        case "reply":
            services.ticket_reply(
                ticket_id=ticket.pk, agent=agent, text=str(data.get("text", "")),
                files=_attached(ticket, agent, data),
            )
        case "note":
            services.ticket_add_note(
                ticket_id=ticket.pk, agent=agent, text=str(data.get("text", "")),
                files=_attached(ticket, agent, data),
            )
        case "close":
            services.ticket_close(ticket_id=ticket.pk, agent=agent)
        case "add_label":
            labels.ticket_add_label(ticket_id=ticket.pk, agent=agent, label_id=data.get("label"))
        case "remove_label":
            labels.ticket_remove_label(
                ticket_id=ticket.pk, agent=agent, label_id=data.get("label")
            )
        case "wait":
            services.ticket_wait(ticket_id=ticket.pk, agent=agent)
        case "resume":
            services.ticket_stop_waiting(ticket_id=ticket.pk, agent=agent)
    if action in ("reply", "note") and (used := _ids(data, "canned")):
        # Sent: the responses it was made with count one use each (see desk.canned).
        canned.responses_used(agent=agent, ids=used if isinstance(used, list) else [])
    return action
