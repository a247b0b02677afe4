"""Approval requests through the SDK against a real Desk: ask, wait for a person's decision
(edited arguments included), hear it as an event, withdraw."""

from __future__ import annotations

import threading

import pytest

from desk_sdk import (
    AlreadyDecided,
    Approval,
    ApprovalDecided,
    AsyncDesk,
    BotNotConnected,
    Desk,
    ValidationFailed,
)

pytestmark = pytest.mark.slow

SCHEMA = {
    "type": "object",
    "properties": {"orderId": {"type": "string"},
                   "amount": {"type": "number", "exclusiveMinimum": 0}},
    "required": ["orderId", "amount"],
}


def ask(desk: Desk, request_id: str, amount: float = 40, **more) -> Approval:
    return desk.request_approval(
        request_id, action="refund", title=f"Refund {amount} on #991",
        arguments={"orderId": "991", "amount": amount}, arguments_schema=SCHEMA, **more,
    )


def test_a_tool_call_waits_for_a_person_and_acts_on_their_arguments(desk_server):
    desk = desk_server.connected_bot("approvals")
    asked = ask(desk, "call-1", summary="The customer says it arrived broken.")
    assert asked.created and asked.pending and asked.arguments["amount"] == 40
    again = ask(desk, "call-1")  # a retried or re-run tool call asks once
    assert again.approval_id == asked.approval_id and not again.created

    decided: list[Approval] = []
    waiter = threading.Thread(
        target=lambda: decided.append(desk.wait_for_approval(asked.approval_id, timeout=30))
    )
    waiter.start()
    desk_server.agent.decide(asked.approval_id, approve=True,
                             arguments={"orderId": "991", "amount": 25})
    waiter.join(timeout=35)
    approval = decided[0]
    assert approval.approved and approval.edited and approval.agent_name == "Alex Admin"
    assert approval.arguments == {"orderId": "991", "amount": 25}
    assert approval.original_arguments["amount"] == 40

    event = next(desk.listen(wait=5))
    assert isinstance(event, ApprovalDecided)
    assert (event.decision, event.approval_id, event.request_id) == (
        "approved", asked.approval_id, "call-1")
    assert event.arguments["amount"] == 25 and event.edited
    assert event.conversation_id is None  # this one named no conversation


def test_a_rejection_carries_the_reason_and_a_decided_one_cannot_be_withdrawn(desk_server):
    desk = desk_server.connected_bot("approvals")
    asked = ask(desk, "call-2")
    desk_server.agent.decide(asked.approval_id, approve=False, reason="Already refunded.")
    rejected = desk.wait_for_approval(asked.approval_id, timeout=10)
    assert (rejected.status, rejected.reason) == ("rejected", "Already refunded.")
    with pytest.raises(AlreadyDecided) as refused:
        desk.cancel_approval(asked.approval_id)
    assert refused.value.status == 409


async def test_the_async_client_asks_and_withdraws(desk_server):
    sync = desk_server.connected_bot("approvals")
    async with AsyncDesk(desk_server.url, desk_server.api_key, sync.bot_id) as desk:
        asked = await desk.request_approval(
            action="refund", title="Refund 10", arguments={"orderId": "7", "amount": 10},
        )
        assert asked.request_id.startswith("sdk-")  # made for this call's retries
        still = await desk.wait_for_approval(asked.approval_id, timeout=1)
        assert still.pending
        cancelled = await desk.cancel_approval(asked.approval_id)
        assert cancelled.status == "cancelled"
        assert (await desk.cancel_approval(asked.approval_id)).status == "cancelled"
        async for event in desk.listen(wait=5):
            assert isinstance(event, ApprovalDecided) and event.decision == "cancelled"
            break


def test_arguments_the_schema_refuses_and_a_bot_not_enabled_are_refused(desk_server):
    desk = desk_server.connected_bot("approvals")
    with pytest.raises(ValidationFailed) as invalid:
        ask(desk, "call-3", amount=-5)
    assert "arguments.amount" in invalid.value.fields
    fresh = Desk(desk_server.url, desk_server.api_key, desk_server.new_bot_id())
    fresh.deploy(name="Not enabled")
    with pytest.raises(BotNotConnected):
        ask(fresh, "call-4")
