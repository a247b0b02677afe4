"""What a message can be: Botpress's message types (the `hitl` interface, v2.1.0), checked,
stored, and rendered as text.

Both directions carry `text` {text}, `image` {imageUrl}, `audio` {audioUrl}, `video`
{videoUrl}, `file` {fileUrl, title?}, `location` {latitude, longitude, address?, title?},
`markdown` {markdown} and `bloc` {items: [{type, payload} of those seven]}. A bot's
`messageHistory` may also hold what only a bot shows: `card` {title, subtitle?, imageUrl?,
actions: [{action: postback|url|say, label, value}]}, `carousel` {items: [card]},
`choice` and `dropdown` {text, options: [{label, value}]}.

A message arrives flat ({"type": "image", "imageUrl": …}) or as Botpress writes it
({"type": "image", "payload": {"imageUrl": …}}). `parse` checks it and names every bad
field by its dotted path; URLs must be http(s). A URL of a file Desk keeps (an upload's
`url`) is stored as `desk-file:<id>/<name>` and the file linked to the message; any
other URL is the sender's and Desk does not fetch it (unless DESK_FETCH_REMOTE_MEDIA).

Every message has a text rendering (`text_of`): a file's name and URL, a card's title
and buttons, a location's address. Search, the inbox preview and text-only bots read it.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from bots.links import FILE_LINK, file_link
from bots.text import FIELD_PROBLEMS, MESSAGE_PROBLEMS, TextProblem, text_problem
from desk.exceptions import InvalidInput

MAX_MESSAGE_LENGTH = 10_000
MAX_URL_LENGTH = 2000
MAX_LABEL_LENGTH = 300
MAX_VALUE_LENGTH = 1000
MAX_BLOC_ITEMS = 20
MAX_CAROUSEL_ITEMS = 10
MAX_ACTIONS = 10
MAX_OPTIONS = 50

MESSAGE_TYPES = ("text", "image", "audio", "video", "file", "location", "markdown", "bloc")
BOT_ONLY_TYPES = ("card", "carousel", "choice", "dropdown")
HISTORY_TYPES = MESSAGE_TYPES + BOT_ONLY_TYPES
BLOC_ITEM_TYPES = ("text", "image", "audio", "video", "file", "location", "markdown")
MEDIA_FIELDS = {"image": "imageUrl", "audio": "audioUrl", "video": "videoUrl", "file": "fileUrl"}
CARD_ACTIONS = ("postback", "url", "say")
LABELS = {"image": "Image", "audio": "Audio", "video": "Video", "file": "File"}


# resolve(url, path, media type, errors) → the Desk file (a `desk.models.StoredFile`) the
# URL names, or None for a remote URL; for a Desk URL the sender may not use, it adds to
# `errors` and returns None.
Resolver = Callable[[str, str, str, dict[str, str]], object]


@dataclass
class Content:
    type: str
    payload: dict
    files: list = field(default_factory=list)

    @property
    def text(self) -> str:
        """The text rendering stored with the message (search, inbox preview)."""
        return text_of(self.type, self.payload, {f.public_id.hex: f for f in self.files})

    @property
    def bot_text(self) -> str:
        """The text rendering a bot reads: a Desk file with its (signed) URL."""
        files = {f.public_id.hex: f for f in self.files}
        return text_of(self.type, self.payload, files, links=True)


def remote_only(url: str, path: str, media: str, errors: dict[str, str]) -> None:
    """A resolver for where no Desk file may be named: every URL is the sender's."""
    return None


def parse(
    data: Mapping,
    *,
    types: tuple[str, ...] = MESSAGE_TYPES,
    path: str = "",
    resolve: Resolver = remote_only,
) -> Content:
    """The message in `data`, checked. Raises InvalidInput naming every bad field."""
    errors: dict[str, str] = {}
    content = _message(data, types, path, resolve, errors)
    if errors:
        raise invalid(errors)
    return content


def invalid(errors: dict[str, str]) -> InvalidInput:
    names = ", ".join(errors)
    first = next(iter(errors))
    return InvalidInput(f"Invalid request: check {names}.", field=first, fields=errors)


def _at(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _message(data, types, path, resolve, errors) -> Content:
    if not isinstance(data, Mapping):
        errors[path or "body"] = "must be an object"
        return Content("text", {})
    kind = data.get("type", "text")
    if kind is None:
        kind = "text"
    if kind not in types:
        errors[_at(path, "type")] = "must be one of " + ", ".join(types)
        return Content("text", {})
    fields, where = data, path
    if isinstance(data.get("payload"), Mapping):
        fields, where = data["payload"], _at(path, "payload")
    elif data.get("payload") is not None:
        errors[_at(path, "payload")] = "must be an object"
        return Content(kind, {})
    files: list = []
    payload = PARSERS[kind](fields, where, resolve, errors, files)
    return Content(kind, payload, files)


# --- one field ------------------------------------------------------------------------


def _text(fields, name, path, errors, *, required=True, max_length=MAX_MESSAGE_LENGTH,
          message=False) -> str | None:
    where = _at(path, name)
    value = fields.get(name)
    if value is None:
        if required:
            errors[where] = "is required"
        return None
    if not isinstance(value, str):
        errors[where] = "must be a string"
        return None
    problem = text_problem(value)
    if problem and (required or problem != TextProblem.BLANK):
        errors[where] = (MESSAGE_PROBLEMS if message else FIELD_PROBLEMS)[problem]
        return None
    if problem == TextProblem.BLANK:
        return None
    if len(value) > max_length:
        errors[where] = f"must be at most {max_length:,} characters"
        return None
    return value.strip("\r\n") if message else value.strip()


def _url(fields, name, path, media, resolve, errors, files, *, required=True) -> str | None:
    where = _at(path, name)
    value = fields.get(name)
    if value is None:
        if required:
            errors[where] = "is required"
        return None
    if not isinstance(value, str):
        errors[where] = "must be a string"
        return None
    value = value.strip()
    problem = url_problem(value)
    if problem:
        errors[where] = problem
        return None
    found = resolve(value, where, media, errors)
    if found is None:
        return None if where in errors else value
    files.append(found)
    return file_link(found.public_id.hex, found.name)


def url_problem(value: str) -> str | None:
    """Why `value` is not an http(s) URL Desk can link to, or None."""
    if not value:
        return "must not be blank"
    if len(value) > MAX_URL_LENGTH:
        return f"must be at most {MAX_URL_LENGTH} characters"
    if re.search(r"[\s\x00-\x1f\x7f]", value):
        return "must be a URL without spaces or control characters"
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError:
        return "must be an http or https URL"
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return "must be an http or https URL"
    return None


def _number(fields, name, path, errors, low, high) -> float | None:
    where = _at(path, name)
    value = fields.get(name)
    if value is None:
        errors[where] = "is required"
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(
        value
    ):
        errors[where] = "must be a number"
        return None
    if not low <= value <= high:
        errors[where] = f"must be between {low} and {high}"
        return None
    return value


def _list(fields, name, path, errors, *, max_items, required=True, min_items=1) -> list | None:
    where = _at(path, name)
    value = fields.get(name)
    if value is None:
        if required:
            errors[where] = "is required"
        return None
    if not isinstance(value, list):
        errors[where] = "must be a list"
        return None
    if len(value) < min_items:
        errors[where] = f"must have at least {min_items} item{'s' if min_items > 1 else ''}"
        return None
    if len(value) > max_items:
        errors[where] = f"must have at most {max_items} items"
        return None
    return value


def _object(value, path, errors) -> Mapping | None:
    if not isinstance(value, Mapping):
        errors[path] = "must be an object"
        return None
    return value


def _given(**values) -> dict:
    return {key: value for key, value in values.items() if value is not None}


# --- the types ------------------------------------------------------------------------


def _parse_text(fields, path, resolve, errors, files) -> dict:
    return _given(text=_text(fields, "text", path, errors, message=True))


def _parse_markdown(fields, path, resolve, errors, files) -> dict:
    return _given(markdown=_text(fields, "markdown", path, errors, message=True))


def _media_parser(kind: str):
    name = MEDIA_FIELDS[kind]

    def parse_media(fields, path, resolve, errors, files) -> dict:
        payload = _given(**{name: _url(fields, name, path, kind, resolve, errors, files)})
        if kind == "file":
            title = _text(fields, "title", path, errors, required=False,
                          max_length=MAX_LABEL_LENGTH)
            payload.update(_given(title=title))
        return payload

    return parse_media


def _parse_location(fields, path, resolve, errors, files) -> dict:
    return _given(
        latitude=_number(fields, "latitude", path, errors, -90, 90),
        longitude=_number(fields, "longitude", path, errors, -180, 180),
        address=_text(fields, "address", path, errors, required=False,
                      max_length=MAX_LABEL_LENGTH),
        title=_text(fields, "title", path, errors, required=False, max_length=MAX_LABEL_LENGTH),
    )


def _parse_bloc(fields, path, resolve, errors, files) -> dict:
    items = _list(fields, "items", path, errors, max_items=MAX_BLOC_ITEMS)
    parsed = []
    for index, item in enumerate(items or []):
        where = _at(path, f"items.{index}")
        if _object(item, where, errors) is None:
            continue
        content = _message(item, BLOC_ITEM_TYPES, where, resolve, errors)
        files.extend(content.files)
        parsed.append({"type": content.type, "payload": content.payload})
    return {"items": parsed}


def _parse_card(fields, path, resolve, errors, files) -> dict:
    card = _given(
        title=_text(fields, "title", path, errors, max_length=MAX_LABEL_LENGTH),
        subtitle=_text(fields, "subtitle", path, errors, required=False,
                       max_length=MAX_LABEL_LENGTH),
        imageUrl=_url(fields, "imageUrl", path, "image", resolve, errors, files,
                      required=False),
    )
    actions = _list(fields, "actions", path, errors, max_items=MAX_ACTIONS, min_items=0)
    card["actions"] = []
    for index, action in enumerate(actions or []):
        where = _at(path, f"actions.{index}")
        if _object(action, where, errors) is None:
            continue
        kind = action.get("action")
        if kind not in CARD_ACTIONS:
            errors[_at(where, "action")] = "must be one of " + ", ".join(CARD_ACTIONS)
        label = _text(action, "label", where, errors, max_length=MAX_LABEL_LENGTH)
        value = _text(action, "value", where, errors, max_length=MAX_VALUE_LENGTH)
        if kind == "url" and value is not None and (problem := url_problem(value)):
            errors[_at(where, "value")] = problem
        card["actions"].append({"action": kind, "label": label, "value": value})
    return card


def _parse_carousel(fields, path, resolve, errors, files) -> dict:
    items = _list(fields, "items", path, errors, max_items=MAX_CAROUSEL_ITEMS)
    cards = []
    for index, item in enumerate(items or []):
        where = _at(path, f"items.{index}")
        if _object(item, where, errors) is not None:
            cards.append(_parse_card(item, where, resolve, errors, files))
    return {"items": cards}


def _parse_choice(fields, path, resolve, errors, files) -> dict:
    choice = _given(text=_text(fields, "text", path, errors, message=True))
    options = _list(fields, "options", path, errors, max_items=MAX_OPTIONS, min_items=0)
    choice["options"] = []
    for index, option in enumerate(options or []):
        where = _at(path, f"options.{index}")
        if _object(option, where, errors) is None:
            continue
        choice["options"].append({
            "label": _text(option, "label", where, errors, max_length=MAX_LABEL_LENGTH),
            "value": _text(option, "value", where, errors, max_length=MAX_VALUE_LENGTH),
        })
    return choice


PARSERS = {
    "text": _parse_text,
    "markdown": _parse_markdown,
    "image": _media_parser("image"),
    "audio": _media_parser("audio"),
    "video": _media_parser("video"),
    "file": _media_parser("file"),
    "location": _parse_location,
    "bloc": _parse_bloc,
    "card": _parse_card,
    "carousel": _parse_carousel,
    "choice": _parse_choice,
    "dropdown": _parse_choice,
}


# --- text renderings --------------------------------------------------------------------


def map_url(latitude: float, longitude: float) -> str:
    return (
        f"https://www.openstreetmap.org/?mlat={latitude}&mlon={longitude}"
        f"#map=16/{latitude}/{longitude}"
    )


def text_of(kind: str, payload: dict, files: Mapping | None = None, *, links=False) -> str:
    """The text rendering of a message. `files`: the Desk files it names, by hex id (their
    names); with `links`, a Desk file is followed by its `desk-file:` placeholder, which
    the bot reads as a signed URL."""
    text = _render(kind, payload, files or {}, links)
    return text[:MAX_MESSAGE_LENGTH]


def _named(url: str, files: Mapping, links: bool) -> str:
    found = FILE_LINK.fullmatch(url or "")
    if found is None:
        return url or ""
    stored = files.get(found.group(1))
    name = stored.name if stored is not None else "file"
    return f"{name} {url}" if links else name


def _render(kind: str, payload: dict, files: Mapping, links: bool) -> str:
    match kind:
        case "text":
            return payload.get("text", "")
        case "markdown":
            return payload.get("markdown", "")
        case "image" | "audio" | "video" | "file":
            shown = _named(payload.get(MEDIA_FIELDS[kind], ""), files, links)
            title = payload.get("title")
            if title and not shown.startswith(title):  # a file's own name is no title
                shown = f"{title}: {shown}"
            return f"[{LABELS[kind]}] {shown}"
        case "location":
            where = ", ".join(
                part for part in (payload.get("title"), payload.get("address")) if part
            )
            lat, lon = payload.get("latitude"), payload.get("longitude")
            place = f"{where} " if where else ""
            return f"[Location] {place}({lat}, {lon}) {map_url(lat, lon)}"
        case "bloc":
            return "\n".join(
                _render(item.get("type", ""), item.get("payload", {}), files, links)
                for item in payload.get("items", [])
            )
        case "card":
            line = f"[Card] {payload.get('title', '')}"
            if payload.get("subtitle"):
                line += f" \u2014 {payload['subtitle']}"
            if payload.get("imageUrl"):
                line += f"\n[Image] {_named(payload['imageUrl'], files, links)}"
            if payload.get("actions"):
                line += "\nButtons: " + " | ".join(a["label"] for a in payload["actions"])
            return line
        case "carousel":
            return "\n".join(_render("card", card, files, links) for card in payload["items"])
        case "choice" | "dropdown":
            options = " | ".join(o["label"] for o in payload.get("options", []))
            return payload.get("text", "") + (f"\nOptions: {options}" if options else "")
    return ""
