"""Desk's signed webhooks: `verify_webhook` checks one request and returns its typed event.

Desk signs `{Desk-Timestamp}.{raw body}` with HMAC-SHA256 keyed with the bot's
webhook secret (`Bot.webhook_secret`, the answer to deploy) and sends
`Desk-Signature: v1=<hex>`. The check runs over the raw bytes, before any parsing,
and refuses timestamps older (or newer) than `tolerance` seconds, so a captured
request cannot be replayed later. Ready receivers built on it:
`desk_sdk.django.webhook_view`, `desk_sdk.asgi.WebhookApp`, `desk_sdk.wsgi.WebhookApp`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from desk_sdk.errors import InvalidWebhook
from desk_sdk.models import Event, parse_event

SIGNATURE_HEADER = "Desk-Signature"
TIMESTAMP_HEADER = "Desk-Timestamp"
TOLERANCE = 300

# The secret, or a function that reads it when a request arrives (e.g. from a database).
Secret = str | Callable[[], str]
Headers = Mapping[str, str] | Iterable[tuple[Any, Any]]


def header(headers: Headers, name: str) -> str:
    """A header's value, whatever the case of its name: from a mapping (Django's
    `request.headers`, a dict), ASGI's list of byte pairs, or a WSGI environ."""
    wanted = name.lower()
    if isinstance(headers, Mapping):
        environ_key = "HTTP_" + name.upper().replace("-", "_")
        if environ_key in headers:
            return str(headers[environ_key])
        pairs: Iterable[tuple[Any, Any]] = headers.items()
    else:
        pairs = headers
    for key, value in pairs:
        key = key.decode("latin-1") if isinstance(key, bytes) else str(key)
        if key.lower() == wanted:
            return value.decode("latin-1") if isinstance(value, bytes) else str(value)
    return ""


def sign(secret: str, timestamp: int | str, raw_body: bytes) -> str:
    """The `Desk-Signature` value Desk sends for this body at this time."""
    mac = hmac.new(secret.encode(), str(timestamp).encode() + b"." + raw_body, hashlib.sha256)
    return "v1=" + mac.hexdigest()


def verify_webhook(
    secret: Secret,
    headers: Headers,
    raw_body: bytes,
    *,
    tolerance: int = TOLERANCE,
    now: float | None = None,
) -> Event:
    """The event of a genuine Desk webhook request; `InvalidWebhook` for anything else
    (no or wrong signature, a timestamp more than `tolerance` seconds away, not an event).
    Several secrets may be valid during a rotation: pass a function that returns the
    current one, or call this once per secret."""
    secret = secret() if callable(secret) else secret
    if not secret:
        raise InvalidWebhook("No webhook secret is configured: deploy the bot first.")
    timestamp = header(headers, TIMESTAMP_HEADER).strip()
    signature = header(headers, SIGNATURE_HEADER).strip()
    if not timestamp.isdigit() or not signature:
        raise InvalidWebhook("The request has no Desk-Timestamp or Desk-Signature header.")
    now = time.time() if now is None else now
    if abs(now - int(timestamp)) > tolerance:
        raise InvalidWebhook(
            f"The Desk-Timestamp is more than {tolerance} s away from now: refused as a replay."
        )
    if not hmac.compare_digest(sign(secret, timestamp, raw_body), signature):
        raise InvalidWebhook("The Desk-Signature does not match the body and the secret.")
    try:
        data = json.loads(raw_body)
    except ValueError as exc:
        raise InvalidWebhook("The body is not JSON.", status=400) from exc
    if not isinstance(data, dict):
        raise InvalidWebhook("The body is not an event object.", status=400)
    try:
        return parse_event(data)
    except ValueError as exc:
        raise InvalidWebhook(f"The body is not a Desk event: {exc}", status=400) from exc


def refusal(error: InvalidWebhook) -> tuple[int, bytes]:
    """What a receiver answers to a request that is not a genuine event."""
    body = json.dumps({"error": error.code, "message": error.message}).encode()
    return error.status, body
