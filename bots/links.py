"""The URLs Desk gives bots for its files and its agents' avatars.

A file Desk keeps is written `desk-file:<hex id>/<name>` wherever it is stored for a bot
(a message's payload, an event's text); `resolve_file_links` turns each into a signed URL
that works for DESK_FILE_URL_TTL_SECONDS, at the moment the bot reads it (a webhook
delivered late, a long-poll hours later), so a link in an event never arrives expired.
A signed URL names the file and its expiry, with an HMAC of both under the SECRET_KEY:
a guessed, altered or expired one is refused (404).

Avatar URLs are signed the same way without an expiry: a channel shows them to end users
for as long as the conversation lasts. Their version changes with the picture.
"""

from __future__ import annotations

import re
import time
from urllib.parse import quote, unquote, urlsplit

from django.conf import settings
from django.core import signing
from django.utils.crypto import constant_time_compare

FILE_LINK = re.compile(r"desk-file:([0-9a-f]{32})(?:/([^\s\"'<>]*))?")
_files = signing.Signer(salt="desk.files")
_avatars = signing.Signer(salt="desk.avatars")


def public_url() -> str:
    """Desk's address as bots reach it, without a trailing slash."""
    return (settings.DESK_PUBLIC_URL or "http://testserver").rstrip("/")


def public_origin() -> str:
    parts = urlsplit(public_url())
    return f"{parts.scheme}://{parts.netloc}".lower()


def file_link(file_hex: str, name: str) -> str:
    """The placeholder stored for a bot: `desk-file:<hex>/<name>`."""
    return f"desk-file:{file_hex}/{quote(name, safe='')}"


def file_path(file_hex: str, name: str) -> str:
    """The path agents open (their session lets them in)."""
    return f"/files/{_dashed(file_hex)}/{quote(name, safe='')}"


def _dashed(file_hex: str) -> str:
    h = file_hex.replace("-", "")
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def file_signature(file_hex: str, expires: int) -> str:
    return _files.signature(f"{file_hex.replace('-', '')}:{expires}")


def signed_file_url(file_hex: str, name: str, *, now: float | None = None) -> str:
    """An absolute URL of the file that works for DESK_FILE_URL_TTL_SECONDS."""
    expires = int((now or time.time()) + settings.DESK_FILE_URL_TTL_SECONDS)
    signature = file_signature(file_hex, expires)
    return f"{public_url()}{file_path(file_hex, name)}?expires={expires}&signature={signature}"


def signature_valid(file_hex: str, expires: str, signature: str) -> bool:
    """A signed URL's query, checked: made by this Desk for this file, not yet expired."""
    try:
        until = int(expires)
    except (TypeError, ValueError):
        return False
    if until < time.time():
        return False
    return constant_time_compare(file_signature(file_hex, until), signature or "")


def resolve_file_links(value):
    """`value` (a JSON-like structure) with every `desk-file:` placeholder in its strings
    replaced by a signed URL of that file."""
    if isinstance(value, str):
        if "desk-file:" not in value:
            return value
        now = time.time()
        return FILE_LINK.sub(
            lambda m: signed_file_url(m.group(1), unquote(m.group(2) or "file"), now=now),
            value,
        )
    if isinstance(value, dict):
        return {key: resolve_file_links(item) for key, item in value.items()}
    if isinstance(value, list):
        return [resolve_file_links(item) for item in value]
    return value


# --- avatars ------------------------------------------------------------------------


def avatar_token(agent_id: int, version: str) -> str:
    return _avatars.signature(f"{agent_id}:{version}")[:22]


def avatar_url(agent_id: int, version: str) -> str:
    """The agent's avatar, absolute, signed, never expiring; a new picture is a new URL."""
    return f"{public_url()}/avatars/{agent_id}/{version}/{avatar_token(agent_id, version)}.png"


def avatar_token_valid(agent_id: int, version: str, token: str) -> bool:
    return constant_time_compare(avatar_token(agent_id, version), token)
