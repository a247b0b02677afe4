"""The agent's side of approvals: the list, the approval page with its form built from
the schema, deciding (approve, approve with changes, reject with a reason), who may
decide (Settings → Approvers), and the decision history for admins."""

import json
import re
from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from django.test import Client
from django.utils import timezone

from approvals import services
from approvals.models import Approval
from bots.models import Event
from desk.services import start_hitl

SCHEMA = {
    "type": "object",
    "properties": {
        "orderId": {"type": "string", "title": "Order", "minLength": 1},
        "amount": {"type": "number", "title": "Amount", "exclusiveMinimum": 0, "maximum": 1000},
        "currency": {"enum": ["USD", "EUR"], "title": "Currency"},
        "notify": {"type": "boolean", "title": "Email the customer"},
        "lines": {"type": "array", "title": "Lines"},
    },
    "required": ["orderId", "amount", "currency"],
}
ARGUMENTS = {"orderId": "991", "amount": 40, "currency": "USD", "notify": True, "lines": [1, 2]}


@pytest.fixture
def approval(connected_bot) -> Approval:
    approval, _ = services.approval_request(
        bot=connected_bot, request_id="r1", action="refund", title="Refund $40 on #991",
        summary="Broken on arrival.", arguments=ARGUMENTS, arguments_schema=SCHEMA,
        conversation_id="conv-1", priority="high",
    )
    return approval


@pytest.fixture
def approver(agent):
    agent.user_permissions.add(Permission.objects.get(codename="decide_approval"))
    return agent


@pytest.fixture
def approver_client(approver) -> Client:
    client = Client()
    client.force_login(approver)
    return client


def form(approval: Approval, **changes) -> dict:
    """The approval form as the page renders it, with `changes` (by argument name)."""
    values = {
        "arg-0": "991", "arg-1": "40", "arg-2": '"USD"', "arg-3": "on", "arg-4": "[1, 2]",
    }
    names = {"orderId": "arg-0", "amount": "arg-1", "currency": "arg-2", "notify": "arg-3",
             "lines": "arg-4"}
    for key, value in changes.items():
        if value is None:
            values.pop(names[key])
        else:
            values[names[key]] = value
    return values


def decide(client, approval, decision, **data):
    return client.post(f"/approvals/{approval.pk}/decide/", {"decision": decision, **data})


# --- the list and the page --------------------------------------------------------------------


def test_the_list_shows_pending_approvals_in_order(agent_client, connected_bot):
    def ask(request_id, priority, minutes):
        approval, _ = services.approval_request(
            bot=connected_bot, request_id=request_id, action="refund",
            title=f"Approval {request_id}", arguments={}, priority=priority,
            expires_in_seconds=minutes * 60,
        )
        return approval

    ask("low-soon", "low", 2)
    ask("urgent-late", "urgent", 50)
    ask("urgent-soon", "urgent", 5)
    decided = ask("decided", "urgent", 1)
    services.approval_cancel(bot=connected_bot, public_id=str(decided.public_id))
    r = agent_client.get("/approvals/")
    assert r.status_code == 200
    titles = re.findall(r'<span class="title">(Approval [\w-]+)</span>', r.content.decode())
    assert titles == ["Approval urgent-soon", "Approval urgent-late", "Approval low-soon"]
    assert "expires in 4 min" in r.content.decode()
    assert 'id="approvals-pending">3<' in r.content.decode()


def test_the_list_needs_a_login(client):
    r = client.get("/approvals/")
    assert r.status_code == 302 and "/login/" in r["Location"]


def test_the_page_shows_the_request_and_a_form_built_from_the_schema(
    approver_client, approval
):
    ticket, _ = start_hitl(bot=approval.bot, conversation_id="conv-1", title="Broken mug",
                           message_history=[])
    r = approver_client.get(f"/approvals/{approval.pk}/")
    html = r.content.decode()
    assert r.status_code == 200
    assert "Refund $40 on #991" in html and "Broken on arrival." in html
    assert "Support Bot" in html and "<code class=\"action\">refund</code>" in html
    assert f"#{ticket.number}</span> Broken mug" in html
    assert re.search(r'<input type="text" id="arg-0" name="arg-0" value="991"', html)
    assert re.search(r'<input type="number" id="arg-1" name="arg-1" value="40"[^>]*step="any"'
                     r'[^>]*min="0" max="1000"', html)
    assert '<option value="&quot;USD&quot;" selected>USD</option>' in html
    assert re.search(r'<input type="checkbox" id="arg-3" name="arg-3"[^>]* checked>', html)
    assert re.search(r'<textarea class="mono" id="arg-4" name="arg-4"[^>]*data-json', html)
    for button in ("Approve", "Approve with changes", "Reject"):
        assert f">{button}</button>" in html


def test_without_a_ticket_the_conversation_id_shows(approver_client, approval):
    html = approver_client.get(f"/approvals/{approval.pk}/").content.decode()
    assert "Conversation <code>conv-1</code>" in html


def test_an_agent_without_the_permission_sees_it_read_only(agent_client, approval):
    r = agent_client.get(f"/approvals/{approval.pk}/")
    html = r.content.decode()
    assert r.status_code == 200
    assert "approval-form" not in html
    assert "Settings → Approvers" in html
    assert "&quot;991&quot;" in html


def test_an_agent_without_the_permission_cannot_decide(agent_client, approval):
    r = decide(agent_client, approval, "approve", **form(approval))
    assert r.status_code == 403
    approval.refresh_from_db()
    assert approval.status == "pending"
    assert not Event.objects.exists()


def test_an_unknown_approval_is_404(agent_client, db):
    assert agent_client.get("/approvals/999/").status_code == 404
    assert agent_client.post("/approvals/999/decide/", {"decision": "approve"}).status_code == 404


# --- deciding ---------------------------------------------------------------------------------


def test_an_admin_approves_as_asked(admin_client, approval):
    r = decide(admin_client, approval, "approve", **form(approval))
    assert r.status_code == 302 and r["Location"] == "/approvals/"
    approval.refresh_from_db()
    assert approval.status == "approved"
    assert approval.edited is False
    assert approval.final_arguments == ARGUMENTS
    assert approval.decided_by_name == "Alex Admin"
    event = Event.objects.get()
    assert event.payload["decision"] == "approved"
    assert event.payload["arguments"] == ARGUMENTS


def test_an_approver_approves_with_changes(approver_client, approval):
    r = decide(approver_client, approval, "approve_changes",
               **form(approval, amount="25", currency='"EUR"', notify=None))
    assert r.status_code == 302
    approval.refresh_from_db()
    assert approval.status == "approved" and approval.edited is True
    final = {**ARGUMENTS, "amount": 25, "currency": "EUR", "notify": False}
    assert approval.final_arguments == final
    assert approval.arguments == ARGUMENTS  # the original is kept
    assert Event.objects.get().payload["arguments"] == final
    page = approver_client.get(f"/approvals/{approval.pk}/").content.decode()
    assert "Maya Lopez approved this with changes." in page
    assert re.search(r'<tr class="changed"><th scope="row"><code>amount</code></th>'
                     r'<td><code>40</code></td><td><code>25</code>', page)


def test_approve_refuses_a_changed_form(approver_client, approval):
    r = decide(approver_client, approval, "approve", **form(approval, amount="25"))
    assert r.status_code == 422
    assert "press Approve with changes" in r.content.decode()
    approval.refresh_from_db()
    assert approval.status == "pending"


def test_changes_the_schema_refuses_are_shown_and_nothing_is_decided(approver_client, approval):
    r = decide(approver_client, approval, "approve_changes", **form(approval, amount="-3"))
    assert r.status_code == 422
    html = r.content.decode()
    assert "-3 is less than or equal to the minimum of 0" in html
    assert 'value="-3"' in html  # the agent's input is kept
    approval.refresh_from_db()
    assert approval.status == "pending"
    assert not Event.objects.exists()


@pytest.mark.parametrize(
    "changes, problem",
    [
        ({"amount": "lots"}, "Enter a number."),
        ({"lines": "[1, 2"}, "This is not valid JSON"),
        ({"currency": '"GBP"'}, "Choose one of the options."),
        ({"amount": None}, "&#x27;amount&#x27; is a required property"),
        ({"orderId": ""}, "should be non-empty"),
    ],
)
def test_bad_edits_are_refused_naming_the_field(approver_client, approval, changes, problem):
    r = decide(approver_client, approval, "approve_changes", **form(approval, **changes))
    assert r.status_code == 422
    assert problem in r.content.decode()
    approval.refresh_from_db()
    assert approval.status == "pending"


def test_a_rejection_needs_a_reason(approver_client, approval):
    r = decide(approver_client, approval, "reject", reason="   ")
    assert r.status_code == 422
    assert "Say why you reject it" in r.content.decode()
    approval.refresh_from_db()
    assert approval.status == "pending"


def test_an_approver_rejects_with_a_reason(approver_client, approval):
    r = decide(approver_client, approval, "reject", reason="Needs a photo of the damage.")
    assert r.status_code == 302
    approval.refresh_from_db()
    assert approval.status == "rejected"
    assert approval.reason == "Needs a photo of the damage."
    event = Event.objects.get()
    assert event.payload["reason"] == "Needs a photo of the damage."
    assert event.payload["agentName"] == "Maya Lopez"


def test_the_second_decision_is_told_who_decided(approver_client, admin_client, approval):
    assert decide(admin_client, approval, "reject", reason="No.").status_code == 302
    r = decide(approver_client, approval, "approve", **form(approval))
    assert r.status_code == 302 and r["Location"] == f"/approvals/{approval.pk}/"
    page = approver_client.get(r["Location"]).content.decode()
    assert "Alex Admin rejected this." in page
    approval.refresh_from_db()
    assert approval.status == "rejected"
    assert Event.objects.count() == 1


def test_an_approval_without_a_schema_is_edited_as_json(approver_client, connected_bot):
    approval, _ = services.approval_request(
        bot=connected_bot, request_id="free", action="cancel_order", title="Cancel #5",
        arguments={"orderId": 5},
    )
    html = approver_client.get(f"/approvals/{approval.pk}/").content.decode()
    assert 'name="arguments"' in html
    r = decide(approver_client, approval, "approve_changes", arguments='{"orderId": 6}')
    assert r.status_code == 302
    approval.refresh_from_db()
    assert approval.final_arguments == {"orderId": 6}
    r2 = decide(approver_client, approval, "approve", arguments="[]")
    assert r2.status_code == 302  # decided already: told so, nothing changes


def test_an_unknown_decision_is_refused(approver_client, approval):
    r = decide(approver_client, approval, "maybe")
    assert r.status_code == 422
    approval.refresh_from_db()
    assert approval.status == "pending"


def test_deciding_is_post_only(approver_client, approval):
    assert approver_client.get(f"/approvals/{approval.pk}/decide/").status_code == 405


# --- who may decide ----------------------------------------------------------------------------


def test_an_admin_lets_an_agent_decide(admin_client, agent, approval):
    r = admin_client.get("/settings/approvers/")
    assert r.status_code == 200
    assert "Maya Lopez" in r.content.decode()
    r = admin_client.post(f"/settings/approvers/{agent.pk}/", {"allowed": "on"})
    assert r.status_code == 302
    maya = Client()
    maya.force_login(agent)
    assert decide(maya, approval, "approve", **form(approval)).status_code == 302
    approval.refresh_from_db()
    assert approval.status == "approved"


def test_an_admin_takes_the_permission_back(admin_client, approver, approver_client, approval):
    r = admin_client.post(f"/settings/approvers/{approver.pk}/", {}, headers={"HX-Request": "true"})
    assert r.status_code == 200
    assert 'id="approver-' in r.content.decode() and "checked" not in r.content.decode()
    assert decide(approver_client, approval, "approve", **form(approval)).status_code == 403


def test_only_admins_choose_approvers(agent_client, other_agent):
    assert agent_client.get("/settings/approvers/").status_code == 403
    r = agent_client.post(f"/settings/approvers/{other_agent.pk}/", {"allowed": "on"})
    assert r.status_code == 403
    assert not other_agent.has_perm("approvals.decide_approval")


# --- the history ---------------------------------------------------------------------------


@pytest.fixture
def history(connected_bot, admin_user, approver):
    def ask(request_id, action="refund"):
        return services.approval_request(
            bot=connected_bot, request_id=request_id, action=action,
            title=f"Request {request_id}", arguments={"amount": 40},
        )[0]

    services.approval_decide(approval_id=ask("a").pk, agent=admin_user, approve=True,
                             arguments={"amount": 25})
    services.approval_decide(approval_id=ask("b", "cancel_order").pk, agent=approver,
                             approve=False, reason="Already shipped")
    services.approval_cancel(bot=connected_bot, public_id=str(ask("c").public_id))
    expired = ask("d")
    Approval.objects.filter(pk=expired.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    services.approval_expire(approval_id=expired.pk)
    ask("e")  # still pending: not history


def titles(response) -> list[str]:
    return re.findall(r">(Request \w)</a>", response.content.decode())


def test_admins_see_every_decision(admin_client, history):
    r = admin_client.get("/approvals/history/")
    assert r.status_code == 200
    assert sorted(titles(r)) == ["Request a", "Request b", "Request c", "Request d"]
    html = r.content.decode()
    assert "Already shipped" in html and "Alex Admin" in html
    assert "&quot;amount&quot;: 40" in html and "&quot;amount&quot;: 25" in html


@pytest.mark.parametrize(
    "query, expected",
    [
        ("decision=rejected", ["Request b"]),
        ("action=cancel_order", ["Request b"]),
        ("bot=support-bot&decision=approved", ["Request a"]),
        ("bot=nobody", []),
        ("decision=nonsense", ["Request a", "Request b", "Request c", "Request d"]),
    ],
)
def test_the_history_filters(admin_client, history, query, expected):
    assert sorted(titles(admin_client.get(f"/approvals/history/?{query}"))) == expected


def test_the_history_filters_by_agent(admin_client, history, approver):
    r = admin_client.get(f"/approvals/history/?agent={approver.pk}")
    assert titles(r) == ["Request b"]


def test_agents_cannot_read_the_history(approver_client, history):
    assert approver_client.get("/approvals/history/").status_code == 403


def test_the_decision_keeps_who_when_and_both_arguments(admin_client, history):
    approval = Approval.objects.get(request_id="a")
    html = admin_client.get(f"/approvals/{approval.pk}/").content.decode()
    assert "Alex Admin approved this with changes." in html
    assert approval.decided_at.strftime("%b %-d, %Y") in html
    assert json.loads(approval.arguments_json) == {"amount": 40}
