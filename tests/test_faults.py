"""Crashes lose nothing: a server killed with SIGKILL in the middle of a burst of end-user
messages still has every message it answered 2xx for, and a bot that re-sends the rest
(same messageId) gets each stored exactly once."""

import json
import threading
import time

import pytest

from tests.processes import BotSide, DeskServer, desk_env, manage

pytestmark = pytest.mark.slow


def stored_message_ids(env) -> list[str]:
    code = (
        "import json; from desk.models import Message; "
        "print(json.dumps(list(Message.objects.filter(external_id__startswith='m-')"
        ".values_list('external_id', flat=True))))"
    )
    return json.loads(manage(env, "shell", "-c", code).strip().splitlines()[-1])


def test_sigkill_during_a_burst_loses_no_acknowledged_message(tmp_path):
    env = desk_env(
        SQLITE_PATH=str(tmp_path / "desk.sqlite3"),
        DESK_VAR_DIR=str(tmp_path),
        DESK_API_RATE_LIMIT="",
    )
    manage(env, "migrate", "--noinput")
    key = manage(env, "create_api_key", "fault test").strip().splitlines()[-1]
    server = DeskServer("desk", env, tmp_path)
    server.start()
    try:
        bot = BotSide(server.url, key, "crash-bot")
        bot.deploy(name="Crash bot")
        manage(env, "connect_bot", "crash-bot")
        assert bot.start_hitl(conversationId="c-1")[0] == 201

        acknowledged: set[str] = set()
        sent: list[str] = []
        lock = threading.Lock()
        stop = threading.Event()

        def send(worker: int) -> None:
            n = 0
            while not stop.is_set() and n < 400:
                message_id = f"m-{worker}-{n}"
                with lock:
                    sent.append(message_id)
                try:
                    status, _ = bot.call(
                        "POST",
                        "/conversations/c-1/messages",
                        {"text": f"message {message_id}", "messageId": message_id},
                    )
                except OSError:
                    # The server died under this request: the bot stops sending and
                    # re-sends what it is unsure of once the server is back (below).
                    return
                if status == 202:
                    with lock:
                        acknowledged.add(message_id)
                n += 1

        threads = [threading.Thread(target=send, args=(w,)) for w in range(4)]
        for t in threads:
            t.start()
        deadline = time.monotonic() + 20
        while len(acknowledged) < 40 and time.monotonic() < deadline:
            time.sleep(0.02)
        server.kill()  # SIGKILL mid-burst
        time.sleep(0.3)
        stop.set()
        for t in threads:
            t.join(timeout=30)
        assert len(acknowledged) >= 40

        stored = stored_message_ids(env)
        assert acknowledged <= set(stored), f"lost: {sorted(acknowledged - set(stored))[:10]}"

        # The bot re-sends everything it is unsure of; each message ends up stored once.
        server.start()
        for message_id in sent:
            if message_id not in acknowledged:
                status, _ = bot.call(
                    "POST",
                    "/conversations/c-1/messages",
                    {"text": f"message {message_id}", "messageId": message_id},
                )
                assert status == 202
        stored = stored_message_ids(env)
        assert sorted(stored) == sorted(set(sent))
    finally:
        server.stop()
