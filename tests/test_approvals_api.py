"""Bots ask a person before they act: POST/GET /api/v1/bots/{botId}/approvals, cancel,
and the `approvalDecided` event in the bot's log."""

import json

import pytest
from django.contrib.auth.models import Permission

from approvals import services
from approvals.models import Approval
from bots.models import Event
from bots.services import api_key_create, bot_deploy, bot_set_connected

# The GET endpoints are async and read on a pooled thread, with a connection of its own.
pytestmark = pytest.mark.django_db(transaction=True)

APPROVALS = "/api/v1/bots/support-bot/approvals"
NOT_CONNECTED = (
    "This bot is not connected to Desk. "
    "Enable it on the Deflecting Bots page in Desk, then republish."
)
REFUND_SCHEMA = {
    "type": "object",
    "properties": {
        "orderId": {"type": "string", "minLength": 1},
        "amount": {"type": "number", "exclusiveMinimum": 0, "maximum": 1000},
        "currency": {"enum": ["USD", "EUR"]},
    },
    "required": ["orderId", "amount", "currency"],
    "additionalProperties": False,
}


def refund(request_id="req-1", **overrides) -> dict:
    return {
        "requestId": request_id,
        "action": "refund",
        "title": "Refund $40 on order #991",
        "summary": "The parcel arrived broken.",
        "arguments": {"orderId": "991", "amount": 40, "currency": "USD"},
        "argumentsSchema": REFUND_SCHEMA,
        **overrides,
    }


def ask(bot_api, **overrides):
    return bot_api.post(APPROVALS, refund(**overrides))


def events(bot_api) -> list[dict]:
    return bot_api.get("/api/v1/bots/support-bot/events").json()["events"]


# --- asking ---------------------------------------------------------------------------------


def test_it_creates_a_pending_approval(bot_api, connected_bot):
    r = ask(bot_api)
    assert r.status_code == 201, r.content
    body = r.json()
    assert body["status"] == "pending"
    assert body["requestId"] == "req-1"
    assert body["approvalId"]
    assert body["expiresAt"]
    assert body["arguments"] == {"orderId": "991", "amount": 40, "currency": "USD"}
    assert body["argumentsSchema"] == REFUND_SCHEMA
    assert body["priority"] == "medium"
    approval = Approval.objects.get()
    assert round((approval.expires_at - approval.created_at).total_seconds()) == 3600


def test_the_same_request_id_returns_the_same_approval(bot_api, connected_bot):
    first = ask(bot_api).json()
    again = ask(bot_api, title="Something else entirely")
    assert again.status_code == 200
    assert again.json()["approvalId"] == first["approvalId"]
    assert again.json()["title"] == "Refund $40 on order #991"
    assert Approval.objects.count() == 1


def test_the_same_request_id_after_the_decision_returns_it_decided(
    bot_api, connected_bot, admin_user
):
    first = ask(bot_api).json()
    approval = Approval.objects.get()
    services.approval_decide(approval_id=approval.pk, agent=admin_user, approve=False,
                             reason="Out of policy")
    again = ask(bot_api)
    assert again.status_code == 200
    assert again.json()["approvalId"] == first["approvalId"]
    assert again.json()["status"] == "rejected"
    assert again.json()["reason"] == "Out of policy"


def test_request_ids_are_per_bot(bot_api, connected_bot, api_key_pair):
    bot_deploy(bot_id="other-bot", api_key=api_key_pair[0])
    bot_set_connected(bot_id="other-bot", connected=True)
    a = ask(bot_api).json()
    b = bot_api.post("/api/v1/bots/other-bot/approvals", refund())
    assert b.status_code == 201
    assert b.json()["approvalId"] != a["approvalId"]


def test_a_bot_that_is_not_connected_gets_the_start_hitl_refusal(bot_api, deployed_bot):
    r = ask(bot_api)
    assert r.status_code == 403
    assert r.json() == {"error": "bot_not_connected", "message": NOT_CONNECTED}
    assert not Approval.objects.exists()


def test_an_unknown_bot_is_404(bot_api, connected_bot):
    r = bot_api.post("/api/v1/bots/nobody/approvals", refund())
    assert r.status_code == 404
    assert r.json()["error"] == "not_found"


def test_another_keys_bot_is_404(connected_bot):
    from tests.conftest import BotClient

    _, other_key = api_key_create(name="someone else")
    r = BotClient(other_key).post(APPROVALS, refund())
    assert r.status_code == 404
    assert not Approval.objects.exists()


def test_it_requires_a_key(client, connected_bot):
    r = client.post(APPROVALS, json.dumps(refund()), content_type="application/json")
    assert r.status_code == 401


def test_priority_and_expiry_are_taken(bot_api, connected_bot):
    r = ask(bot_api, priority="urgent", expiresInSeconds=60, conversationId="conv-9")
    assert r.status_code == 201
    body = r.json()
    assert body["priority"] == "urgent"
    assert body["conversationId"] == "conv-9"
    approval = Approval.objects.get()
    assert round((approval.expires_at - approval.created_at).total_seconds()) == 60


def test_without_a_schema_any_object_is_accepted(bot_api, connected_bot):
    r = ask(bot_api, argumentsSchema=None, arguments={"anything": [1, {"x": None}]})
    assert r.status_code == 201
    assert r.json()["argumentsSchema"] is None


@pytest.mark.parametrize(
    "overrides, field",
    [
        ({"requestId": ""}, "requestId"),
        ({"requestId": "   "}, "requestId"),
        ({"action": ""}, "action"),
        ({"action": "x" * 101}, "action"),
        ({"title": "  "}, "title"),
        ({"title": "x" * 301}, "title"),
        ({"arguments": [1, 2]}, "arguments"),
        ({"arguments": "refund"}, "arguments"),
        ({"argumentsSchema": "not a schema"}, "argumentsSchema"),
        ({"priority": "whenever"}, "priority"),
        ({"expiresInSeconds": 59}, "expiresInSeconds"),
        ({"expiresInSeconds": 604_801}, "expiresInSeconds"),
        ({"conversationId": ""}, "conversationId"),
    ],
)
def test_bad_fields_are_422_naming_them(bot_api, connected_bot, overrides, field):
    r = ask(bot_api, **overrides)
    assert r.status_code == 422, r.content
    assert field in r.json()["fields"], r.json()
    assert r.json()["error"] == "invalid"
    assert not Approval.objects.exists()


def test_missing_arguments_are_422(bot_api, connected_bot):
    body = refund()
    del body["arguments"]
    r = bot_api.post(APPROVALS, body)
    assert r.status_code == 422
    assert "arguments" in r.json()["fields"]


def test_an_invalid_schema_is_422_naming_the_path_in_it(bot_api, connected_bot):
    schema = {**REFUND_SCHEMA, "properties": {**REFUND_SCHEMA["properties"],
                                              "amount": {"type": "money"}}}
    r = ask(bot_api, argumentsSchema=schema)
    assert r.status_code == 422
    assert list(r.json()["fields"]) == ["argumentsSchema.properties.amount.type"]
    assert not Approval.objects.exists()


def test_a_schema_with_a_bad_minimum_is_422(bot_api, connected_bot):
    schema = {"type": "object", "properties": {"amount": {"minimum": "zero"}}}
    r = ask(bot_api, argumentsSchema=schema, arguments={"amount": 1})
    assert r.status_code == 422
    assert "argumentsSchema.properties.amount.minimum" in r.json()["fields"]


def test_a_schema_with_a_broken_pattern_is_422(bot_api, connected_bot):
    schema = {"type": "object", "properties": {"orderId": {"type": "string", "pattern": "(["}}}
    r = ask(bot_api, argumentsSchema=schema, arguments={"orderId": "1"})
    assert r.status_code == 422
    assert "argumentsSchema.properties.orderId.pattern" in r.json()["fields"]


def test_a_schema_that_does_not_describe_an_object_is_422(bot_api, connected_bot):
    r = ask(bot_api, argumentsSchema={"type": "array"}, arguments={"a": 1})
    assert r.status_code == 422
    assert "argumentsSchema.type" in r.json()["fields"]


def test_an_unknown_dialect_is_422(bot_api, connected_bot):
    schema = {**REFUND_SCHEMA, "$schema": "https://example.com/my-dialect"}
    r = ask(bot_api, argumentsSchema=schema)
    assert r.status_code == 422
    assert "argumentsSchema.$schema" in r.json()["fields"]


def test_a_draft_7_schema_is_accepted(bot_api, connected_bot):
    schema = {**REFUND_SCHEMA, "$schema": "http://json-schema.org/draft-07/schema#"}
    assert ask(bot_api, argumentsSchema=schema).status_code == 201


def test_a_remote_reference_is_422_not_fetched(bot_api, connected_bot):
    schema = {"type": "object", "properties": {"x": {"$ref": "https://example.com/x.json"}}}
    r = ask(bot_api, argumentsSchema=schema, arguments={"x": 1})
    assert r.status_code == 422
    assert "argumentsSchema" in r.json()["fields"]
    assert "$ref" in r.json()["fields"]["argumentsSchema"]


def test_arguments_the_schema_refuses_are_422_naming_the_path(bot_api, connected_bot):
    r = ask(bot_api, arguments={"orderId": "991", "amount": -5, "currency": "GBP"})
    assert r.status_code == 422
    fields = r.json()["fields"]
    assert set(fields) == {"arguments.amount", "arguments.currency"}
    assert "-5" in fields["arguments.amount"]
    assert not Approval.objects.exists()


def test_a_missing_required_argument_is_named(bot_api, connected_bot):
    r = ask(bot_api, arguments={"amount": 5, "currency": "USD"})
    assert r.status_code == 422
    assert r.json()["fields"] == {"arguments.orderId": "'orderId' is a required property"}


def test_a_nested_argument_is_named_by_its_dotted_path(bot_api, connected_bot):
    schema = {
        "type": "object",
        "properties": {"lines": {"type": "array", "items": {
            "type": "object", "properties": {"qty": {"type": "integer"}}}}},
    }
    r = ask(bot_api, argumentsSchema=schema, arguments={"lines": [{"qty": 1}, {"qty": "two"}]})
    assert r.status_code == 422
    assert list(r.json()["fields"]) == ["arguments.lines.1.qty"]


def test_arguments_over_64_kib_are_422(bot_api, connected_bot):
    r = ask(bot_api, argumentsSchema=None, arguments={"note": "x" * (64 * 1024)})
    assert r.status_code == 422
    assert r.json()["fields"] == {"arguments": "must be at most 64 KiB as JSON"}


def test_arguments_just_under_64_kib_are_taken(bot_api, connected_bot):
    note = "x" * (64 * 1024 - len('{"note":""}'))
    r = ask(bot_api, argumentsSchema=None, arguments={"note": note})
    assert r.status_code == 201


def test_a_nul_character_in_the_arguments_is_422(bot_api, connected_bot):
    r = ask(bot_api, argumentsSchema=None, arguments={"note": "a\u0000b"})
    assert r.status_code == 422
    assert "arguments.note" in r.json()["fields"]


def test_a_number_that_is_not_finite_is_422(bot_api, connected_bot):
    body = json.dumps(refund(argumentsSchema=None)).replace('"amount": 40', '"amount": NaN')
    r = bot_api.post(APPROVALS, body)
    assert r.status_code == 422
    assert "arguments.amount" in r.json()["fields"]


def test_the_key_order_is_kept(bot_api, connected_bot):
    arguments = {"zeta": 1, "alpha": 2, "mid": 3}
    r = ask(bot_api, argumentsSchema=None, arguments=arguments)
    got = bot_api.get(f"{APPROVALS}/{r.json()['approvalId']}").json()
    assert list(got["arguments"]) == ["zeta", "alpha", "mid"]


# --- reading ---------------------------------------------------------------------------------


def test_it_reads_an_approval(bot_api, connected_bot):
    created = ask(bot_api).json()
    r = bot_api.get(f"{APPROVALS}/{created['approvalId']}")
    assert r.status_code == 200
    assert r.json()["status"] == "pending"
    assert r.json()["decidedAt"] is None


@pytest.mark.parametrize("approval_id", ["not-a-uuid", "5f0e1d7a-0000-4000-8000-000000000000"])
def test_an_unknown_approval_is_404(bot_api, connected_bot, approval_id):
    r = bot_api.get(f"{APPROVALS}/{approval_id}")
    assert r.status_code == 404
    assert r.json()["error"] == "not_found"


def test_another_bots_approval_is_404(bot_api, connected_bot, api_key_pair):
    bot_deploy(bot_id="other-bot", api_key=api_key_pair[0])
    bot_set_connected(bot_id="other-bot", connected=True)
    other = bot_api.post("/api/v1/bots/other-bot/approvals", refund()).json()
    r = bot_api.get(f"{APPROVALS}/{other['approvalId']}")
    assert r.status_code == 404


def test_wait_out_of_range_is_422(bot_api, connected_bot):
    created = ask(bot_api).json()
    r = bot_api.get(f"{APPROVALS}/{created['approvalId']}?wait=31")
    assert r.status_code == 422
    assert "wait" in r.json()["fields"]


# --- the decision reaches the bot -------------------------------------------------------------


def test_an_approval_with_changes_reaches_the_bot_as_an_event(bot_api, connected_bot, agent):
    agent.user_permissions.add(Permission.objects.get(codename="decide_approval"))
    created = ask(bot_api, conversationId="conv-1").json()
    approval = Approval.objects.get()
    services.approval_decide(
        approval_id=approval.pk, agent=agent, approve=True,
        arguments={"orderId": "991", "amount": 25, "currency": "USD"},
    )
    [event] = events(bot_api)
    assert event["type"] == "approvalDecided"
    assert event["approvalId"] == created["approvalId"]
    assert event["requestId"] == "req-1"
    assert event["action"] == "refund"
    assert event["decision"] == "approved"
    assert event["arguments"] == {"orderId": "991", "amount": 25, "currency": "USD"}
    assert event["edited"] is True
    assert event["agentName"] == "Maya Lopez"
    assert event["conversationId"] == "conv-1"
    assert event["decidedAt"].endswith("Z")
    assert "reason" not in event and "ticketId" not in event
    read = bot_api.get(f"{APPROVALS}/{created['approvalId']}").json()
    assert read["status"] == "approved"
    assert read["arguments"]["amount"] == 25
    assert read["originalArguments"]["amount"] == 40
    assert read["edited"] is True
    assert read["agentName"] == "Maya Lopez"


def test_a_rejection_carries_the_reason_and_the_ticket(bot_api, connected_bot, admin_user):
    from desk.services import start_hitl

    ticket, _ = start_hitl(bot=connected_bot, conversation_id="conv-1")
    ask(bot_api, conversationId="conv-1")
    services.approval_decide(approval_id=Approval.objects.get().pk, agent=admin_user,
                             approve=False, reason="Refunds over $30 need a photo.")
    [event] = events(bot_api)
    assert event["decision"] == "rejected"
    assert event["reason"] == "Refunds over $30 need a photo."
    assert event["arguments"] == {"orderId": "991", "amount": 40, "currency": "USD"}
    assert event["edited"] is False
    assert event["ticketId"] == str(ticket.public_id)
    assert event["ticketNumber"] == ticket.number


def test_an_approval_as_asked_is_not_edited(bot_api, connected_bot, admin_user):
    ask(bot_api)
    services.approval_decide(approval_id=Approval.objects.get().pk, agent=admin_user,
                             approve=True)
    [event] = events(bot_api)
    assert event["decision"] == "approved" and event["edited"] is False
    assert event["agentName"] == "Alex Admin"
    assert "conversationId" not in event


# --- cancelling ------------------------------------------------------------------------------


def test_the_bot_withdraws_its_request(bot_api, connected_bot):
    created = ask(bot_api).json()
    r = bot_api.post(f"{APPROVALS}/{created['approvalId']}/cancel")
    assert r.status_code == 200
    assert r.json()["status"] == "cancelled"
    [event] = events(bot_api)
    assert event["decision"] == "cancelled"
    assert "agentName" not in event
    again = bot_api.post(f"{APPROVALS}/{created['approvalId']}/cancel")
    assert again.status_code == 200
    assert len(events(bot_api)) == 1  # nothing new


def test_a_decided_approval_cannot_be_withdrawn(bot_api, connected_bot, admin_user):
    created = ask(bot_api).json()
    services.approval_decide(approval_id=Approval.objects.get().pk, agent=admin_user,
                             approve=True)
    r = bot_api.post(f"{APPROVALS}/{created['approvalId']}/cancel")
    assert r.status_code == 409
    assert r.json()["error"] == "already_decided"
    assert r.json()["message"] == "Alex Admin approved this."
    assert Approval.objects.get().status == "approved"
    assert Event.objects.count() == 1


def test_cancelling_an_unknown_approval_is_404(bot_api, connected_bot):
    r = bot_api.post(f"{APPROVALS}/5f0e1d7a-0000-4000-8000-000000000000/cancel")
    assert r.status_code == 404


def test_the_endpoints_are_in_the_openapi_document(client):
    paths = client.get("/api/v1/openapi.json").json()["paths"]
    assert "post" in paths["/api/v1/bots/{botId}/approvals"]
    assert "get" in paths["/api/v1/bots/{botId}/approvals/{approvalId}"]
    assert "post" in paths["/api/v1/bots/{botId}/approvals/{approvalId}/cancel"]


@pytest.mark.parametrize(
    "field, value",
    [("title", "Refund\u0000"), ("summary", "a\u0000b"), ("requestId", "r\u0000"),
     ("action", "refund\u0000"), ("conversationId", "c\u0000")],
)
def test_a_nul_character_in_a_text_field_is_422(bot_api, connected_bot, field, value):
    r = ask(bot_api, **{field: value})
    assert r.status_code == 422
    assert field in r.json()["fields"]
    assert not Approval.objects.exists()


def test_an_unpaired_surrogate_in_the_arguments_is_422(bot_api, connected_bot):
    body = json.dumps(refund(argumentsSchema=None)).replace('"991"', '"\\ud800"')
    r = bot_api.post(APPROVALS, body)
    assert r.status_code == 422
    assert "arguments.orderId" in r.json()["fields"]
