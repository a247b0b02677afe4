"""A ready webhook receiver for Django: `webhook_view(secret, handler)`.

    # urls.py
    from desk_sdk.django import webhook_view
    urlpatterns = [path("desk/webhook/", webhook_view(settings.DESK_WEBHOOK_SECRET, on_event))]

It verifies the signature over the raw body (401 when it is wrong, nothing handled),
calls `handler(event)` with the typed event, and answers 200. When the handler
raises, Django answers 500 and Desk delivers the event again later. An `async def`
handler gets an async view. CSRF does not apply: the signature is the check.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from desk_sdk.errors import InvalidWebhook
from desk_sdk.models import Event
from desk_sdk.webhooks import TOLERANCE, Secret, verify_webhook

logger = logging.getLogger("desk_sdk.webhooks")


def _refused(error: InvalidWebhook) -> JsonResponse:
    logger.warning("refused a webhook request: %s", error.message)
    return JsonResponse({"error": error.code, "message": error.message}, status=error.status)


def webhook_view(
    secret: Secret,
    handler: Callable[[Event], Any] | Callable[[Event], Awaitable[Any]],
    *,
    tolerance: int = TOLERANCE,
) -> Callable[[HttpRequest], Any]:
    """A Django view receiving Desk's webhooks for one bot; `secret` may be a function
    that reads the current secret on each request."""
    if inspect.iscoroutinefunction(handler):

        async def async_view(request: HttpRequest) -> HttpResponse:
            if request.method != "POST":
                return HttpResponseNotAllowed(["POST"])
            try:
                event = verify_webhook(secret, request.headers, request.body, tolerance=tolerance)
            except InvalidWebhook as error:
                return _refused(error)
            await handler(event)
            return JsonResponse({"ok": True})

        return csrf_exempt(async_view)

    def view(request: HttpRequest) -> HttpResponse:
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        try:
            event = verify_webhook(secret, request.headers, request.body, tolerance=tolerance)
        except InvalidWebhook as error:
            return _refused(error)
        handler(event)
        return JsonResponse({"ok": True})

    return csrf_exempt(view)
