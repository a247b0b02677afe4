"""The Python example in docs/approvals.md gates a tool call on Desk, as printed: run
against a real server, the refund runs only with what a person approved."""

import re
import threading
import time
from pathlib import Path

import pytest

from approvals import services
from approvals.models import Approval
from bots.services import api_key_create, bot_deploy, bot_set_connected

pytestmark = pytest.mark.django_db(transaction=True)

DOC = Path(__file__).resolve().parent.parent / "docs" / "approvals.md"


class Payments:
    def __init__(self) -> None:
        self.refunds: list[tuple] = []

    def refund(self, *args) -> None:
        self.refunds.append(args)


@pytest.fixture
def example(live_server, monkeypatch) -> dict:
    """The doc's code, run as a module would be, against this server with a real key."""
    key, plain = api_key_create(name="doc example")
    bot_deploy(bot_id="acme-support", api_key=key)
    bot_set_connected(bot_id="acme-support", connected=True)
    monkeypatch.setenv("DESK_URL", live_server.url)
    monkeypatch.setenv("DESK_API_KEY", plain)
    [code] = re.findall(r"```python\n(.*?)```", DOC.read_text(), re.S)
    namespace = {"payments": Payments()}
    exec(compile(code, str(DOC), "exec"), namespace)
    return namespace


def call_in_background(function, *args) -> dict:
    result: dict = {}
    thread = threading.Thread(target=lambda: result.setdefault("value", function(*args)))
    thread.start()
    result["thread"] = thread
    return result


def asked() -> Approval:
    for _ in range(200):
        if approval := Approval.objects.first():
            return approval
        time.sleep(0.02)
    raise AssertionError("the tool never asked Desk")


def test_the_tool_runs_with_the_approved_arguments(example, admin_user):
    call = call_in_background(example["refund_tool"], "call_1", "991", 40, "USD")
    approval = asked()
    assert approval.request_id == "call_1"
    assert approval.arguments == {"orderId": "991", "amount": 40, "currency": "USD"}
    time.sleep(0.5)  # the tool is waiting
    assert "value" not in call
    services.approval_decide(approval_id=approval.pk, agent=admin_user, approve=True,
                             arguments={"orderId": "991", "amount": 25, "currency": "USD"})
    call["thread"].join(10)
    assert call["value"] == "Refunded 25 USD on order #991."
    assert example["payments"].refunds == [("991", 25, "USD")]


def test_a_rejected_tool_call_does_not_run(example, admin_user):
    call = call_in_background(example["refund_tool"], "call_2", "991", 40, "USD")
    services.approval_decide(approval_id=asked().pk, agent=admin_user, approve=False,
                             reason="Over the limit")
    call["thread"].join(10)
    assert call["value"] == "The refund was not approved (rejected: Over the limit)."
    assert example["payments"].refunds == []
