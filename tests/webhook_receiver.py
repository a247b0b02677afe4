"""A real webhook receiver for the tests: an HTTP server on 127.0.0.1 that checks signatures.

It verifies each POST the way docs/webhooks.md tells a bot developer to, records
what arrived, and can be taken down and brought back on the same port, answer
errors (with a body of any size, streamed), hang, or answer slowly in parts.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import socket
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest


def verify(secret: str, headers, body: bytes, tolerance: int = 300) -> bool:
    """The check from docs/webhooks.md, as a bot developer writes it."""
    timestamp = headers.get("Desk-Timestamp", "")
    signature = headers.get("Desk-Signature", "")
    if not timestamp.isdigit() or abs(time.time() - int(timestamp)) > tolerance:
        return False
    expected = hmac.new(
        secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256
    ).hexdigest()
    return hmac.compare_digest(f"v1={expected}", signature)


@dataclass
class Delivery:
    headers: dict[str, str]
    body: bytes
    signature_ok: bool

    @property
    def event(self) -> dict:
        return json.loads(self.body)


@dataclass
class Receiver:
    secret: str = ""
    port: int = 0
    deliveries: list[Delivery] = field(default_factory=list)
    fail_next: int = 0  # answer 500 to this many more requests
    delay: float = 0.0  # seconds to take before answering
    body_delay: float = 0.0  # seconds between the answer's headers and its body
    error_body: bytes = b""  # the body of a 500, with…
    error_reason: str | None = None  # …this reason phrase instead of the standard one
    error_body_size: int = 0  # or a body of this many bytes, made as it is sent
    bytes_sent: int = 0  # body bytes of answers that Desk took from the socket
    in_flight: int = 0
    max_in_flight: int = 0
    _server: ThreadingHTTPServer | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    verify = staticmethod(verify)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks/desk"

    @property
    def events(self) -> list[dict]:
        """The events acknowledged with 2xx, in arrival order."""
        return [d.event for d in self.deliveries if d.headers.get("_status") == "200"]

    def start(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with receiver._lock:
                    receiver.in_flight += 1
                    receiver.max_in_flight = max(receiver.max_in_flight, receiver.in_flight)
                try:
                    if receiver.delay:
                        time.sleep(receiver.delay)
                    ok = verify(receiver.secret, self.headers, body)
                    with receiver._lock:
                        failing = receiver.fail_next > 0
                        if failing:
                            receiver.fail_next -= 1
                    status = 401 if not ok else 500 if failing else 200
                    headers = dict(self.headers.items()) | {"_status": str(status)}
                    with receiver._lock:
                        receiver.deliveries.append(Delivery(headers, body, ok))
                    if status == 500:
                        self.answer_error()
                    else:
                        self.send_response(status)
                        if receiver.body_delay:
                            self.send_header("Content-Length", "3")
                            self.end_headers()
                            self.wfile.flush()
                            time.sleep(receiver.body_delay)
                            self.wfile.write(b"ok\n")
                        else:
                            self.end_headers()
                finally:
                    with receiver._lock:
                        receiver.in_flight -= 1

            def answer_error(self) -> None:
                size = receiver.error_body_size or len(receiver.error_body)
                self.send_response(500, receiver.error_reason)
                self.send_header("Content-Length", str(size))
                self.end_headers()
                chunk = receiver.error_body or b"x" * (1 << 20)
                left = size
                try:
                    while left > 0:
                        part = chunk[:left]
                        self.wfile.write(part)
                        left -= len(part)
                        with receiver._lock:
                            receiver.bytes_sent += len(part)
                except OSError:  # Desk hung up: it read what it wanted
                    self.close_connection = True

            def log_message(self, *args) -> None:
                pass

        if not self.port:
            with socket.socket() as s:
                s.bind(("127.0.0.1", 0))
                self.port = s.getsockname()[1]
        ThreadingHTTPServer.allow_reuse_address = True
        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def use_tls(self, context) -> None:
        """Answer HTTPS from now on, with this server-side ssl.SSLContext."""
        self._server.socket = context.wrap_socket(self._server.socket, server_side=True)

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def wait_for(self, count: int, timeout: float = 10) -> list[dict]:
        """Wait until `count` events were acknowledged; them."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if len(self.events) >= count:
                return self.events
            time.sleep(0.02)
        raise AssertionError(
            f"{len(self.events)} of {count} events arrived: {[e['type'] for e in self.events]}"
        )


@pytest.fixture
def receiver():
    receiver = Receiver().start()
    yield receiver
    receiver.stop()


@pytest.fixture
def more_receivers():
    """Start more receivers: more_receivers() → a started Receiver, stopped after the test."""
    started: list[Receiver] = []

    def start() -> Receiver:
        started.append(Receiver().start())
        return started[-1]

    yield start
    for one in started:
        one.stop()


@pytest.fixture
def fast_retries(settings):
    """Backoff in tenths of a second instead of seconds to an hour."""
    settings.DESK_WEBHOOK_RETRY_BASE_SECONDS = 0.05
    settings.DESK_WEBHOOK_RETRY_MAX_SECONDS = 0.4
    settings.DESK_WORKER_INTERVAL_SECONDS = 0.05
    return settings


@pytest.fixture
def worker(transactional_db, fast_retries):
    """The task worker Desk embeds in `manage.py serve`, on a thread."""
    from bots.worker import EmbeddedWorker

    worker = EmbeddedWorker(interval=0.05).start()
    yield worker
    worker.stop()
