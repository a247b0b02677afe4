"""Files as agents and bots fetch them, agents' uploads, avatars and the profile page.

A file is served to a logged-in agent, or to whoever holds a signed URL that has not
expired (a bot, its webhook receiver): anything else, a guessed id or an altered or
expired signature, is 404. Every answer names the file (Content-Disposition: inline for
pictures, sound and film, a download for anything else), forbids sniffing
(X-Content-Type-Options: nosniff) and, unless it is a picture, sound or film, carries a
Content-Security-Policy that lets nothing run. Active content (HTML, SVG with scripts,
executables) goes out as application/octet-stream, always as a download.

Serving runs on the event loop: the file's row is read on a pooled thread and the bytes
stream from storage in chunks, so a large download holds no request thread.
"""

from __future__ import annotations

import re
import uuid

from asgiref.sync import sync_to_async
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.files.storage import default_storage
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    JsonResponse,
    StreamingHttpResponse,
)
from django.shortcuts import redirect, render
from django.utils import translation
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from bots import wakeups
from bots.links import avatar_token_valid, signature_valid
from desk import avatars, files, localization, services
from desk.access import ticket_for_agent
from desk.exceptions import DeskError
from desk.models import AgentProfile, StoredFile
from desk.people import display_name
from desk.uploads import too_large_message

CHUNK = 256 * 1024
# Smaller files are sent in one piece.
WHOLE_UNDER = 1024 * 1024
LOCKED_DOWN = "default-src 'none'; sandbox; frame-ancestors 'none'"


def _file_row(public_id: uuid.UUID) -> StoredFile | None:
    return StoredFile.objects.filter(public_id=public_id).first()


async def _may_read(request: HttpRequest, public_id: uuid.UUID) -> bool:
    if "signature" in request.GET:
        return signature_valid(
            public_id.hex, request.GET.get("expires", ""), request.GET.get("signature", "")
        )
    user = await request.auser()
    return user.is_authenticated and user.is_active


@require_GET
async def file(request: HttpRequest, file_id: uuid.UUID, name: str = "") -> HttpResponse:
    """The file itself (Range requests answered, for seeking in audio and video)."""
    if not await _may_read(request, file_id):
        raise Http404("No such file.")
    stored = await wakeups.pooled(_file_row)(file_id)
    if stored is None:
        raise Http404("No such file.")
    return await _serve(request, stored, stored.storage_name, stored.size)


@require_GET
async def thumbnail(request: HttpRequest, file_id: uuid.UUID) -> HttpResponse:
    """A picture's thumbnail (WebP), or the picture itself until the thumbnail is made."""
    if not await _may_read(request, file_id):
        raise Http404("No such file.")
    stored = await wakeups.pooled(_file_row)(file_id)
    if stored is None or stored.kind != StoredFile.Kind.IMAGE or stored.active:
        raise Http404("No such picture.")
    if not stored.thumbnail_name:
        return await _serve(request, stored, stored.storage_name, stored.size)
    size = await sync_to_async(default_storage.size, thread_sensitive=False)(
        stored.thumbnail_name
    )
    return await _serve(
        request, stored, stored.thumbnail_name, size, content_type="image/webp", inline=True
    )


_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


def _range(header: str, size: int) -> tuple[int, int] | None:
    """(first, last) of one satisfiable byte range, or None for the whole file."""
    found = _RANGE.match(header.strip())
    if not found or not (found.group(1) or found.group(2)) or size == 0:
        return None
    if found.group(1):
        first = int(found.group(1))
        last = min(int(found.group(2)), size - 1) if found.group(2) else size - 1
    else:
        first, last = max(0, size - int(found.group(2))), size - 1
    if first > last or first >= size:
        return None
    return first, last


async def _serve(
    request: HttpRequest,
    stored: StoredFile,
    key: str,
    size: int,
    *,
    content_type: str | None = None,
    inline: bool | None = None,
) -> HttpResponse:
    inline = stored.inline if inline is None else inline
    content_type = content_type or ("application/octet-stream" if stored.active
                                    else stored.content_type)
    if content_type.startswith("text/") or content_type == "application/json":
        content_type += "; charset=utf-8"
    wanted = _range(request.headers.get("Range", ""), size)
    first, last = wanted if wanted else (0, size - 1)
    length = max(0, last - first + 1)
    if length <= WHOLE_UNDER:
        data = await sync_to_async(_read, thread_sensitive=False)(key, first, length)
        response: HttpResponse = HttpResponse(data, content_type=content_type)
    else:
        response = StreamingHttpResponse(_chunks(key, first, length), content_type=content_type)
    if wanted:
        response.status_code = 206
        response["Content-Range"] = f"bytes {first}-{last}/{size}"
    response["Content-Length"] = str(length)
    response["Accept-Ranges"] = "bytes"
    response["Content-Disposition"] = content_disposition_header(not inline, stored.name)
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, max-age=3600"
    response["Referrer-Policy"] = "no-referrer"
    media = content_type.split("/")[0] in ("image", "audio", "video")
    if not (inline and media):
        response["Content-Security-Policy"] = LOCKED_DOWN
    return response


def _read(key: str, first: int, length: int) -> bytes:
    with default_storage.open(key, "rb") as source:
        if first:
            source.seek(first)
        return source.read(length)


async def _chunks(key: str, first: int, length: int):
    source = await sync_to_async(default_storage.open, thread_sensitive=False)(key, "rb")
    try:
        if first:
            await sync_to_async(source.seek, thread_sensitive=False)(first)
        left = length
        while left > 0:
            chunk = await sync_to_async(source.read, thread_sensitive=False)(min(CHUNK, left))
            if not chunk:
                break
            left -= len(chunk)
            yield chunk
    finally:
        await sync_to_async(source.close, thread_sensitive=False)()


# --- agents' uploads -------------------------------------------------------------------


@login_required
@require_POST
def ticket_upload(request: HttpRequest, ticket_id: int) -> HttpResponse:
    """The composer's attachment (multipart, field `file`), stored before it is sent: the
    answer says what it is; the message that names it comes after."""
    ticket = ticket_for_agent(request.user, ticket_id)
    upload = request.FILES.get("file")  # read first: the size limit applies as it is read
    if getattr(request, "upload_too_large", False):
        return JsonResponse({"error": "too_large", "message": too_large_message()}, status=413)
    if upload is None:
        return JsonResponse(
            {"error": "invalid", "message": _("Choose a file to attach."),
             "fields": {"file": "is required"}},
            status=422,
        )
    try:
        stored = files.store_upload(
            upload, agent=request.user, ticket=ticket, forget_unsent=True
        )
    except DeskError as exc:
        return JsonResponse({"error": exc.code, "message": exc.message}, status=exc.status)
    return JsonResponse(upload_json(stored), status=201)


def upload_json(stored: StoredFile) -> dict:
    shown = stored.kind if not stored.active else "file"
    return {
        "fileId": str(stored.public_id),
        "name": stored.name,
        "size": stored.size,
        "sizeLabel": files.size_label(stored.size),
        "contentType": stored.content_type,
        "kind": shown,
        "url": files.agent_url(stored),
        "thumbnailUrl": (
            files.thumbnail_url(stored) if shown == "image" and stored.content_type
            != "image/svg+xml" else (files.agent_url(stored) if shown == "image" else None)
        ),
    }


# --- avatars -------------------------------------------------------------------------------


def _avatar_of(agent_id: int):
    profile = (
        AgentProfile.objects.select_related("agent", "avatar").filter(agent_id=agent_id).first()
    )
    if profile is not None:
        return profile.agent, profile.avatar
    from django.contrib.auth import get_user_model

    return get_user_model().objects.filter(pk=agent_id).first(), None


@require_GET
async def avatar(request: HttpRequest, agent_id: int, version: str, token: str) -> HttpResponse:
    """An agent's picture for bots' channels: signed, never expiring (see desk.avatars)."""
    if not avatar_token_valid(agent_id, version, token):
        raise Http404("No such avatar.")
    agent, picture = await wakeups.pooled(_avatar_of)(agent_id)
    if agent is None:
        raise Http404("No such avatar.")
    if picture is not None:
        key = picture.thumbnail_name or picture.storage_name
        data = await sync_to_async(_read, thread_sensitive=False)(key, 0, -1)
        content_type = "image/webp" if picture.thumbnail_name else picture.content_type
    else:
        letters = avatars.initials(display_name(agent))
        data = avatars.initials_png(letters, avatars.color_for(agent.pk))
        content_type = "image/png"
    response = HttpResponse(data, content_type=content_type)
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "public, max-age=86400"
    response["Access-Control-Allow-Origin"] = "*"
    return response


# --- the profile page ------------------------------------------------------------------------


@login_required
def profile(request: HttpRequest) -> HttpResponse:
    """The agent's own page: the picture bots show beside their messages."""
    agent = request.user
    if request.method == "POST":
        if request.POST.get("action") == "locale":
            try:
                localization.agent_set_locale(
                    agent=agent,
                    language=request.POST.get("language", ""),
                    time_zone=request.POST.get("time_zone", ""),
                )
            except DeskError as exc:
                messages.error(request, exc.message)
            else:
                chosen = request.POST.get("language") or None
                with translation.override(chosen or translation.get_language()):
                    messages.success(request, _("Your language and time zone are saved."))
            return redirect("profile")
        if request.POST.get("action") == "remove":
            services.agent_set_avatar(agent=agent, picture=None)
            messages.success(request, _("Your picture is removed: bots show your initials."))
            return redirect("profile")
        error = None
        if getattr(request, "upload_too_large", False):
            error = too_large_message()
        elif (upload := request.FILES.get("avatar")) is None:
            error = _("Choose a picture.")
        else:
            try:
                stored = files.store_upload(upload, agent=agent)
            except DeskError as exc:
                error = exc.message
            else:
                if stored.kind != StoredFile.Kind.IMAGE or stored.active or (
                    stored.content_type == "image/svg+xml"
                ):
                    files.delete(stored)
                    error = _("That is not a picture: choose a PNG, JPEG, GIF or WebP file.")
                else:
                    services.agent_set_avatar(agent=agent, picture=stored)
                    messages.success(request, _("Your picture is saved."))
                    return redirect("profile")
        messages.error(request, error)
        return redirect("profile")
    fields = avatars.agent_fields(agent)
    locale = localization.locale_of(agent.pk)
    return render(request, "desk/profile.html", {
        "avatar_url": fields["agentAvatarUrl"],
        "agent_id": fields["agentId"],
        "locale": locale,
        "languages": settings.LANGUAGES,
        "time_zones": localization.time_zones(),
    })
