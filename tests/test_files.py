"""Files both ways: a bot uploads (POST /files), sends the url in a message, agents open it;
agents' attachments reach the bot as signed, expiring URLs. What a file is comes from its
bytes; active content is only ever a download."""

import io
import time
from urllib.parse import urlsplit

import pytest
from django.test import Client
from PIL import Image

from bots.events import event_as_json
from bots.models import Event
from desk import files, services
from desk.models import Message, StoredFile, Ticket

pytestmark = pytest.mark.django_db(transaction=True)

UPLOAD = "/api/v1/bots/support-bot/files"
MESSAGES = "/api/v1/bots/support-bot/conversations/conv-1/messages"
PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
SCRIPT_SVG = (
    b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
    b'<script>alert("svg")</script><rect width="10" height="10"/></svg>'
)
CLEAN_SVG = b'<svg xmlns="http://www.w3.org/2000/svg" width="4" height="4"><rect/></svg>'


def png(width=64, height=48, color=(200, 30, 30)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), color).save(out, "PNG")
    return out.getvalue()


def upload(bot_api, data: bytes, name: str, content_type: str = "application/octet-stream"):
    handle = io.BytesIO(data)
    handle.name = name
    return bot_api.client.post(UPLOAD, {"file": handle}, headers=bot_api.headers)


def path_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}" if parts.query else parts.path


@pytest.fixture
def open_ticket(bot_api, connected_bot):
    r = bot_api.post("/api/v1/bots/support-bot/startHitl",
                     {"conversationId": "conv-1", "userName": "Ann"})
    assert r.status_code == 201
    return Ticket.objects.get(conversation_id="conv-1")


# --- the bot uploads -------------------------------------------------------------------------


def test_an_upload_is_stored_on_the_filesystem_and_answered_201(bot_api, connected_bot,
                                                                 file_storage):
    data = png()
    r = upload(bot_api, data, "kettle.png")
    assert r.status_code == 201, r.content
    body = r.json()
    assert set(body) == {"fileId", "url", "contentType", "size", "name"}
    assert (body["contentType"], body["size"], body["name"]) == ("image/png", len(data),
                                                                 "kettle.png")
    assert body["url"].startswith(f"http://testserver/files/{body['fileId']}/kettle.png?")
    stored = StoredFile.objects.get(public_id=body["fileId"])
    assert (file_storage / stored.storage_name).read_bytes() == data
    assert "kettle" not in stored.storage_name  # the sender's name never makes a path


def test_the_content_type_comes_from_the_bytes_not_the_name(bot_api, connected_bot):
    r = upload(bot_api, PDF, "holiday.png", content_type="image/png")
    assert r.json()["contentType"] == "application/pdf"


def test_an_upload_over_the_limit_is_413_and_keeps_nothing(
    bot_api, connected_bot, settings, file_storage
):
    settings.DESK_MAX_UPLOAD_BYTES = 1000
    r = upload(bot_api, b"x" * 1001, "big.txt")
    assert r.status_code == 413
    assert r.json()["error"] == "too_large"
    assert "1000 bytes" in r.json()["message"].replace(",", "")
    assert not StoredFile.objects.exists()
    assert not file_storage.exists() or not any(file_storage.rglob("*.*"))
    assert upload(bot_api, b"x" * 1000, "fits.txt").status_code == 201


def test_uploading_needs_a_connected_bot_and_a_file(bot_api, deployed_bot):
    assert upload(bot_api, png(), "a.png").status_code == 403
    deployed_bot.connected = True
    deployed_bot.save()
    r = bot_api.client.post(UPLOAD, {}, headers=bot_api.headers)
    assert r.status_code == 422
    assert "file" in r.json()["fields"]


def test_an_empty_file_is_422(bot_api, connected_bot):
    r = upload(bot_api, b"", "empty.txt")
    assert r.status_code == 422
    assert r.json()["fields"] == {"file": "The file is empty."}


# --- naming an upload in a message ---------------------------------------------------------


def test_an_uploaded_picture_sent_as_image_is_linked_and_shown_to_agents(
    bot_api, open_ticket, agent_client
):
    url = upload(bot_api, png(), "kettle.png").json()["url"]
    r = bot_api.post(MESSAGES, {"type": "image", "imageUrl": url})
    assert r.status_code == 202, r.content
    message = Message.objects.get(pk=r.json()["id"])
    stored = message.files.get()
    assert message.payload == {"imageUrl": f"desk-file:{stored.public_id.hex}/kettle.png"}
    assert message.text == "[Image] kettle.png"
    assert r.json()["payload"]["imageUrl"].startswith(f"http://testserver/files/{stored.public_id}/")
    page = agent_client.get(f"/tickets/{open_ticket.pk}/").content.decode()
    assert f"/files/{stored.public_id}/thumbnail/" in page


def test_a_pdf_sent_as_an_image_is_422_wrong_type(bot_api, open_ticket):
    url = upload(bot_api, PDF, "photo.png").json()["url"]
    r = bot_api.post(MESSAGES, {"type": "image", "imageUrl": url})
    assert r.status_code == 422
    assert "application/pdf" in r.json()["fields"]["imageUrl"]
    assert not open_ticket.messages.filter(kind="user").exists()
    assert bot_api.post(MESSAGES, {"type": "file", "fileUrl": url}).status_code == 202


def test_an_svg_with_a_script_is_not_an_image(bot_api, open_ticket):
    url = upload(bot_api, SCRIPT_SVG, "logo.svg").json()["url"]
    r = bot_api.post(MESSAGES, {"type": "image", "imageUrl": url})
    assert r.status_code == 422
    assert "imageUrl" in r.json()["fields"]


def test_another_bots_file_or_an_unknown_id_is_422(bot_api, open_ticket):
    from bots.services import api_key_create, bot_deploy, bot_set_connected

    key, plain = api_key_create(name="other")
    bot_deploy(bot_id="other-bot", api_key=key, name="Other")
    bot_set_connected(bot_id="other-bot", connected=True)
    other = Client()
    handle = io.BytesIO(png())
    handle.name = "theirs.png"
    theirs = other.post("/api/v1/bots/other-bot/files", {"file": handle},
                        headers={"Authorization": f"Bearer {plain}"}).json()["url"]
    r = bot_api.post(MESSAGES, {"type": "image", "imageUrl": theirs})
    assert r.status_code == 422
    assert "names no file of this bot" in r.json()["fields"]["imageUrl"]
    guessed = "http://testserver/files/00000000-0000-4000-8000-000000000000/x.png"
    assert bot_api.post(MESSAGES, {"type": "image", "imageUrl": guessed}).status_code == 422


def test_a_bloc_and_a_card_can_name_uploads(bot_api, connected_bot):
    picture = upload(bot_api, png(), "kettle.png").json()["url"]
    invoice = upload(bot_api, PDF, "invoice.pdf").json()["url"]
    r = bot_api.post("/api/v1/bots/support-bot/startHitl", {
        "conversationId": "conv-2",
        "messageHistory": [
            {"source": {"type": "bot"}, "type": "card",
             "payload": {"title": "Kettle", "imageUrl": picture, "actions": []}},
            {"source": {"type": "user", "userId": "u"}, "type": "bloc", "payload": {"items": [
                {"type": "text", "payload": {"text": "Here is the invoice"}},
                {"type": "file", "payload": {"fileUrl": invoice}}]}},
        ],
    })
    assert r.status_code == 201, r.content
    card, bloc = Ticket.objects.get(conversation_id="conv-2").messages.order_by("id")
    assert card.files.get().name == "kettle.png"
    assert bloc.files.get().name == "invoice.pdf"
    assert bloc.text == "Here is the invoice\n[File] invoice.pdf"


# --- serving ------------------------------------------------------------------------------


def test_files_are_served_to_logged_in_agents_only(bot_api, connected_bot, agent_client):
    body = upload(bot_api, png(), "kettle.png").json()
    path = f"/files/{body['fileId']}/kettle.png"
    r = agent_client.get(path)
    assert r.status_code == 200
    assert r["Content-Type"] == "image/png"
    assert r["Content-Disposition"] == 'inline; filename="kettle.png"'
    assert r["X-Content-Type-Options"] == "nosniff"
    assert r.content == png()
    assert Client().get(path).status_code == 404


def test_a_signed_url_works_until_it_expires(bot_api, connected_bot, settings):
    settings.DESK_FILE_URL_TTL_SECONDS = 2
    url = upload(bot_api, PDF, "invoice.pdf").json()["url"]
    anonymous = Client()
    r = anonymous.get(path_of(url))
    assert r.status_code == 200
    assert r.content == PDF
    assert r["Content-Disposition"] == 'attachment; filename="invoice.pdf"'
    assert "sandbox" in r["Content-Security-Policy"]
    time.sleep(3.1)
    assert anonymous.get(path_of(url)).status_code == 404


@pytest.mark.parametrize("tamper", ["signature", "expires", "file"])
def test_a_tampered_or_guessed_url_is_404(bot_api, connected_bot, tamper):
    url = path_of(upload(bot_api, PDF, "invoice.pdf").json()["url"])
    path, query = url.split("?")
    params = dict(part.split("=") for part in query.split("&"))
    if tamper == "signature":
        params["signature"] = params["signature"][:-2] + "xx"
    elif tamper == "expires":
        params["expires"] = str(int(params["expires"]) + 86400)
    else:
        path = "/files/00000000-0000-4000-8000-000000000000/invoice.pdf"
    altered = f"{path}?expires={params['expires']}&signature={params['signature']}"
    assert Client().get(altered).status_code == 404


def test_active_content_is_only_a_download(bot_api, connected_bot, agent_client):
    for data, name in [(SCRIPT_SVG, "logo.svg"), (b"<html><script>alert(1)</script>", "a.txt"),
                       (b"MZ\x90\x00" + b"\x00" * 200, "setup.pdf")]:
        body = upload(bot_api, data, name).json()
        r = agent_client.get(f"/files/{body['fileId']}/{name}")
        assert r.status_code == 200
        assert r["Content-Type"] == "application/octet-stream", name
        assert r["Content-Disposition"].startswith("attachment;"), name
        assert r["Content-Security-Policy"] == "default-src 'none'; sandbox; frame-ancestors 'none'"
        assert r["X-Content-Type-Options"] == "nosniff"


def test_a_clean_svg_is_a_picture_but_opens_as_a_download(bot_api, connected_bot, agent_client):
    body = upload(bot_api, CLEAN_SVG, "dot.svg").json()
    assert body["contentType"] == "image/svg+xml"
    stored = StoredFile.objects.get(public_id=body["fileId"])
    assert (stored.kind, stored.active) == ("image", False)
    r = agent_client.get(f"/files/{body['fileId']}/dot.svg")
    assert r["Content-Type"] == "image/svg+xml"
    assert r["Content-Disposition"].startswith("attachment;")
    assert "sandbox" in r["Content-Security-Policy"]


def test_ranges_are_answered_for_seeking(bot_api, connected_bot, agent_client):
    body = upload(bot_api, PDF, "invoice.pdf").json()
    r = agent_client.get(f"/files/{body['fileId']}/invoice.pdf", headers={"Range": "bytes=5-9"})
    assert r.status_code == 206
    assert r.content == PDF[5:10]
    assert r["Content-Range"] == f"bytes 5-9/{len(PDF)}"


def test_a_thumbnail_is_made_once_off_the_request(bot_api, connected_bot, agent_client):
    body = upload(bot_api, png(1600, 1200), "big.png").json()
    stored = StoredFile.objects.get(public_id=body["fileId"])
    assert stored.thumbnail_name == ""  # queued, not made while the bot waited
    thumb = f"/files/{stored.public_id}/thumbnail/"
    assert agent_client.get(thumb)["Content-Type"] == "image/png"  # the picture until then
    assert files.make_thumbnail.call(stored.pk) is True
    assert files.make_thumbnail.call(stored.pk) is False  # made once
    r = agent_client.get(thumb)
    assert r["Content-Type"] == "image/webp"
    with Image.open(io.BytesIO(r.content)) as image:
        assert image.size == (480, 360)


# --- agents' attachments reach the bot -------------------------------------------------------


def test_an_agents_attachment_reaches_the_bot_as_a_signed_url(open_ticket, agent, settings):
    client = Client()
    client.force_login(agent)
    handle = io.BytesIO(PDF)
    handle.name = "refund.pdf"
    r = client.post(f"/tickets/{open_ticket.pk}/files/", {"file": handle})
    assert r.status_code == 201, r.content
    stored = StoredFile.objects.get(public_id=r.json()["fileId"])
    services.ticket_reply(ticket_id=open_ticket.pk, agent=agent, text="Your refund:",
                          files=[stored])
    event = event_as_json(Event.objects.get(type="agentMessage"))
    assert event["messageType"] == "bloc"
    items = event["payload"]["items"]
    assert items[0] == {"type": "text", "payload": {"text": "Your refund:"}}
    url = items[1]["payload"]["fileUrl"]
    assert items[1]["type"] == "file"
    assert event["text"] == f"Your refund:\n[File] refund.pdf {url}"
    assert Client().get(path_of(url)).content == PDF
    assert event["agentAvatarUrl"]


def test_a_note_with_a_file_never_reaches_the_bot(open_ticket, agent):
    stored = files.store(PDF, name="internal.pdf", agent=agent, ticket=open_ticket)
    services.ticket_add_note(ticket_id=open_ticket.pk, agent=agent, text="", files=[stored])
    note = open_ticket.messages.get(kind="note")
    assert (note.type, note.text) == ("file", "[File] internal.pdf")
    assert not Event.objects.filter(type="agentMessage").exists()
