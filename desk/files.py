"""Files Desk keeps: storing an upload, naming one in a message, its URLs, thumbnails,
unsent uploads, and copies of remote media.

Every file goes through Django's storage API (`STORAGES["default"]`: the filesystem
under var/files, or an S3-compatible store), under a key made of its id alone (never
the sender's name). A file is stored, then its row is written: a message names only a
stored file, so a message is acknowledged only once its files are kept, and a failed
upload leaves nothing behind. Thumbnails are made once, by a task on the media queue,
never while a request waits.
"""

from __future__ import annotations

import io
import logging
import re
import unicodedata
import uuid
from collections.abc import Iterable
from datetime import timedelta
from urllib.parse import quote, urlsplit

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import Q
from django.tasks import task
from django.utils import timezone
from django.utils.translation import gettext as _
from PIL import Image, ImageOps

from bots import egress
from bots.links import FILE_LINK, file_link, public_origin
from bots.tasks import MEDIA, TIMERS
from desk.content import MEDIA_FIELDS, Content, Resolver
from desk.exceptions import DeskError, InvalidInput
from desk.models import AgentProfile, Message, StoredFile, Ticket
from desk.sniff import sniff
from desk.uploads import human_size, too_large_message

logger = logging.getLogger(__name__)

THUMBNAIL_BOX = (480, 480)
# Pillow refuses pictures over this many pixels (a "decompression bomb"): no thumbnail.
MAX_THUMBNAIL_PIXELS = 60_000_000
KIND_NAMES = {"image": "an image", "audio": "an audio file", "video": "a video"}


class FileTooLarge(DeskError):
    code = "too_large"
    status = 413


# --- storing ------------------------------------------------------------------------------


def clean_name(name: str) -> str:
    """The sender's file name as Desk keeps and shows it: no path, no control characters,
    at most 255 characters (the extension kept), "file" when nothing is left."""
    name = re.split(r"[\\/]", name or "")[-1]
    name = "".join(c for c in name if unicodedata.category(c)[0] != "C").strip().strip(".")
    if not name:
        return "file"
    if len(name) > 255:
        stem, dot, ext = name.rpartition(".")
        ext = ext[:20] if dot else ""
        name = (stem if dot else name)[: 254 - len(ext)] + (f".{ext}" if ext else "")
    return name


def store(
    data: bytes,
    *,
    name: str,
    bot=None,
    agent=None,
    ticket: Ticket | None = None,
    source_url: str = "",
    forget_unsent: bool = False,
) -> StoredFile:
    """Keep `data` and return its row. The bytes are in storage before the row exists; if
    the row cannot be written the bytes are removed again."""
    if len(data) > settings.DESK_MAX_UPLOAD_BYTES:
        raise FileTooLarge(too_large_message())
    if not data:
        raise InvalidInput(_("The file is empty."), field="file")
    name = clean_name(name)
    sniffed = sniff(data, name)
    public_id = uuid.uuid4()
    key = default_storage.save(f"files/{public_id.hex[:2]}/{public_id.hex}", ContentFile(data))
    try:
        with transaction.atomic():
            stored = StoredFile.objects.create(
                public_id=public_id,
                name=name,
                content_type=sniffed.content_type,
                size=len(data),
                kind=sniffed.kind,
                active=sniffed.active,
                storage_name=key,
                width=sniffed.width,
                height=sniffed.height,
                bot=bot,
                uploaded_by=agent,
                ticket=ticket,
                source_url=source_url,
            )
            if stored.kind == StoredFile.Kind.IMAGE and stored.content_type != "image/svg+xml":
                make_thumbnail.enqueue(stored.pk)
            if forget_unsent:
                due = timezone.now() + timedelta(hours=settings.DESK_UNSENT_FILE_HOURS)
                forget_unsent_file.using(run_after=due).enqueue(stored.pk)
    except BaseException:
        default_storage.delete(key)
        raise
    return stored


def store_upload(upload, **kwargs) -> StoredFile:
    """An uploaded file (Django's UploadedFile): at most DESK_MAX_UPLOAD_BYTES are read."""
    if upload.size is not None and upload.size > settings.DESK_MAX_UPLOAD_BYTES:
        raise FileTooLarge(too_large_message())
    data = upload.read(settings.DESK_MAX_UPLOAD_BYTES + 1)
    return store(data, name=upload.name or "file", **kwargs)


def delete(stored: StoredFile) -> None:
    names = [stored.storage_name, stored.thumbnail_name]
    stored.delete()
    for name in filter(None, names):
        transaction.on_commit(lambda name=name: default_storage.delete(name))


@task(queue_name=TIMERS)
def forget_unsent_file(file_id: int) -> bool:
    """An agent's upload that no message names after DESK_UNSENT_FILE_HOURS (removed in
    the composer, or the tab closed) is deleted, bytes and all."""
    with transaction.atomic():
        stored = StoredFile.objects.select_for_update().filter(pk=file_id).first()
        if stored is None or stored.messages.exists():
            return False
        if AgentProfile.objects.filter(avatar=stored).exists():
            return False
        delete(stored)
    return True


# --- naming a file in a message --------------------------------------------------------

_FILE_PATH = re.compile(r"^/files/([0-9a-fA-F-]{32,36})/")


def describe(stored: StoredFile) -> str:
    kind = {"image": "an image", "audio": "audio", "video": "a video"}.get(stored.kind, "a file")
    return f"{kind} ({stored.content_type})"


def _kind_problem(stored: StoredFile, media: str) -> str | None:
    """Why `stored` cannot be sent as a `media` message (its bytes say otherwise)."""
    if media == "file" or (stored.kind == media and not stored.active):
        return None
    return (
        f"is {describe(stored)} by its content, not {KIND_NAMES[media]}: "
        "send it as type file"
    )


def bot_resolver(bot, *, origins: Iterable[str] = ()) -> Resolver:
    """For a bot's message: a URL of this Desk's /files/ names a file the bot uploaded, or
    one of its conversations' files; any other URL is the bot's own (remote)."""
    allowed = {public_origin(), *(o.lower() for o in origins)}

    def resolve(url: str, path: str, media: str, errors: dict[str, str]):
        parts = urlsplit(url)
        found = _FILE_PATH.match(parts.path)
        if found is None or f"{parts.scheme}://{parts.netloc}".lower() not in allowed:
            return None
        try:
            public_id = uuid.UUID(found.group(1))
        except ValueError:
            public_id = None
        stored = None
        if public_id is not None:
            stored = (
                StoredFile.objects.filter(public_id=public_id)
                .filter(Q(bot=bot) | Q(messages__ticket__bot=bot, messages__kind__in=["user",
                                                                                     "bot",
                                                                                     "agent"]))
                .first()
            )
        if stored is None:
            errors[path] = (
                "names no file of this bot: upload it first "
                "(POST /api/v1/bots/{botId}/files) and send the url it answers"
            )
            return None
        if problem := _kind_problem(stored, media):
            errors[path] = problem
            return None
        return stored

    return resolve


def media_item(stored: StoredFile) -> dict:
    """The message item that shows one file as what its bytes are."""
    kind = stored.kind if not stored.active else "file"
    link = file_link(stored.public_id.hex, stored.name)
    if kind == "file":
        return {"type": "file", "payload": {"fileUrl": link, "title": stored.name}}
    return {"type": kind, "payload": {MEDIA_FIELDS[kind]: link}}


def agent_content(text: str, files: list[StoredFile]) -> Content:
    """An agent's message: the text, the files, or a bloc of both (Botpress's way of
    sending several things as one message)."""
    items = ([{"type": "text", "payload": {"text": text}}] if text else []) + [
        media_item(stored) for stored in files
    ]
    if len(items) == 1:
        return Content(items[0]["type"], items[0]["payload"], files)
    return Content("bloc", {"items": items}, files)


def agent_uploads(*, ticket: Ticket, agent, ids: Iterable[str]) -> list[StoredFile]:
    """The files an agent uploaded to this ticket, in the order given. Raises
    InvalidInput (field `files`) for an id that is not one of them."""
    wanted = []
    for value in ids:
        try:
            wanted.append(uuid.UUID(str(value)))
        except ValueError:
            raise InvalidInput(_("That attachment is not there any more."), field="files") from None
    if not wanted:
        return []
    found = {
        f.public_id: f
        for f in StoredFile.objects.filter(public_id__in=wanted, ticket=ticket, uploaded_by=agent)
    }
    if len(found) != len(set(wanted)):
        raise InvalidInput(
            _("An attachment is not there any more: upload it again."), field="files"
        )
    return [found[w] for w in dict.fromkeys(wanted)]


# --- URLs for agents ---------------------------------------------------------------------


def agent_url(stored: StoredFile) -> str:
    return f"/files/{stored.public_id}/{quote(stored.name, safe='')}"


def thumbnail_url(stored: StoredFile) -> str:
    return f"/files/{stored.public_id}/thumbnail/"


def file_for_link(link: str, files: dict) -> StoredFile | None:
    found = FILE_LINK.fullmatch(link or "")
    return files.get(found.group(1)) if found else None


# --- thumbnails ----------------------------------------------------------------------------


@task(queue_name=MEDIA)
def make_thumbnail(file_id: int) -> bool:
    """Make the picture's thumbnail, once (a second run finds it made)."""
    stored = StoredFile.objects.filter(pk=file_id, thumbnail_name="").first()
    if stored is None or stored.kind != StoredFile.Kind.IMAGE:
        return False
    try:
        with default_storage.open(stored.storage_name, "rb") as source:
            data = thumbnail_bytes(source.read())
    except (OSError, ValueError, Image.DecompressionBombError) as exc:
        logger.info("no thumbnail for file %s: %s", stored.public_id, exc)
        return False
    key = default_storage.save(
        f"thumbnails/{stored.public_id.hex[:2]}/{stored.public_id.hex}.webp", ContentFile(data)
    )
    if not StoredFile.objects.filter(pk=file_id, thumbnail_name="").update(thumbnail_name=key):
        default_storage.delete(key)  # another run was first
        return False
    return True


def thumbnail_bytes(data: bytes, box: tuple[int, int] = THUMBNAIL_BOX) -> bytes:
    """A WebP at most `box` in size, the right way up (EXIF orientation applied)."""
    with Image.open(io.BytesIO(data)) as image:
        if image.width * image.height > MAX_THUMBNAIL_PIXELS:
            raise ValueError(f"{image.width}×{image.height} is too large to thumbnail")
        image.draft("RGB", box)  # JPEG: decode at a smaller scale, much faster
        image = ImageOps.exif_transpose(image)
        image.thumbnail(box)
        if image.mode not in ("RGB", "RGBA"):
            image = image.convert("RGBA" if "A" in image.getbands() or
                                  image.info.get("transparency") is not None else "RGB")
        out = io.BytesIO()
        image.save(out, "WEBP", quality=80, method=4)
        return out.getvalue()


# --- remote media (DESK_FETCH_REMOTE_MEDIA) -------------------------------------------------


def remote_media_urls(content_type: str, payload: dict) -> list[str]:
    """The remote URLs of pictures, sounds, films and files a message names."""
    found: list[str] = []
    if content_type in MEDIA_FIELDS:
        url = payload.get(MEDIA_FIELDS[content_type], "")
        if url and not url.startswith("desk-file:"):
            found.append(url)
    elif content_type == "bloc":
        for item in payload.get("items", []):
            found += remote_media_urls(item.get("type", ""), item.get("payload", {}))
    elif content_type == "card":
        url = payload.get("imageUrl", "")
        if url and not url.startswith("desk-file:"):
            found.append(url)
    elif content_type == "carousel":
        for card in payload.get("items", []):
            found += remote_media_urls("card", card)
    return list(dict.fromkeys(found))


def fetch_remote_media_later(messages: Iterable[Message]) -> None:
    """When DESK_FETCH_REMOTE_MEDIA is on, queue a copy of the remote media of each
    message (called in the transaction that stores them)."""
    if not settings.DESK_FETCH_REMOTE_MEDIA:
        return
    for message in messages:
        if remote_media_urls(message.type, message.payload):
            copy_remote_media.enqueue(message.pk)


@task(queue_name=MEDIA)
def copy_remote_media(message_id: int) -> int:
    """Fetch the message's remote media through the webhooks' address guard and keep a
    copy, linked to the message (the agents' page then shows the copy). Returns how
    many were copied; a URL that cannot be fetched stays a link."""
    message = Message.objects.select_related("ticket__bot").filter(pk=message_id).first()
    if message is None:
        return 0
    copied = 0
    have = set(message.files.exclude(source_url="").values_list("source_url", flat=True))
    with egress.WebhookClient() as client:
        for url in remote_media_urls(message.type, message.payload):
            if url in have:
                continue
            try:
                data = client.get(
                    url, timeout=settings.DESK_WEBHOOK_TIMEOUT_SECONDS,
                    max_bytes=settings.DESK_MAX_UPLOAD_BYTES,
                )
            except Exception as exc:  # refused, too large, unreachable: a link it stays
                logger.info("remote media %s not copied: %s", url, exc)
                continue
            name = urlsplit(url).path.rsplit("/", 1)[-1] or "file"
            stored = store(data, name=name, bot=message.ticket.bot, ticket=message.ticket,
                           source_url=url)
            message.files.add(stored)
            copied += 1
    if copied:
        from desk import realtime

        realtime.announce_message(message.ticket_id, message.pk, refresh=True)
    return copied


def size_label(size: int) -> str:
    return human_size(size)
