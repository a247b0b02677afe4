"""The demo webchat (the customer's side) and the demo bot's webhook endpoint.

The page polls `lines` (an async long-poll, like Desk's own event long-poll) so the
agent's replies and the handoff messages appear as soon as the webhook brings them.
"""

import json

from asgiref.sync import sync_to_async
from desk_sdk.django import webhook_view
from django.conf import settings
from django.core.exceptions import ValidationError
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


def _lines_after(chat_pk: int, after: int) -> tuple[list[dict], bool]:
    lines = [bot.line_json(line) for line in Line.objects.filter(chat_id=chat_pk, pk__gt=after)]
    handoff = Chat.objects.filter(pk=chat_pk).values_list("handoff", flat=True).first()
    return lines, bool(handoff)


@require_GET
async def lines(request: HttpRequest, chat_id) -> JsonResponse:
    """The chat's lines after `after`, at once or as soon as one arrives (up to `wait` s)."""
    try:
        after = max(int(request.GET.get("after", 0)), 0)
        wait = min(max(int(request.GET.get("wait", 0)), 0), MAX_WAIT)
    except ValueError:
        return _bad("after and wait are whole numbers.")
    chat = await wakeups.pooled(_chat)(chat_id)
    found, handoff = await wakeups.long_poll(
        bot.chat_key(chat.pk),
        lambda: wakeups.pooled(_lines_after)(chat.pk, after),
        wait=wait,
        recheck=RECHECK_SECONDS,
        found=lambda answer: bool(answer[0]),
    )
    cursor = found[-1]["id"] if found else after
    return JsonResponse({"lines": found, "cursor": cursor, "handoff": handoff})


# Desk's events for the demo bot: the SDK's receiver checks the signature over the raw
# body before anything else (401 otherwise) and hands over the typed event.
webhook = webhook_view(bot.webhook_secret, bot.receive_event)
