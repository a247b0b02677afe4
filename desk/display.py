"""A message as the agents' transcript shows it: a list of blocks the template draws one by
one (`desk/ticket.html#block`). A display helper for fragments, outside the write path.

- a picture: its thumbnail, a link to the full size; a remote picture straight from its
  URL (the agent's browser loads it, Desk does not) unless Desk keeps a copy
  (DESK_FETCH_REMOTE_MEDIA);
- audio and video: the browser's own players;
- a file: a chip with its name, size and a type icon, a download;
- a location: its coordinates and a map link;
- cards, carousels, choices and dropdowns: as the end user saw them, buttons drawn but
  not clickable;
- markdown: rendered without raw HTML (`desk.markup`).
"""

from __future__ import annotations

from urllib.parse import unquote, urlsplit

from bots.links import FILE_LINK
from desk.content import MEDIA_FIELDS, map_url
from desk.files import agent_url, size_label, thumbnail_url
from desk.markup import render_markdown
from desk.models import Message, StoredFile

ICONS = [
    ("application/pdf", "pdf", "PDF"),
    ("image/", "image", "IMG"),
    ("audio/", "audio", "AUD"),
    ("video/", "video", "VID"),
    ("application/zip", "archive", "ZIP"),
    ("application/x-", "archive", "ARC"),
    ("application/gzip", "archive", "GZ"),
    ("application/msword", "doc", "DOC"),
    ("application/vnd.openxmlformats-officedocument.wordprocessingml", "doc", "DOC"),
    ("application/vnd.oasis.opendocument.text", "doc", "ODT"),
    ("application/rtf", "doc", "RTF"),
    ("application/vnd.ms-excel", "sheet", "XLS"),
    ("application/vnd.openxmlformats-officedocument.spreadsheetml", "sheet", "XLS"),
    ("text/csv", "sheet", "CSV"),
    ("application/vnd.ms-powerpoint", "slides", "PPT"),
    ("application/vnd.openxmlformats-officedocument.presentationml", "slides", "PPT"),
    ("text/", "text", "TXT"),
    ("application/json", "text", "JSON"),
]


def icon(content_type: str, active: bool = False) -> tuple[str, str]:
    """(icon class, short label) for a file chip."""
    if active:
        return "danger", "!"
    for prefix, name, label in ICONS:
        if content_type.startswith(prefix):
            return name, label
    return "file", "FILE"


def blocks(message: Message) -> list[dict]:
    if message.type == "text" or not message.payload:
        return [{"type": "text", "text": message.text}]
    stored = list(message.files.all())
    files = {f.public_id.hex: f for f in stored}
    copies = {f.source_url: f for f in stored if f.source_url}
    return _blocks(message.type, message.payload, files, copies)


def _blocks(kind: str, payload: dict, files: dict, copies: dict) -> list[dict]:
    match kind:
        case "text":
            return [{"type": "text", "text": payload.get("text", "")}]
        case "markdown":
            return [{"type": "markdown", "html": render_markdown(payload.get("markdown", ""))}]
        case "image" | "audio" | "video" | "file":
            return [_media(kind, payload.get(MEDIA_FIELDS[kind], ""), payload.get("title"),
                           files, copies)]
        case "location":
            lat, lon = payload.get("latitude"), payload.get("longitude")
            return [{"type": "location", "latitude": lat, "longitude": lon,
                     "title": payload.get("title", ""), "address": payload.get("address", ""),
                     "map": map_url(lat, lon)}]
        case "bloc":
            found: list[dict] = []
            for item in payload.get("items", []):
                found += _blocks(item.get("type", ""), item.get("payload", {}), files, copies)
            return found
        case "card":
            return [_card(payload, files, copies)]
        case "carousel":
            return [{"type": "carousel",
                     "cards": [_card(card, files, copies) for card in payload.get("items", [])]}]
        case "choice" | "dropdown":
            return [{"type": kind, "text": payload.get("text", ""),
                     "options": payload.get("options", [])}]
    return []


def _card(payload: dict, files: dict, copies: dict) -> dict:
    image = None
    if payload.get("imageUrl"):
        image = _media("image", payload["imageUrl"], None, files, copies)
    return {"type": "card", "title": payload.get("title", ""),
            "subtitle": payload.get("subtitle", ""), "image": image,
            "actions": payload.get("actions", [])}


def _media(kind: str, url: str, title: str | None, files: dict, copies: dict) -> dict:
    found = FILE_LINK.fullmatch(url or "")
    stored: StoredFile | None = files.get(found.group(1)) if found else copies.get(url)
    if stored is not None and kind != "file" and (stored.kind != kind or stored.active):
        stored = None if not found else stored  # a copy that is not what it claimed: link
    if stored is None:
        if found:  # a file Desk no longer has
            return {"type": "missing", "name": unquote(found.group(2) or "file")}
        name = unquote(urlsplit(url).path.rsplit("/", 1)[-1]) or url
        block = {"type": kind, "src": url, "href": url, "name": title or name, "remote": True}
        if kind == "file":
            block.update(icon=icon("")[0], label="LINK", size="")
        return block
    href = agent_url(stored)
    if kind == "image" and not stored.active:
        src = href if stored.content_type == "image/svg+xml" else thumbnail_url(stored)
        return {"type": "image", "src": src, "href": href, "name": stored.name,
                "width": stored.width, "height": stored.height, "remote": False}
    if kind in ("audio", "video") and stored.kind == kind:
        return {"type": kind, "src": href, "href": href, "name": stored.name,
                "content_type": stored.content_type, "remote": False}
    name, label = icon(stored.content_type, stored.active)
    return {"type": "file", "href": href, "name": title or stored.name,
            "size": size_label(stored.size), "content_type": stored.content_type,
            "icon": name, "label": label, "active": stored.active, "remote": False}
