"""A ready webhook receiver as a plain WSGI app: `WebhookApp(secret, handler)`.

Serve it alone, or mount it beside a Flask app with werkzeug's dispatcher:

    from werkzeug.middleware.dispatcher import DispatcherMiddleware
    receiver = WebhookApp(SECRET, on_event)
    app.wsgi_app = DispatcherMiddleware(app.wsgi_app, {"/desk/webhook": receiver})

It verifies the signature over the raw body (401 when it is wrong, nothing handled),
calls `handler(event)` and answers 200; when the handler raises it answers 500, and
Desk delivers the event again later.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable
from typing import Any

from desk_sdk.errors import InvalidWebhook
from desk_sdk.models import Event
from desk_sdk.webhooks import TOLERANCE, Secret, refusal, verify_webhook

logger = logging.getLogger("desk_sdk.webhooks")

MAX_BODY = 1024 * 1024

REASONS = {200: "OK", 400: "Bad Request", 401: "Unauthorized", 405: "Method Not Allowed",
           413: "Payload Too Large", 500: "Internal Server Error"}


class WebhookApp:
    def __init__(
        self, secret: Secret, handler: Callable[[Event], Any], *, tolerance: int = TOLERANCE
    ) -> None:
        self.secret, self.handler, self.tolerance = secret, handler, tolerance

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        def answer(status: int, body: dict | bytes, *headers: tuple[str, str]) -> list[bytes]:
            raw = body if isinstance(body, bytes) else json.dumps(body).encode()
            start_response(f"{status} {REASONS.get(status, '')}".strip(), [
                ("Content-Type", "application/json"), ("Content-Length", str(len(raw))),
                *headers,
            ])
            return [raw]

        if environ.get("REQUEST_METHOD") != "POST":
            return answer(405, {"error": "method_not_allowed", "message": "POST only."},
                          ("Allow", "POST"))
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > MAX_BODY:
            return answer(413, {"error": "too_large", "message": "Body too large."})
        body = environ["wsgi.input"].read(length) if length else b""
        headers = {key: value for key, value in environ.items() if key.startswith("HTTP_")}
        try:
            event = verify_webhook(self.secret, headers, body, tolerance=self.tolerance)
        except InvalidWebhook as error:
            logger.warning("refused a webhook request: %s", error.message)
            status, raw = refusal(error)
            return answer(status, raw)
        try:
            self.handler(event)
        except Exception:
            logger.exception("the webhook handler failed on event %s", event.id)
            return answer(500, {"error": "handler_failed", "message": "Try again."})
        return answer(200, {"ok": True})
