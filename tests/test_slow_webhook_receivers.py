"""Slow webhook receivers cost each try at most the webhook timeout, and delay nothing else.

A real `manage.py serve` (the embedded worker, two delivery threads) and three bots
whose receivers answer 200, then send their body one byte a second for ever: more
slow receivers than threads. Every try is cut at DESK_WEBHOOK_TIMEOUT_SECONDS and
retried, another bot's event still arrives at once, and an assignment timeout
still closes its ticket when it is due.
"""

from __future__ import annotations

import select
import socket
import threading
import time
from datetime import datetime

import pytest

from tests.processes import BotSide, DeskServer, WebhookReceiver, desk_env, manage, wait_for

pytestmark = pytest.mark.slow

TIMEOUT = 2  # DESK_WEBHOOK_TIMEOUT_SECONDS
THREADS = 2  # DESK_EMBEDDED_WORKER_THREADS
SLOW_BOTS = [f"slow-{n}" for n in range(THREADS + 1)]
ASSIGNMENT_TIMEOUT = 3


class TricklingReceiver:
    """Answers every POST with 200 and a megabyte-long body, sent one byte a second
    for as long as the client stays; notes when each try began and when Desk hung up."""

    def __init__(self, interval: float = 1.0) -> None:
        self.interval = interval
        self.tries: list[dict] = []  # {"path", "attempt", "started", "ended"}
        self.lock = threading.Lock()
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        self.closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self.closed:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        with conn:
            data = b""
            while b"\r\n\r\n" not in data:
                chunk = conn.recv(65536)
                if not chunk:
                    return
                data += chunk
            head, body = data.split(b"\r\n\r\n", 1)
            lines = head.decode("latin-1").split("\r\n")
            headers = {k.lower(): v.strip() for k, _, v in (h.partition(":") for h in lines[1:])}
            while len(body) < int(headers.get("content-length", 0)):
                body += conn.recv(65536)
            one = {"path": lines[0].split()[1], "attempt": headers.get("desk-delivery-attempt"),
                   "started": time.monotonic(), "ended": None}
            with self.lock:
                self.tries.append(one)
            try:
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
                             b"Content-Length: 1000000\r\n\r\n")
                while not self.closed:
                    conn.sendall(b".")
                    readable, _, _ = select.select([conn], [], [], self.interval)
                    if readable and not conn.recv(65536):
                        break  # Desk hung up
            except OSError:
                pass
            one["ended"] = time.monotonic()

    def finished(self, path: str) -> list[dict]:
        with self.lock:
            return [t for t in self.tries if t["path"] == path and t["ended"] is not None]

    def close(self) -> None:
        self.closed = True
        self.listener.close()


def parse_time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def test_slow_receivers_hold_a_try_for_the_timeout_at_most_and_delay_nothing_else(tmp_path):
    env = desk_env(
        SQLITE_PATH=str(tmp_path / "desk.sqlite3"),
        DESK_VAR_DIR=str(tmp_path),
        DESK_API_RATE_LIMIT="",
        DESK_WEBHOOK_TIMEOUT_SECONDS=str(TIMEOUT),
        DESK_EMBEDDED_WORKER_THREADS=str(THREADS),
        DESK_WEBHOOK_RETRY_BASE_SECONDS="1",
        DESK_WEBHOOK_RETRY_MAX_SECONDS="2",
    )
    manage(env, "migrate", "--noinput")
    key = manage(env, "create_api_key", "slow receivers").strip().splitlines()[-1]
    slow, fine = TricklingReceiver(), WebhookReceiver()
    server = DeskServer("desk", env, tmp_path)
    server.start()
    try:
        bots = {b: BotSide(server.url, key, b) for b in [*SLOW_BOTS, "fine", "timer"]}
        for bot_id in SLOW_BOTS:
            bots[bot_id].deploy(name=bot_id, webhookUrl=f"{slow.url}/{bot_id}")
        bots["fine"].deploy(name="Fine", webhookUrl=fine.url)
        bots["timer"].deploy(name="Timer", agentAssignedTimeoutSeconds=ASSIGNMENT_TIMEOUT)
        manage(env, "shell", "-c", "from bots.services import bot_set_connected\n"
               f"for bot_id in {list(bots)!r}: bot_set_connected(bot_id=bot_id, connected=True)")

        # Each slow bot gets an event; all the delivery threads are soon held by them.
        for bot_id in SLOW_BOTS:
            assert bots[bot_id].start_hitl(conversationId="c")[0] == 201
            assert bots[bot_id].call("POST", "/stopHitl", {"conversationId": "c"})[0] == 200
        wait_for(lambda: len(slow.tries) >= THREADS, timeout=10, what="the slow receivers' tries")

        # An assignment timeout falls due while every delivery thread waits on a slow bot.
        status, ticket = bots["timer"].start_hitl(conversationId="t")
        assert status == 201
        due = parse_time(ticket["createdAt"]).timestamp() + ASSIGNMENT_TIMEOUT

        # Another bot's event.
        assert bots["fine"].start_hitl(conversationId="f")[0] == 201
        assert bots["fine"].call("POST", "/stopHitl", {"conversationId": "f"})[0] == 200
        sent = time.monotonic()
        wait_for(lambda: fine.events("f"), timeout=3 * TIMEOUT, interval=0.02,
                 what="the fine bot's event")
        fine_delay = time.monotonic() - sent

        status, answer = bots["timer"].call("GET", "/events?wait=15")
        assert status == 200
        [stopped] = answer["events"]
        assert (stopped["type"], stopped["reason"]) == ("hitlStopped", "timeout")
        timer_late = parse_time(stopped["createdAt"]).timestamp() - due

        # Each slow bot is tried again and again, every try cut at the timeout.
        wait_for(lambda: all(len(slow.finished(f"/{b}")) >= 2 for b in SLOW_BOTS),
                 timeout=8 * TIMEOUT, what="two finished tries per slow bot")
        held = [t["ended"] - t["started"] for b in SLOW_BOTS for t in slow.finished(f"/{b}")]
        attempts = {b: [t["attempt"] for t in slow.finished(f"/{b}")][:2] for b in SLOW_BOTS}
    finally:
        server.stop()
        slow.close()
        fine.close()

    print(f"\ntries held {min(held):.2f}-{max(held):.2f} s (timeout {TIMEOUT} s); "
          f"other bot's event after {fine_delay:.2f} s; timeout fired {timer_late:+.2f} s")
    assert all(TIMEOUT - 0.5 < h < TIMEOUT + 0.5 for h in held), held
    assert attempts == {b: ["1", "2"] for b in SLOW_BOTS}
    assert fine_delay < TIMEOUT + 1.5
    assert -0.1 < timer_late < 2.0
