"""The baseline views: the least a Django view can do for each benchmarked call."""

import json

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt


def ping(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"ok": True})


@csrf_exempt
def trivial_json(request: HttpRequest) -> JsonResponse:
    """Baseline for startHitl: parse the same JSON body, answer a small JSON object."""
    body = json.loads(request.body or b"{}")
    return JsonResponse({"ok": True, "conversationId": body.get("conversationId")}, status=201)


@csrf_exempt
def relay(request: HttpRequest, group: str) -> JsonResponse:
    """Baseline for the relay: a sync view that group_sends the text, as Desk's services do."""
    body = json.loads(request.body or b"{}")
    async_to_sync(get_channel_layer().group_send)(
        f"bench-{group}", {"type": "relay.message", "text": body.get("text", "")}
    )
    return JsonResponse({"ok": True}, status=201)
