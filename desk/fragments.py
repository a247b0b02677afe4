"""The HTML a page shows and the fragments pushed to it, from the same template partials.

Views build page contexts here; `realtime` renders live fragments here once per
broadcast and locale; the consumer renders here what only one socket needs (a replay,
an error). Every fragment is a `{% partialdef %}` of the page template it lives in.

A live fragment comes in two halves (see `desk.realtime.LiveFragment`): what it shows,
read once (`*_data`), and its words, rendered from that in the active language and time
zone (`*_words`), once for each locale among the open tabs.
"""

import functools
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.paginator import Paginator
from django.http import QueryDict
from django.template.loader import render_to_string
from django.utils.html import format_html

from desk import selectors
from desk.customers import shown_custom_fields
from desk.models import Availability, Message, Priority, Status, Ticket
from desk.selectors import STATUS_FILTERS, InboxFilter

# --- the inbox ----------------------------------------------------------------------


def count_items(counts: dict, all_labels: list | None = None) -> list[tuple[str, str, int]]:
    """(facet, value, number) for every count the side bar shows, zeros included."""
    if all_labels is None:
        all_labels = selectors.all_labels()
    items = [("status", key, n) for key, n in counts["status"].items() if key != "mine"]
    items += [("priority", p, counts["priority"].get(p, 0)) for p in Priority.values]
    items += [("bot", b.bot_id, counts["bot"].get(b.bot_id, 0)) for b in selectors.desk_bots()]
    items += [
        ("assignee", str(a.pk), counts["assignee"].get(a.pk, 0)) for a in selectors.desk_agents()
    ]
    items += [("label", str(label.pk), counts["label"].get(label.pk, 0)) for label in all_labels]
    return items


def inbox_context(
    inbox_filter: InboxFilter, agent: AbstractBaseUser, *, page_size: int, query: QueryDict
) -> dict:
    """`query` is the tab's query string: its links keep the other filters."""
    tickets = inbox_filter.apply(selectors.inbox_tickets(), agent)
    counts = selectors.inbox_counts(agent)
    all_labels = counts["labels"]
    paginator = Paginator(tickets, page_size)
    known = inbox_filter.known_count(counts)
    if known is not None:  # the side bar's number: no COUNT query of its own
        paginator.count = known
    page = paginator.get_page(inbox_filter.page)
    return {
        "filter": inbox_filter,
        "page": page,
        "tickets": selectors.with_row_details(page.object_list, all_labels),
        "counts": counts,
        "status_filters": [
            (key, label, counts["status"].get(key, 0)) for key, label in STATUS_FILTERS.items()
        ],
        "priorities": [(p, counts["priority"].get(p, 0)) for p in reversed(Priority.values)],
        "bots": [(b, counts["bot"].get(b.bot_id, 0)) for b in selectors.desk_bots()],
        "agents": [
            (a, counts["assignee"].get(a.pk, 0)) for a in selectors.agents_with_status()
        ],
        "labels": [(label, counts["label"].get(label.pk, 0)) for label in all_labels],
        "all_labels": all_labels,
        "version": counts["version"],
        "heading": STATUS_FILTERS[inbox_filter.status],
        "query": query,
    }


def row_facts(ticket: Ticket) -> dict:
    """What an inbox tab needs to place one changed ticket's row (which views admit it)."""
    return {
        "ticket_id": ticket.pk,
        "facts": {
            "status": ticket.status,
            "priority": ticket.priority,
            "bot_id": ticket.bot.bot_id,
            "assignee_id": ticket.assignee_id,
            "labels": [label.pk for label in ticket.labels.all()],
        },
    }


def row_words(ticket: Ticket) -> dict:
    """The row of `selectors.inbox_row`, in the active locale."""
    return {"row_html": render_to_string("desk/inbox.html#ticket-row", {"ticket": ticket})}


def counts_data() -> dict:
    """Every count of the side bar and what waits for each agent, read once."""
    counts = selectors.inbox_counts()
    return {
        "count_items": count_items(counts, counts["labels"]),
        # Keys are strings so the message survives msgpack (channels_redis) unchanged.
        "assigned_counts": {str(k): v for k, v in counts["assignee"].items()},
        # What waits for each agent (their tab title): the queue, and their tickets
        # whose customer awaits a reply.
        "pending": counts["status"]["pending"],
        "awaiting_counts": {
            str(k): v for k, v in selectors.awaiting_reply_counts().items()
        },
    }


def counts_facts(data: dict) -> dict:
    return {key: data[key] for key in ("assigned_counts", "pending", "awaiting_counts")}


def counts_words(data: dict) -> dict:
    return {
        "counts_html": render_to_string(
            "desk/inbox.html#counts-oob", {"count_items": data["count_items"]}
        )
    }


def inbox_list(
    inbox_filter: InboxFilter, agent: AbstractBaseUser, *, page_size: int, query: QueryDict
) -> str:
    """The whole list and every count, for a tab that reconnects after missing changes."""
    context = inbox_context(inbox_filter, agent, page_size=page_size, query=query)
    return (
        render_to_string("desk/inbox.html#ticket-list", {**context, "oob": True})
        + render_to_string(
            "desk/inbox.html#counts-oob",
            {"count_items": count_items(context["counts"], context["all_labels"])},
        )
        + mine_count_html(context["counts"]["status"]["mine"])
    )


def row_gone_html(ticket_id: int) -> str:
    """A tombstone: the page script drops the row with this id, if it has one."""
    return format_html(
        '<div hx-swap-oob="beforeend:#ticket-rows"><div id="ticket-{}" class="gone"></div></div>',
        ticket_id,
    )


def row_insert_html(row_html: str) -> str:
    """A row rendered by `row_words`, appended to the list (the page sorts it)."""
    return '<div hx-swap-oob="beforeend:#ticket-rows">' + row_html + "</div>"


@functools.lru_cache(maxsize=256)
def mine_count_html(n: int) -> str:
    """The one number that depends on who is looking ("Assigned to me"). Made per tab
    in every broadcast of the counts, and the same for the same number: kept."""
    return format_html('<span class="count" id="count-status-mine" hx-swap-oob="true">{}</span>', n)


# --- the ticket view ------------------------------------------------------------------


def ticket_context(ticket: Ticket) -> dict:
    found = selectors.ticket_with_counts(ticket.pk)
    return {
        "ticket": found,
        "agents": selectors.agents_with_status(load=True),
        "priorities": list(reversed(Priority.choices)),
        "all_labels": selectors.all_labels(),
        "waiting_closes_at": waiting_closes_at(found),
    }


def waiting_closes_at(ticket: Ticket) -> datetime | None:
    """When a waiting ticket closes by itself if the customer stays silent, or None."""
    seconds = settings.DESK_WAITING_CLOSE_AFTER_SECONDS
    if ticket.status != Status.WAITING or not ticket.waiting_started_at or seconds <= 0:
        return None
    return ticket.waiting_started_at + timedelta(seconds=seconds)


def customer_context(ticket: Ticket) -> dict:
    """The side bar's customer card: the bot's custom fields and the earlier tickets.
    Rendered with the page only: nothing on it changes with this ticket."""
    history = selectors.customer_history(ticket)
    return {
        "custom_fields": shown_custom_fields(ticket.custom_fields or {}),
        "customer_known": history is not None,
        "earlier_tickets": history[0] if history else [],
        "more_earlier_tickets": bool(history and history[1]),
    }


def state_data(ticket_id: int) -> dict:
    """What the details side bar shows after a change, read once."""
    return {**ticket_context(Ticket(pk=ticket_id)), "oob": True}


def state_facts(context: dict) -> dict:
    return {"ticket_id": context["ticket"].pk, "status": context["ticket"].status}


def state_words(context: dict) -> dict:
    """The details side bar and composer hint after a change (and the locked composer
    once closed): the same for every viewer of one locale."""
    html = render_to_string("desk/ticket.html#ticket-details", context)
    html += render_to_string("desk/ticket.html#ticket-labels", context)
    html += render_to_string("desk/ticket.html#composer-hint", context)
    if context["ticket"].status == Status.CLOSED:
        html += render_to_string("desk/ticket.html#composer", context)
    return {"html": html}


def ticket_state_html(ticket_id: int) -> str:
    """The side bar for one tab (a replay after a reconnect), in its own locale."""
    return state_words(state_data(ticket_id))["html"]


def tally_data(ticket_id: int) -> dict:
    """The side bar's "N messages · N notes" after a new line, read once."""
    return tallies_data([ticket_id])[ticket_id]


def tallies_data(ticket_ids: list[int]) -> dict[int, dict]:
    """`tally_data` for many tickets, read in one query."""
    counts = selectors.transcript_counts_many(ticket_ids)
    return {t: {"ticket_id": t, "ticket": counts[t]} for t in ticket_ids}


def tally_words(data: dict) -> dict:
    html = render_to_string(
        "desk/ticket.html#transcript-count", {"ticket": data["ticket"], "tally_oob": True}
    )
    return {"html": html}


def line_data(ticket_id: int, message_id: int) -> Message | None:
    """A transcript line to push to the ticket's tabs (None once it is not there)."""
    return Message.objects.filter(pk=message_id, ticket_id=ticket_id).first()


def line_facts(message: Message) -> dict:
    return {"ticket_id": message.ticket_id, "message_id": message.pk}


def line_words(message: Message) -> dict:
    return {"html": message_html(message)}


def message_html(message: Message) -> str:
    return render_to_string("desk/ticket.html#message-oob", {"message": message})


def viewer_html(agent_id: int, name: str, status: str) -> str:
    """One agent in "Viewing now", with their status (a key of AGENT_STATUSES)."""
    return render_to_string(
        "desk/ticket.html#viewer",
        {"viewer_id": agent_id, "viewer_name": name, "agent": {"pk": agent_id, "status": status}},
    )


def viewer_gone_html(agent_id: int) -> str:
    return format_html(
        '<div hx-swap-oob="beforeend:#viewers"><li id="viewer-{}" class="gone"></li></div>',
        agent_id,
    )


def typing_html(agent_id: int, name: str) -> str:
    return render_to_string(
        "desk/ticket.html#typing-oob", {"typer_id": agent_id, "typer_name": name}
    )


@functools.lru_cache(maxsize=256)
def waiting_count_html(n: int) -> str:
    """The number in the tab title, "(3) Desk": the page script reads it from here (per
    tab in every broadcast of the counts: kept, as `mine_count_html`)."""
    return format_html(
        '<span id="waiting-for-me" data-count="{}" hidden hx-swap-oob="true"></span>', n
    )


def alert_html(alert: dict) -> str:
    """One alert for the page script (static/alerts.js) to raise, or not."""
    return format_html(
        '<div id="desk-alert" hidden hx-swap-oob="true" data-key="{}" data-title="{}"'
        ' data-body="{}" data-url="{}"></div>',
        alert["key"],
        alert["title"],
        alert["body"],
        alert["url"],
    )


def error_html(message: str, *, source: str = "") -> str:
    return render_to_string(
        "base.html#toast", {"toast": message, "toast_source": source, "oob": True}
    )


# --- agents -------------------------------------------------------------------------------


def agent_status_facts(agent) -> dict:
    return {"agent_id": agent.pk, "status": agent.status}


def agent_status_words(agent) -> dict:
    """An agent's badge everywhere it shows (side bar, assign menu, "viewing now"), their
    own header menu, and their Team page row (`selectors.agent_with_status`), in the
    active locale."""
    context = {"agent": agent, "oob": True}
    return {
        "html": render_to_string("desk/_agent.html#status", context)
        + render_to_string("desk/_agent.html#option-oob", context),
        "mine_html": render_to_string(
            "base.html#availability-menu",
            {
                "my_availability": agent.availability,
                "availability_choices": Availability.choices,
                "oob": True,
            },
        ),
        "team_html": render_to_string("desk/team.html#agent-row", context),
    }


def team_context() -> dict:
    return {
        "agents": selectors.agents_with_status(load=True),
        "statuses": selectors.AGENT_STATUSES,
    }
