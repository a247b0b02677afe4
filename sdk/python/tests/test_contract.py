"""The SDK covers Desk's bot API as its OpenAPI document describes it, read from a running
Desk (/api/v1/openapi.json, generated from the app's ninja API object).

It fails when Desk has an operation the SDK lacks, a request field or query parameter
a method cannot send, an answer field or event type the models do not name, or when
the SDK calls an operation Desk no longer has.
"""

from __future__ import annotations

import inspect
import re

import httpx
import pytest
from pydantic.alias_generators import to_snake

from desk_sdk import (
    Approval,
    AsyncDesk,
    Bot,
    BotStats,
    Desk,
    DeskFile,
    EventPage,
    Rating,
    StoredMessage,
    Ticket,
)
from desk_sdk.models import EVENT_TYPES, Event

pytestmark = pytest.mark.slow

# Each answer schema of the document → the SDK model that reads it.
ANSWER_MODELS = {"BotOut": Bot, "TicketOut": Ticket, "StartHitlOut": Ticket,
                 "MessageOut": StoredMessage, "EventsOut": EventPage, "ApprovalOut": Approval,
                 "StatsOut": BotStats,
                 "RatingOut": Rating, "FileOut": DeskFile}


@pytest.fixture(scope="module")
def document(desk_server) -> dict:
    answer = httpx.get(f"{desk_server.url}/api/v1/openapi.json", timeout=30)
    answer.raise_for_status()
    return answer.json()


def operations(document: dict) -> dict[tuple[str, str], dict]:
    found = {}
    for path, item in document["paths"].items():
        path = re.sub(r"\{[^{}:]+:([^{}]+)\}", r"{\1}", path)  # {conversation:id} → {id}
        for method, operation in item.items():
            if method in ("get", "put", "post", "patch", "delete"):
                found[(method.upper(), path)] = operation
    return found


def resolve(document: dict, schema: dict) -> dict:
    while "$ref" in schema:
        schema = document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def model_names(model) -> set[str]:
    return {field.alias or name for name, field in model.model_fields.items()}


def test_every_operation_of_desks_document_has_a_method(document):
    missing = [
        f"{method} {path} ({operation.get('summary')})"
        for (method, path), operation in operations(document).items()
        if (method, path) not in Desk.OPERATIONS
    ]
    assert not missing, f"the SDK lacks these operations of Desk's bot API: {missing}"
    gone = set(Desk.OPERATIONS) - set(operations(document))
    assert not gone, f"the SDK calls operations Desk does not have: {gone}"
    for name in Desk.OPERATIONS.values():
        assert callable(getattr(Desk, name, None)) and callable(getattr(AsyncDesk, name, None))
        assert inspect.iscoroutinefunction(getattr(AsyncDesk, name)), name


def test_every_request_field_and_parameter_can_be_sent(document):
    for (method, path), operation in operations(document).items():
        name = Desk.OPERATIONS.get((method, path))
        if name is None:
            continue  # reported by the test above
        for client in (Desk, AsyncDesk):
            accepted = set(inspect.signature(getattr(client, name)).parameters)
            wanted = {p["name"] for p in operation.get("parameters", []) if p["in"] != "header"}
            body = operation.get("requestBody", {}).get("content", {}).get("application/json")
            if body:
                wanted |= set(resolve(document, body["schema"]).get("properties", {}))
            wanted -= {"botId"}  # the client's own bot
            lacking = {to_snake(field) for field in wanted} - accepted
            assert not lacking, f"{client.__name__}.{name} cannot send {sorted(lacking)}"


def test_every_answer_field_is_in_the_models(document):
    for operation in operations(document).values():
        for status, answer in operation["responses"].items():
            if not status.startswith("2"):
                continue
            schema_ref = answer["content"]["application/json"]["schema"]["$ref"]
            schema_name = schema_ref.rsplit("/", 1)[1]
            assert schema_name in ANSWER_MODELS, f"no SDK model reads {schema_name}"
            model = ANSWER_MODELS[schema_name]
            fields = set(resolve(document, {"$ref": schema_ref})["properties"])
            lacking = fields - model_names(model)
            assert not lacking, f"{model.__name__} lacks {sorted(lacking)} of {schema_name}"


def test_every_event_type_and_field_is_in_the_models(document):
    schema = document["components"]["schemas"]["EventOut"]
    types = set(schema["properties"]["type"].get("enum", []))
    assert types, "the document no longer lists the event types"
    assert types <= set(EVENT_TYPES), f"no model for events {sorted(types - set(EVENT_TYPES))}"
    known = set().union(model_names(Event), *(model_names(m) for m in EVENT_TYPES.values()))
    lacking = set(schema["properties"]) - known
    assert not lacking, f"the event models lack {sorted(lacking)}"
