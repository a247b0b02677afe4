"""The bot API fuzzed from its own OpenAPI document (schemathesis): whatever a bot sends,
no 5xx, and every answer (status code, content type, body) is one the document promises."""

import pytest
import schemathesis
from django.core.cache import cache
from django.core.wsgi import get_wsgi_application
from hypothesis import HealthCheck, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from bots.services import api_key_create, bot_deploy, bot_set_connected
from desk.services import start_hitl

schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", get_wsgi_application())
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@pytest.fixture
def workspace(settings):
    """A connected bot with an open ticket, so generated calls reach past the 404s."""
    settings.DESK_API_RATE_LIMIT = None
    settings.DESK_LONG_POLL_RECHECK_SECONDS = 0.05
    cache.clear()
    key, plain = api_key_create(name="fuzz", workspace_wide=True)
    bot, _ = bot_deploy(bot_id="fuzz-bot", api_key=key, name="Fuzz")
    bot = bot_set_connected(bot_id="fuzz-bot", connected=True)
    start_hitl(bot=bot, conversation_id="conv-1")
    return plain


@schema.parametrize()
@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@pytest.mark.django_db(transaction=True)
def test_the_bot_api_answers_every_generated_call_as_documented(case, workspace):
    case.headers = {**(case.headers or {}), "Authorization": f"Bearer {workspace}"}
    path = case.path_parameters or {}
    # Half the calls aim at the real bot and conversation, the rest at generated ids.
    if "botId" in path and hash(repr(case.body)) % 2 == 0:
        path["botId"] = "fuzz-bot"
        if "conversationId" in path:
            path["conversationId"] = "conv-1"
    if case.query and "wait" in case.query:
        case.query["wait"] = 0  # a long-poll that waits adds time, not coverage
    case.call_and_validate(checks=CHECKS)
