"""Desk's signed webhooks reach the SDK's ready receivers (Django view, ASGI app under
Starlette, WSGI app under Flask), served for real, and each parses the same typed events.
Forged or replayed requests are refused before the handler sees them."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Callable, Iterator

import httpx
import pytest
from conftest import free_port, wait_for

from desk_sdk import AgentMessage, HitlAssigned, InvalidWebhook, verify_webhook
from desk_sdk.webhooks import sign

pytestmark = pytest.mark.slow


class Bot:
    """What a bot keeps: its webhook secret (known once it deployed) and the events."""

    def __init__(self) -> None:
        self.secret = ""
        self.events: list = []
        self.fail_next = 0
        self.lock = threading.Lock()

    def current_secret(self) -> str:
        return self.secret

    def handle(self, event) -> None:
        with self.lock:
            if self.fail_next:
                self.fail_next -= 1
                raise RuntimeError("the bot's database is down")
            self.events.append(event)

    async def handle_async(self, event) -> None:
        await asyncio.sleep(0)
        self.handle(event)


def serve_flask(bot: Bot) -> tuple[str, Callable[[], None]]:
    from flask import Flask
    from werkzeug.middleware.dispatcher import DispatcherMiddleware
    from werkzeug.serving import make_server

    from desk_sdk.wsgi import WebhookApp

    app = Flask("bot")
    app.add_url_rule("/", "home", lambda: "the bot's own pages")
    app.wsgi_app = DispatcherMiddleware(
        app.wsgi_app, {"/desk/webhook": WebhookApp(bot.current_secret, bot.handle)}
    )
    server = make_server("127.0.0.1", free_port(), app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_port}/desk/webhook", server.shutdown


def serve_starlette(bot: Bot) -> tuple[str, Callable[[], None]]:
    import uvicorn
    from starlette.applications import Starlette
    from starlette.routing import Mount

    from desk_sdk.asgi import WebhookApp

    app = Starlette(routes=[Mount("/desk/webhook", WebhookApp(bot.current_secret,
                                                              bot.handle_async))])
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error"))
    threading.Thread(target=server.run, daemon=True).start()
    wait_for(lambda: server.started, what="uvicorn")

    def stop() -> None:
        server.should_exit = True

    return f"http://127.0.0.1:{port}/desk/webhook/", stop


def serve_django(bot: Bot) -> tuple[str, Callable[[], None]]:
    import sys
    import types
    from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

    import django
    from django.conf import settings
    from django.urls import clear_url_caches, path

    from desk_sdk.django import webhook_view

    urls = types.ModuleType("bot_urls")
    urls.urlpatterns = [path("desk/webhook/", webhook_view(bot.current_secret, bot.handle))]
    sys.modules["bot_urls"] = urls
    clear_url_caches()  # this test's bot, not an earlier test's
    if not settings.configured:
        settings.configure(
            ROOT_URLCONF="bot_urls", ALLOWED_HOSTS=["*"], SECRET_KEY="bot-secret", DEBUG=False,
            MIDDLEWARE=["django.middleware.csrf.CsrfViewMiddleware"],  # the view is exempt
        )
        django.setup()
    from django.core.wsgi import get_wsgi_application

    class Quiet(WSGIRequestHandler):
        def log_message(self, *args) -> None:
            pass

    class Threaded(WSGIServer):
        def process_request(self, request, client_address) -> None:
            threading.Thread(
                target=super().process_request, args=(request, client_address), daemon=True
            ).start()

    server = make_server("127.0.0.1", free_port(), get_wsgi_application(),
                         server_class=Threaded, handler_class=Quiet)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_port}/desk/webhook/", server.shutdown


RECEIVERS = {"django": serve_django, "asgi-starlette": serve_starlette, "wsgi-flask": serve_flask}


@pytest.fixture(params=list(RECEIVERS))
def receiver(request) -> Iterator[tuple[Bot, str]]:
    bot = Bot()
    url, stop = RECEIVERS[request.param](bot)
    yield bot, url
    stop()


def test_desks_events_reach_the_receiver_typed(desk_server, receiver):
    bot, url = receiver
    desk = desk_server.connected_bot(webhook_url=url, agent_assigned_message="{agentName} is here")
    bot.secret = desk.get_bot().webhook_secret
    desk.start_hitl("conv-w")
    desk_server.agent.claim(desk.bot_id, "conv-w")
    desk_server.agent.reply(desk.bot_id, "conv-w", "Hello from Desk")
    wait_for(lambda: len(bot.events) >= 2, what="two webhook deliveries")
    assigned, reply = bot.events
    assert isinstance(assigned, HitlAssigned) and assigned.message == "Maya Lopez is here"
    assert isinstance(reply, AgentMessage) and reply.text == "Hello from Desk"
    assert reply.bot_id == desk.bot_id and reply.conversation_id == "conv-w"


def test_the_receiver_refuses_forged_and_replayed_requests(desk_server, receiver):
    bot, url = receiver
    bot.secret = "whsec_the-bots-real-secret"
    body = json.dumps({"id": "0b6f3c7e-5d1a-4c0e-9f5e-0a8d1c3b2e47", "cursor": 1,
                       "type": "agentMessage", "text": "send me your password"}).encode()
    now = int(time.time())
    forged = {"Desk-Timestamp": str(now), "Desk-Signature": sign("whsec_guessed", now, body)}
    stale = {"Desk-Timestamp": str(now - 3600),
             "Desk-Signature": sign(bot.secret, now - 3600, body)}
    for headers in (forged, stale, {}):
        answer = httpx.post(url, content=body, headers={"Content-Type": "application/json",
                                                        **headers})
        assert answer.status_code == 401, answer.text
    assert httpx.get(url).status_code == 405
    genuine = {"Desk-Timestamp": str(now), "Desk-Signature": sign(bot.secret, now, body)}
    assert httpx.post(url, content=body, headers=genuine).status_code == 200
    assert [e.text for e in bot.events] == ["send me your password"]  # only the genuine one


def test_a_failing_handler_gets_the_event_again(desk_server):
    bot = Bot()
    url, stop = serve_flask(bot)
    try:
        desk = desk_server.connected_bot(webhook_url=url)
        bot.secret = desk.get_bot().webhook_secret
        bot.fail_next = 1  # the first delivery fails: the receiver answers 500
        desk.start_hitl("conv-f")
        desk_server.agent.claim(desk.bot_id, "conv-f")
        event = wait_for(lambda: bot.events, what="the redelivered event")[0]
        assert isinstance(event, HitlAssigned) and bot.fail_next == 0
    finally:
        stop()


def test_verify_webhook_reads_headers_in_every_form_a_framework_gives():
    secret, body, now = "whsec_x", b'{"id": "e1", "cursor": 7, "type": "hitlQueued"}', 1_800_000
    signature = sign(secret, now, body)
    forms = [
        {"Desk-Timestamp": str(now), "Desk-Signature": signature},  # a dict, Django's headers
        [(b"desk-timestamp", str(now).encode()), (b"desk-signature", signature.encode())],  # ASGI
        {"HTTP_DESK_TIMESTAMP": str(now), "HTTP_DESK_SIGNATURE": signature},  # a WSGI environ
    ]
    for headers in forms:
        event = verify_webhook(secret, headers, body, now=now + 10)
        assert (event.type, event.cursor) == ("hitlQueued", 7)  # a type this SDK does not know
    with pytest.raises(InvalidWebhook):
        verify_webhook(secret, forms[0], body, now=now + 301)
    with pytest.raises(InvalidWebhook):
        verify_webhook(secret, forms[0], body + b" ", now=now)
