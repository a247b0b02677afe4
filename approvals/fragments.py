"""The approvals pages' contexts and the fragments pushed to them, from the same partials.

Every fragment is a `{% partialdef %}` of the page template it lives in
(templates/approvals/list.html and detail.html).
"""

from django.contrib.auth.models import AbstractBaseUser
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext as _

from approvals import arguments as args
from approvals import selectors
from approvals.access import can_decide
from approvals.models import Approval
from desk import selectors as desk_selectors
from desk.alerts import alert
from desk.fragments import alert_html


def list_context(agent: AbstractBaseUser) -> dict:
    approvals = list(selectors.pending()[: selectors.LIST_LIMIT])
    return {
        "approvals": approvals,
        "approvals_count": selectors.pending_count(),
        "can_decide": can_decide(agent),
    }


def list_html() -> str:
    """The whole list and the count, for a tab that (re)connects: it may have missed changes."""
    approvals = list(selectors.pending()[: selectors.LIST_LIMIT])
    return render_to_string(
        "approvals/list.html#approval-list", {"approvals": approvals, "oob": True}
    ) + count_html(selectors.pending_count())


def count_html(count: int) -> str:
    return render_to_string("approvals/list.html#count-oob", {"approvals_count": count})


def detail_context(approval: Approval, agent: AbstractBaseUser, **extra) -> dict:
    ticket = selectors.conversation_ticket(approval)
    fields = extra.pop("fields", None)
    if fields is None:
        fields = args.form_fields(approval.current_arguments, approval.arguments_schema)
    return {
        "approval": approval,
        "can_decide": can_decide(agent),
        "fields": fields,
        "changes": _changes(approval),
        "ticket": ticket,
        "messages_list": list(desk_selectors.transcript(ticket.pk)) if ticket else [],
        "approvals_count": selectors.pending_count(),
        **extra,
    }


def _changes(approval: Approval) -> list[dict]:
    if not approval.edited or approval.final_arguments is None:
        return []
    return args.differences(approval.arguments, approval.final_arguments)


def decision_html(approval: Approval) -> str:
    """The decided approval's panel (the same for every viewer), swapped in live."""
    return render_to_string(
        "approvals/detail.html#decision",
        {"approval": approval, "changes": _changes(approval), "oob": True},
    )


def approval_data(approval_id: int, new: bool = False) -> dict:
    """What tabs need after an approval changed, read once (rendered per locale by
    `approval_words`)."""
    return {
        "approval_id": approval_id,
        "new": new,
        "approval": selectors.list_row(approval_id),
        "pending_count": selectors.pending_count(),
    }


def approval_facts(data: dict) -> dict:
    approval = data["approval"]
    return {
        "approval_id": data["approval_id"],
        "new": data["new"],
        "pending": bool(approval and approval.is_pending),
    }


def approval_words(data: dict) -> dict:
    """The row for the list (or nothing once decided), the count, the decided panel, and
    for a new request the alert of those who may decide it, in the active locale."""
    approval = data["approval"]
    words = {
        "row_html": "",
        "decision_html": "",
        "alert_html": "",
        "count_html": count_html(data["pending_count"]),
    }
    if approval is None:
        return words
    if approval.is_pending:
        words["row_html"] = render_to_string(
            "approvals/list.html#approval-row", {"approval": approval}
        )
        if data["new"]:  # raised by the tabs of agents who may decide (desk.alerts)
            words["alert_html"] = alert_html(
                alert(
                    key=f"approval-{approval.pk}",
                    title=_("Approval requested: %(title)s") % {"title": approval.title},
                    body=_("%(bot)s asks to run %(action)s.")
                    % {"bot": approval.bot.name, "action": approval.action},
                    url=reverse("approval", args=[approval.pk]),
                )
            )
    else:
        words["decision_html"] = decision_html(approval)
    return words


def row_insert_html(row_html: str) -> str:
    """A row appended to the list (the page script sorts it into place)."""
    return '<div hx-swap-oob="beforeend:#approval-rows">' + row_html + "</div>"


def row_gone_html(approval_id: int) -> str:
    """A tombstone: the page script drops the row with this id, if it has one."""
    return format_html(
        '<div hx-swap-oob="beforeend:#approval-rows">'
        '<div id="approval-{}" class="gone"></div></div>',
        approval_id,
    )
