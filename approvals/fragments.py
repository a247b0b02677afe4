"""The approvals pages' contexts and the fragments pushed to them, from the same partials.

Every fragment is a `{% partialdef %}` of the page template it lives in
(templates/approvals/list.html and detail.html).
"""

from django.contrib.auth.models import AbstractBaseUser
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.html import format_html

from approvals import arguments as args
from approvals import selectors
from approvals.access import can_decide
from approvals.models import Approval
from desk import selectors as desk_selectors
from desk.alerts import alert


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


def approval_update(approval_id: int, *, new: bool = False) -> dict:
    """What tabs need after an approval changed, rendered once."""
    approval = selectors.list_row(approval_id)
    message = {
        "approval_id": approval_id,
        "new": new,
        "pending": bool(approval and approval.is_pending),
        "row_html": "",
        "decision_html": "",
        "count_html": count_html(selectors.pending_count()),
    }
    if approval is None:
        return message
    if approval.is_pending:
        message["row_html"] = render_to_string(
            "approvals/list.html#approval-row", {"approval": approval}
        )
        if new:  # raised by the tabs of agents who may decide (desk.alerts)
            message["alert"] = alert(
                key=f"approval-{approval.pk}",
                title=f"Approval requested: {approval.title}",
                body=f"{approval.bot.name} asks to run {approval.action}.",
                url=reverse("approval", args=[approval.pk]),
            )
    else:
        message["decision_html"] = decision_html(approval)
    return message


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
