"""The demo bot's refund tool, over real HTTP: the customer asks for a refund in the
webchat, the bot asks Desk for approval, and tells the customer what was decided."""

import pytest
from django.contrib.auth import get_user_model
from test_demo_handoff import Customer

from approvals import services
from approvals.models import Approval

pytestmark = pytest.mark.django_db(transaction=True)
pytest_plugins = ["webhook_receiver", "test_demo_handoff"]  # worker; the demo fixture


@pytest.fixture
def maya(demo):
    maya = get_user_model().objects.get(username="maya")
    assert maya.has_perm("approvals.decide_approval")  # demo_setup lets her decide
    return maya


def ask_for_refund(demo, text="I'd like a refund of 40 for order 991") -> tuple:
    customer = Customer(demo.url)
    customer.start("Jordan Lee", "")
    customer.read()
    assert customer.say(text) == {"accepted": True, "handoff": False}
    lines = customer.read()
    return customer, lines


def test_a_refund_waits_for_a_person_and_reports_the_edited_amount(demo, maya):
    customer, lines = ask_for_refund(demo)
    assert [line["sender"] for line in lines] == ["user", "bot"]
    assert "a person on our team to approve a refund of 40.00 USD for order #991" in (
        lines[1]["text"]
    )
    approval = Approval.objects.get()
    assert approval.action == "refund"
    assert approval.arguments == {"orderId": "991", "amount": 40, "currency": "USD"}
    assert approval.arguments_schema["required"] == ["orderId", "amount", "currency"]
    assert approval.title == "Refund 40.00 USD on order #991"
    assert approval.conversation_id.startswith("webchat-")

    services.approval_decide(approval_id=approval.pk, agent=maya, approve=True,
                             arguments={"orderId": "991", "amount": 25, "currency": "USD"})
    told = customer.wait_for("bot")
    assert told["text"] == (
        "Maya Lopez reviewed your request and approved a refund of 25.00 USD for order #991 "
        "(you asked for 40.00 USD)."
    )


def test_a_refund_approved_as_asked(demo, maya):
    customer, _ = ask_for_refund(demo, "Can I get my money back for order #A-17? It was $12.50")
    approval = Approval.objects.get()
    assert approval.arguments == {"orderId": "A-17", "amount": 12.5, "currency": "USD"}
    services.approval_decide(approval_id=approval.pk, agent=maya, approve=True)
    told = customer.wait_for("bot")
    assert told["text"] == (
        "Good news: Maya Lopez approved your refund of 12.50 USD for order #A-17."
    )


def test_a_rejected_refund_tells_the_reason(demo, maya):
    customer, _ = ask_for_refund(demo)
    services.approval_decide(approval_id=Approval.objects.get().pk, agent=maya, approve=False,
                             reason="That order was already refunded on May 2.")
    told = customer.wait_for("bot")
    assert told["text"] == (
        "Sorry, your refund for order #991 was not approved: "
        "That order was already refunded on May 2."
    )


def test_a_refund_without_an_order_asks_for_it(demo, maya):
    _, lines = ask_for_refund(demo, "I want a refund")
    assert "Which order is it for, and how much?" in lines[-1]["text"]
    assert not Approval.objects.exists()
