"""The agent's approvals pages: the live list, one approval and its decision, the
decision history (admins), and who may decide (Settings → Approvers, admins).

Deciding is an ordinary form post (CSRF-checked, answered with a redirect), so it
works without JavaScript; the pages are live over the desk websocket.
"""

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from approvals import arguments as args
from approvals import fragments, selectors, services
from approvals.access import approval_for_agent, can_decide
from approvals.models import Approval
from desk.access import admin_required
from desk.exceptions import Conflict, InvalidInput

HISTORY_PAGE_SIZE = 50
DONE = {
    "approve": "Approved. The bot goes ahead.",
    "approve_changes": "Approved with your changes. The bot goes ahead with them.",
    "reject": "Rejected. The bot has your reason.",
}


@login_required
def approval_list(request: HttpRequest) -> HttpResponse:
    return render(request, "approvals/list.html", fragments.list_context(request.user))


@login_required
def approval_detail(request: HttpRequest, approval_id: int) -> HttpResponse:
    approval = approval_for_agent(request.user, approval_id)
    return render(
        request, "approvals/detail.html", fragments.detail_context(approval, request.user)
    )


@login_required
@require_POST
def approval_decide(request: HttpRequest, approval_id: int) -> HttpResponse:
    """Approve (as asked, or with the form's changes) or reject (with a reason)."""
    approval = approval_for_agent(request.user, approval_id)
    if not can_decide(request.user):
        raise PermissionDenied(_("You can see approvals but not decide them."))
    if not approval.is_pending:  # decided meanwhile: the page shows by whom
        messages.error(request, approval.decision_sentence)
        return redirect("approval", approval_id=approval.pk)
    decision = request.POST.get("decision", "")
    reason = request.POST.get("reason", "")
    fields = None
    try:
        if decision == "reject":
            services.approval_decide(
                approval_id=approval.pk, agent=request.user, approve=False, reason=reason
            )
        elif decision in ("approve", "approve_changes"):
            final, fields = args.arguments_from_form(
                approval.arguments, approval.arguments_schema, request.POST
            )
            if any(one.error for one in fields):
                raise InvalidInput(
                    _("Check the arguments: the form shows what to fix."), field="arguments"
                )
            if decision == "approve" and final != approval.arguments:
                raise InvalidInput(
                    _(
                        "You changed the arguments: press Approve with changes to approve "
                        "them, or undo your changes."
                    ),
                    field="arguments",
                )
            services.approval_decide(
                approval_id=approval.pk,
                agent=request.user,
                approve=True,
                arguments=final if decision == "approve_changes" else None,
            )
        else:
            raise InvalidInput(
                _("Choose Approve, Approve with changes or Reject."), field="decision"
            )
    except Conflict as error:  # decided meanwhile: the page now shows by whom
        messages.error(request, error.message)
        return redirect("approval", approval_id=approval.pk)
    except InvalidInput as error:
        approval.refresh_from_db()
        context = fragments.detail_context(
            approval,
            request.user,
            fields=fields,
            form_error=error.message,
            error_field=error.field,
            reason=reason,
        )
        return render(request, "approvals/detail.html", context, status=422)
    messages.success(request, DONE[decision])
    return redirect("approvals")


@admin_required
def approval_history(request: HttpRequest) -> HttpResponse:
    history_filter = selectors.HistoryFilter.from_query(request.GET)
    decided = history_filter.apply(Approval.objects.all())
    page = Paginator(decided, HISTORY_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "approvals/history.html",
        {
            "filter": history_filter,
            "page": page,
            "query": request.GET,
            "approvals_count": selectors.pending_count(),
            **selectors.history_choices(),
        },
    )


@admin_required
def approvers(request: HttpRequest) -> HttpResponse:
    return render(request, "approvals/approvers.html", _approvers_context())


def _approvers_context() -> dict:
    allowed = set(selectors.approvers().values_list("pk", flat=True))
    agents = list(
        get_user_model()
        .objects.filter(is_active=True)
        .order_by("-is_staff", "first_name", "last_name", "username")
    )
    for agent in agents:
        agent.may_decide = agent.is_staff or agent.pk in allowed
    return {"agents": agents}


@admin_required
@require_POST
def approver_set(request: HttpRequest, user_id: int) -> HttpResponse:
    user = get_user_model().objects.filter(pk=user_id, is_active=True).first()
    if user is None:
        raise Http404("No such agent.")
    allowed = request.POST.get("allowed") == "on"
    services.approver_set(user=user, allowed=allowed, by=request.user)
    if request.htmx:
        user.may_decide = user.is_staff or allowed
        return render(request, "approvals/approvers.html#agent-row", {"agent": user})
    messages.success(request, _("Saved."))
    return redirect("approvers")
