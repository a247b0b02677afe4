"""Media a bot sends by URL: shown as links and previews, never fetched by Desk unless an
admin turns on DESK_FETCH_REMOTE_MEDIA; then a worker keeps a copy, through the webhooks'
private-address guard. Also: a body announced far over the upload limit is refused
before it is read."""

import io
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django_tasks_db.models import DBTaskResult
from PIL import Image

from desk import files
from desk.models import Message, StoredFile, Ticket

pytestmark = pytest.mark.django_db(transaction=True)
URL = "/api/v1/bots/support-bot/conversations/conv-1/messages"


def png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (30, 20), (0, 128, 0)).save(out, "PNG")
    return out.getvalue()


@pytest.fixture
def media_server():
    """A bot's CDN on 127.0.0.1 that counts what it is asked for."""
    picture = png()
    asked: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            asked.append(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.send_header("Content-Length", str(len(picture)))
            self.end_headers()
            self.wfile.write(picture)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    server.asked = asked
    server.url = f"http://127.0.0.1:{server.server_port}/photos/kettle.png"
    server.picture = picture
    yield server
    server.shutdown()


@pytest.fixture
def open_ticket(bot_api, connected_bot):
    assert bot_api.post("/api/v1/bots/support-bot/startHitl",
                        {"conversationId": "conv-1"}).status_code == 201
    return Ticket.objects.get(conversation_id="conv-1")


def queued_copies() -> list[int]:
    return [
        row.args_kwargs["args"][0] for row in DBTaskResult.objects.filter(
            task_path="desk.files.copy_remote_media")
    ]


def test_by_default_desk_never_fetches_a_remote_picture(
    bot_api, open_ticket, media_server, agent_client
):
    r = bot_api.post(URL, {"type": "image", "imageUrl": media_server.url})
    assert r.status_code == 202
    assert queued_copies() == []
    page = agent_client.get(f"/tickets/{open_ticket.pk}/").content.decode()
    assert f'src="{media_server.url}"' in page  # the agent's browser loads it
    assert media_server.asked == []
    assert not StoredFile.objects.exists()


def test_when_turned_on_a_worker_keeps_a_copy(
    bot_api, open_ticket, media_server, agent_client, settings
):
    settings.DESK_FETCH_REMOTE_MEDIA = True
    settings.DESK_WEBHOOK_ALLOW_PRIVATE = False
    settings.DESK_WEBHOOK_ALLOWED_NETWORKS = []
    r = bot_api.post(URL, {"type": "image", "imageUrl": media_server.url})
    message = Message.objects.get(pk=r.json()["id"])
    assert queued_copies() == [message.pk]
    # The guard: 127.0.0.1 is a loopback address, so nothing is fetched.
    assert files.copy_remote_media.call(message.pk) == 0
    assert media_server.asked == []
    # Allowed: the copy is kept, linked, and shown instead of the bot's URL.
    import ipaddress

    settings.DESK_WEBHOOK_ALLOWED_NETWORKS = [ipaddress.ip_network("127.0.0.0/8")]
    assert files.copy_remote_media.call(message.pk) == 1
    assert media_server.asked == ["/photos/kettle.png"]
    copy = message.files.get()
    assert (copy.source_url, copy.content_type, copy.name) == (
        media_server.url, "image/png", "kettle.png")
    page = agent_client.get(f"/tickets/{open_ticket.pk}/").content.decode()
    assert f"/files/{copy.public_id}/thumbnail/" in page
    assert files.copy_remote_media.call(message.pk) == 0  # kept once


def test_a_body_announced_over_the_limit_is_refused_before_it_is_read(settings):
    from asgiref.sync import async_to_sync

    from desk.asgi import application

    settings.DESK_MAX_UPLOAD_BYTES = 1000
    sent: list[dict] = []
    read = []

    async def receive():
        read.append(True)
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message):
        sent.append(message)

    scope = {
        "type": "http", "method": "POST", "path": "/api/v1/bots/x/files", "raw_path": b"",
        "query_string": b"", "headers": [(b"content-length", str(5 * 1024 * 1024).encode()),
                                         (b"host", b"testserver")],
        "client": ("127.0.0.1", 5000), "server": ("testserver", 80), "scheme": "http",
        "http_version": "1.1", "root_path": "", "asgi": {"version": "3.0"},
    }
    async_to_sync(application)(scope, receive, send)
    assert sent[0]["status"] == 413
    assert b"too_large" in sent[1]["body"]
    assert read == []
