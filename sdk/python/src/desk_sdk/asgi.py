"""A ready webhook receiver as a plain ASGI app: `WebhookApp(secret, handler)`.

Serve it alone (`uvicorn module:app`) or mount it in Starlette or FastAPI:

    app.mount("/desk/webhook", WebhookApp(SECRET, on_event))

It verifies the signature over the raw body (401 when it is wrong, nothing handled),
calls `handler(event)` (awaited when it is `async def`, else run in a thread) and
answers 200; when the handler raises it answers 500, and Desk delivers the event
again later.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from desk_sdk.errors import InvalidWebhook
from desk_sdk.models import Event
from desk_sdk.webhooks import TOLERANCE, Secret, refusal, verify_webhook

logger = logging.getLogger("desk_sdk.webhooks")

MAX_BODY = 1024 * 1024  # Desk's events are a few KiB; anything bigger is not one.


class WebhookApp:
    def __init__(
        self,
        secret: Secret,
        handler: Callable[[Event], Any] | Callable[[Event], Awaitable[Any]],
        *,
        tolerance: int = TOLERANCE,
    ) -> None:
        self.secret, self.handler, self.tolerance = secret, handler, tolerance

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] != "http":
            return
        if scope["method"] != "POST":
            await _answer(send, 405, {"error": "method_not_allowed", "message": "POST only."},
                          [(b"allow", b"POST")])
            return
        body = bytearray()
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body += message.get("body", b"")
            if len(body) > MAX_BODY:
                await _answer(send, 413, {"error": "too_large", "message": "Body too large."})
                return
            if not message.get("more_body"):
                break
        try:
            event = verify_webhook(self.secret, scope["headers"], bytes(body),
                                   tolerance=self.tolerance)
        except InvalidWebhook as error:
            logger.warning("refused a webhook request: %s", error.message)
            status, raw = refusal(error)
            await _answer(send, status, raw)
            return
        try:
            if inspect.iscoroutinefunction(self.handler):
                await self.handler(event)
            else:
                await asyncio.to_thread(self.handler, event)
        except Exception:
            logger.exception("the webhook handler failed on event %s", event.id)
            await _answer(send, 500, {"error": "handler_failed", "message": "Try again."})
            return
        await _answer(send, 200, {"ok": True})


async def _answer(send: Callable, status: int, body: dict | bytes,
                  headers: list[tuple[bytes, bytes]] | None = None) -> None:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    await send({
        "type": "http.response.start",
        "status": status,
        "headers": [(b"content-type", b"application/json"),
                    (b"content-length", str(len(raw)).encode()), *(headers or [])],
    })
    await send({"type": "http.response.body", "body": raw})
