"""Admin settings pages: API keys and Deflecting Bots.

Every change is a POST with CSRF. htmx requests get the changed row back to swap in
place; plain form posts get a redirect.
"""

from django.db.models import Count, Q
from django.db.models.functions import Coalesce
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from bots import delivery, services
from bots.models import API_KEY_NAME_MAX_LENGTH, HANDOFF_MESSAGE_MAX_LENGTH, ApiKey, Bot
from desk.access import admin_required
from desk.exceptions import InvalidInput
from desk.models import Status


def bots_with_counts():
    return Bot.objects.select_related("webhook_state").annotate(
        open_tickets=Count("tickets", filter=~Q(tickets__status=Status.CLOSED)),
        waiting_events=Coalesce(delivery.waiting_events(), 0),
    )


def with_delivery_health(bot: Bot) -> Bot:
    """The bot, with `.delivery`: its webhook health (None when it uses long-poll)."""
    bot.delivery = delivery.health(bot, waiting=bot.waiting_events)
    return bot


@admin_required
def api_keys(request: HttpRequest) -> HttpResponse:
    keys = ApiKey.objects.select_related("created_by").annotate(bot_count=Count("deployed_bots"))
    context = {"keys": keys, "max_name_length": API_KEY_NAME_MAX_LENGTH}
    status = 200
    if request.method == "POST":
        name = request.POST.get("name", "")
        workspace_wide = request.POST.get("workspace_wide") == "on"
        try:
            key, plain = services.api_key_create(
                name=name, created_by=request.user, workspace_wide=workspace_wide
            )
        except InvalidInput as error:
            # The form comes back with what was typed and the reason; nothing was created.
            context.update(error=error.message, name=name, workspace_wide=workspace_wide)
            status = 422
        else:
            # The key is shown in this one response and never again, so no redirect here.
            context["new_key"] = plain
            context["new_key_obj"] = key
        if request.htmx:
            return render(request, "bots/api_keys.html#key-panel", context, status=status)
    return render(request, "bots/api_keys.html", context, status=status)


@admin_required
@require_POST
def api_key_revoke(request: HttpRequest, key_id: int) -> HttpResponse:
    get_object_or_404(ApiKey, pk=key_id)
    key = services.api_key_revoke(key_id=key_id)
    if request.htmx:
        return render(request, "bots/api_keys.html#key-row", {"key": key})
    return redirect("api-keys")


@admin_required
def deflecting_bots(request: HttpRequest) -> HttpResponse:
    return _bots_page(request)


def _bots_page(request: HttpRequest, refused: Bot | None = None, status: int = 200):
    """The page; `refused` stands in for its bot's row (an edit that was not saved)."""
    bots = [
        refused if refused is not None and bot.pk == refused.pk else with_delivery_health(bot)
        for bot in bots_with_counts()
    ]
    context = {"bots": bots, "max_message_length": HANDOFF_MESSAGE_MAX_LENGTH}
    return render(request, "bots/deflecting_bots.html", context, status=status)


def _bot_row(request: HttpRequest, bot_id: str) -> HttpResponse:
    if request.htmx:
        bot = with_delivery_health(bots_with_counts().get(bot_id=bot_id))
        context = {"bot": bot, "max_message_length": HANDOFF_MESSAGE_MAX_LENGTH}
        return render(request, "bots/deflecting_bots.html#bot-row", context)
    return redirect("deflecting-bots")


@admin_required
@require_POST
def bot_connect(request: HttpRequest, bot_id: str) -> HttpResponse:
    get_object_or_404(Bot, bot_id=bot_id)
    services.bot_set_connected(bot_id=bot_id, connected=request.POST.get("connected") == "on")
    return _bot_row(request, bot_id)


@admin_required
@require_POST
def bot_messages(request: HttpRequest, bot_id: str) -> HttpResponse:
    get_object_or_404(Bot, bot_id=bot_id)
    typed = {
        field: request.POST[field] for field in services.EDITABLE_MESSAGES if field in request.POST
    }
    try:
        services.bot_update_messages(bot_id=bot_id, **typed)
    except InvalidInput as error:
        # The row comes back with the editor open, what was typed and the reason; the
        # bot's saved messages are unchanged.
        bot = with_delivery_health(bots_with_counts().get(bot_id=bot_id))
        for field, value in typed.items():
            setattr(bot, field, value)  # shown in the editor, never saved
        bot.messages_error, bot.messages_error_field = error.message, error.field
        if not request.htmx:
            return _bots_page(request, refused=bot, status=422)
        context = {"bot": bot, "max_message_length": HANDOFF_MESSAGE_MAX_LENGTH}
        return render(request, "bots/deflecting_bots.html#bot-row", context, status=422)
    return _bot_row(request, bot_id)


@admin_required
@require_POST
def bot_webhook_retry(request: HttpRequest, bot_id: str) -> HttpResponse:
    """Try the bot's waiting webhook events now instead of at the next backoff step."""
    bot = get_object_or_404(Bot, bot_id=bot_id)
    delivery.retry_now(bot)
    return _bot_row(request, bot_id)
