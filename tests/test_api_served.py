"""The bot API as a real server answers it: `manage.py serve` (daphne, DEBUG on as in
`make run`), over HTTP. Daphne decodes `%2F` before Django routes the path, so a
conversation id with a `/` is only proven reachable here; and no error, wherever it
arises, comes back as an HTML page or a traceback."""

import json
import urllib.error
import urllib.request
from urllib.parse import quote

import pytest

from tests.processes import BotSide, DeskServer, desk_env, manage

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("served")
    env = desk_env(SQLITE_PATH=str(tmp / "desk.sqlite3"), DESK_VAR_DIR=str(tmp))
    manage(env, "migrate", "--noinput")
    key = manage(env, "create_api_key", "served test").strip().splitlines()[-1]
    server = DeskServer("desk", env, tmp)
    server.start()
    try:
        bot = BotSide(server.url, key, "served-bot")
        bot.deploy(name="Served bot")
        manage(env, "connect_bot", "served-bot")
        yield bot
    finally:
        server.stop()


def send(bot: BotSide, method: str, path: str, body: bytes | None = None):
    """(status, content type, text) of one raw call to the bot's part of the API."""
    request = urllib.request.Request(
        f"{bot.base_url}/api/v1/bots/{bot.bot_id}{path}", data=body, method=method,
        headers={"Authorization": f"Bearer {bot.key}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.headers["Content-Type"], response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers["Content-Type"], exc.read().decode()


@pytest.mark.parametrize("conversation_id", ["team/42", "a/../b", "x?y#z&%2F", "line\nbreak"])
def test_a_conversation_id_with_a_slash_is_reached_percent_encoded(served, conversation_id):
    assert served.start_hitl(conversationId=conversation_id)[0] == 201
    path = f"/conversations/{quote(conversation_id, safe='')}/messages"
    status, _, text = send(served, "POST", path, json.dumps({"text": "hi"}).encode())
    assert status == 202, text
    assert json.loads(text)["conversationId"] == conversation_id


@pytest.mark.parametrize(
    "method, path, body, status, code",
    [
        ("POST", "/conversations/c/messages/extra", b"{}", 404, "not_found"),
        ("GET", "/../../v9/nothing", None, 404, "not_found"),
        ("GET", "/startHitl", None, 405, "method_not_allowed"),
        ("DELETE", "", None, 405, "method_not_allowed"),
        (
            "POST", "/startHitl",
            json.dumps({"conversationId": "c", "messageHistory": [
                {"role": "user", "text": "hi", "createdAt": "0001-01-01T00:00:00+14:00"}
            ]}).encode(),
            422, "invalid",
        ),
        ("POST", "/startHitl", b"[" * 100_000 + b"]" * 100_000, 422, "invalid"),
        ("POST", "/startHitl", json.dumps({"conversationId": "c\x00"}).encode(), 422, "invalid"),
    ],
)
def test_every_error_is_json_in_the_error_shape(served, method, path, body, status, code):
    got, content_type, text = send(served, method, path, body)
    assert (got, content_type.split(";")[0]) == (status, "application/json"), text
    assert json.loads(text)["error"] == code
    assert "Traceback" not in text and "site-packages" not in text
