"""The demo webchat (the customer's side) and the demo bot's webhook endpoint.

The page polls `lines` (an async long-poll, like Desk's own event long-poll) so the
agent's replies and the handoff messages appear as soon as the webhook brings them.
"""

import json

import httpx
from asgiref.sync import sync_to_async
from desk_sdk.django import webhook_view
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.validators import validate_email
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseRedirect,
    JsonResponse,
)
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import content_disposition_header
from django.views.decorators.csrf import ensure_csrf_cookie
from django.views.decorators.http import require_GET, require_POST

from bots import wakeups
from bots.demo import bot
from bots.demo.models import Chat, DemoBotConfig, Line

MAX_TEXT = 4000
MAX_WAIT = 25
RECHECK_SECONDS = 2


def _chat(chat_id) -> Chat:
    chat = Chat.objects.filter(public_id=chat_id).first()
    if chat is None:
        raise Http404("No such chat.")
    return chat


def _bad(message: str, status: int = 422) -> JsonResponse:
    return JsonResponse({"error": "invalid", "message": message}, status=status)


def start(request: HttpRequest) -> HttpResponse:
    """The webchat's front door: who are you? Then a new chat."""
    configured = DemoBotConfig.objects.exists()
    errors: dict[str, str] = {}
    values = {"name": "", "email": ""}
    if request.method == "POST" and configured:
        values = {k: request.POST.get(k, "").strip() for k in values}
        if not values["name"]:
            errors["name"] = "Please tell us your name."
        elif len(values["name"]) > 200:
            errors["name"] = "That name is too long."
        if values["email"]:
            try:
                validate_email(values["email"])
            except ValidationError:
                errors["email"] = "That doesn't look like an email address."
        if not errors:
            chat = bot.start_chat(user_name=values["name"], user_email=values["email"])
            return HttpResponseRedirect(reverse("demo-chat", args=[chat.public_id]))
    return render(
        request,
        "demo/start.html",
        {"configured": configured, "errors": errors, "values": values},
        status=422 if errors else 200,
    )


@ensure_csrf_cookie
@require_GET
def chat_page(request: HttpRequest, chat_id) -> HttpResponse:
    chat = _chat(chat_id)
    lines = [bot.line_json(line) for line in chat.lines.order_by("pk")]
    return render(
        request,
        "demo/chat.html",
        {"chat": chat, "lines": lines, "cursor": lines[-1]["id"] if lines else 0},
    )


@require_POST
async def send(request: HttpRequest, chat_id) -> JsonResponse:
    """The customer sends a message: the bot answers it, or passes it to the agent."""
    try:
        text = json.loads(request.body or b"{}").get("text", "")
    except (ValueError, AttributeError):
        return _bad("The request body must be JSON: {\"text\": \"...\"}.")
    if not isinstance(text, str) or not text.strip():
        return _bad("Write a message first.")
    if len(text) > MAX_TEXT:
        return _bad(f"Messages are limited to {MAX_TEXT} characters.")
    chat = await sync_to_async(_chat)(chat_id)
    config = await DemoBotConfig.objects.afirst()
    if config is None:
        return _bad("The demo bot is not set up: run `manage.py demo_setup`.", status=503)
    # Desk's address comes from the settings, never from this request's Host header:
    # the bot sends its API key there.
    if not settings.DESK_DEMO_DESK_URL:
        return _bad(
            "The demo bot does not know Desk's address: set DESK_DEMO_DESK_URL.", status=503
        )
    desk = bot.Desk(base_url=settings.DESK_DEMO_DESK_URL, config=config)
    await bot.handle_user_message(desk, chat, text)
    await chat.arefresh_from_db(fields=["handoff"])
    return JsonResponse({"accepted": True, "handoff": chat.handoff}, status=202)


@require_POST
async def rate(request: HttpRequest, chat_id) -> JsonResponse:
    """The customer pressed a rating button: {"line": the question's id, "score": 1–5}."""
    try:
        body = json.loads(request.body or b"{}")
        line_id, score = int(body.get("line")), int(body.get("score"))
    except (ValueError, TypeError, AttributeError):
        return _bad('The request body must be JSON: {"line": id, "score": 1-5}.')
    chat = await sync_to_async(_chat)(chat_id)
    config = await DemoBotConfig.objects.afirst()
    if config is None or not settings.DESK_DEMO_DESK_URL:
        return _bad("The demo bot is not set up.", status=503)
    desk = bot.Desk(base_url=settings.DESK_DEMO_DESK_URL, config=config)
    if not await bot.handle_rating(desk, chat, line_id, score):
        return _bad("That question is answered already, or the score is not on its scale.",
                    status=409)
    return JsonResponse({"accepted": True}, status=202)


@require_POST
async def upload(request: HttpRequest, chat_id) -> JsonResponse:
    """The customer sends a file (multipart, field `file`): the bot passes it on."""
    upload = request.FILES.get("file")  # read first: Desk's upload size limit applies
    if getattr(request, "upload_too_large", False):
        return _bad("That file is too large to send.", status=413)
    if upload is None:
        return _bad("Choose a file to send.")
    chat = await sync_to_async(_chat)(chat_id)
    config = await DemoBotConfig.objects.afirst()
    if config is None or not settings.DESK_DEMO_DESK_URL:
        return _bad("The demo bot is not set up.", status=503)
    desk = bot.Desk(base_url=settings.DESK_DEMO_DESK_URL, config=config)
    await bot.handle_user_file(
        desk, chat, name=upload.name or "file", data=upload.read(),
        content_type=upload.content_type or "application/octet-stream",
    )
    await chat.arefresh_from_db(fields=["handoff"])
    return JsonResponse({"accepted": True, "handoff": chat.handoff}, status=202)


def _line_of(chat_id, line_id: int) -> Line | None:
    return Line.objects.select_related("chat").filter(chat__public_id=chat_id, pk=line_id).first()


def _remember_copy(line_id: int, index: int, key: str, content_type: str) -> None:
    line = Line.objects.get(pk=line_id)
    if line.kind == "bloc":
        line.payload["items"][index]["payload"].update(stored=key, contentType=content_type)
    else:
        line.payload.update(stored=key, contentType=content_type)
    line.save(update_fields=["payload"])


@require_GET
async def line_file(request: HttpRequest, chat_id, line_id: int, index: int) -> HttpResponse:
    """A file of the chat, from the bot's own copy: the customer's as they sent it, an
    agent's fetched from Desk's signed URL the first time it is shown (Desk's URLs expire
    after an hour; the chat keeps its files)."""
    line = await wakeups.pooled(_line_of)(chat_id, line_id)
    items = bot.line_items(line) if line is not None else []
    if not 0 <= index < len(items) or items[index].get("type") not in bot.FILE_FIELDS:
        raise Http404("No such file.")
    kind, payload = items[index]["type"], items[index]["payload"]
    key, content_type = payload.get("stored"), payload.get("contentType", "")
    if key:
        data = await sync_to_async(_read_copy, thread_sensitive=False)(key)
    else:
        url = payload.get(bot.FILE_FIELDS[kind], "")
        async with httpx.AsyncClient(timeout=30) as client:
            answer = await client.get(url)
        if answer.status_code != 200:
            raise Http404("The file is no longer available.")
        data = answer.content
        content_type = answer.headers.get("content-type", "application/octet-stream")
        key = await sync_to_async(default_storage.save, thread_sensitive=False)(
            f"demo/{chat_id.hex}/{line_id}-{index}", ContentFile(data))
        await wakeups.pooled(_remember_copy)(line_id, index, key, content_type)
    media = content_type.split("/")[0] in ("image", "audio", "video") and (
        "svg" not in content_type)
    response = HttpResponse(data, content_type=content_type if media
                            else "application/octet-stream")
    name = payload.get("name") or payload.get("title") or bot.file_name(
        payload.get(bot.FILE_FIELDS[kind], ""))
    response["Content-Disposition"] = content_disposition_header(not media, name)
    response["X-Content-Type-Options"] = "nosniff"
    if not media:
        response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


def _read_copy(key: str) -> bytes:
    with default_storage.open(key, "rb") as handle:
        return handle.read()


def _lines_after(chat_pk: int, after: int) -> tuple[list[dict], dict]:
    """The lines after `after`, and the chat's state: the handoff and the queue status."""
    found = Line.objects.filter(chat_id=chat_pk, pk__gt=after).select_related("chat")
    lines = [bot.line_json(line) for line in found]
    handoff, queue, version = Chat.objects.filter(pk=chat_pk).values_list(
        "handoff", "queue_status", "queue_version"
    ).first()
    return lines, {"handoff": bool(handoff), "queue": {"text": queue, "version": version}}


@require_GET
async def lines(request: HttpRequest, chat_id) -> JsonResponse:
    """The chat's lines after `after`, at once or as soon as one arrives (up to `wait` s),
    or as soon as the queue status differs from the page's (version `queue`)."""
    try:
        after = max(int(request.GET.get("after", 0)), 0)
        wait = min(max(int(request.GET.get("wait", 0)), 0), MAX_WAIT)
        seen = int(request.GET.get("queue", -1))
    except ValueError:
        return _bad("after, wait and queue are whole numbers.")
    chat = await wakeups.pooled(_chat)(chat_id)
    found, state = await wakeups.long_poll(
        bot.chat_key(chat.pk),
        lambda: wakeups.pooled(_lines_after)(chat.pk, after),
        wait=wait,
        recheck=RECHECK_SECONDS,
        found=lambda answer: bool(answer[0]) or answer[1]["queue"]["version"] != seen,
    )
    cursor = found[-1]["id"] if found else after
    return JsonResponse({"lines": found, "cursor": cursor, **state})


# Desk's events for the demo bot: the SDK's receiver checks the signature over the raw
# body before anything else (401 otherwise) and hands over the typed event.
webhook = webhook_view(bot.webhook_secret, bot.receive_event)
