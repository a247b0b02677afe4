"""Agents attach files: the composer's upload, a reply or note naming the uploads (by
websocket frame or plain form post), the transcript drawing each type, the profile
picture bots show."""

import io

import pytest
from django.test import Client
from PIL import Image

from bots.models import Event
from desk import actions, services
from desk.exceptions import InvalidInput
from desk.models import AgentProfile, Message, StoredFile, Ticket

pytestmark = pytest.mark.django_db(transaction=True)
PDF = b"%PDF-1.4\n%%EOF\n"


def png(color=(10, 120, 200)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (40, 30), color).save(out, "PNG")
    return out.getvalue()


def named(data: bytes, name: str) -> io.BytesIO:
    handle = io.BytesIO(data)
    handle.name = name
    return handle


@pytest.fixture
def ticket(connected_bot):
    ticket, _ = services.start_hitl(bot=connected_bot, conversation_id="conv-1",
                                    user_name="Ann")
    return ticket


def test_the_composer_upload_answers_what_the_file_is(agent_client, ticket):
    r = agent_client.post(f"/tickets/{ticket.pk}/files/", {"file": named(png(), "shot.png")})
    assert r.status_code == 201
    body = r.json()
    assert (body["kind"], body["contentType"], body["name"]) == ("image", "image/png", "shot.png")
    assert body["thumbnailUrl"] == f"/files/{body['fileId']}/thumbnail/"
    stored = StoredFile.objects.get(public_id=body["fileId"])
    assert (stored.ticket, stored.uploaded_by.username) == (ticket, "maya")


def test_the_composer_upload_is_413_over_the_limit_and_needs_a_login(
    agent_client, ticket, settings
):
    settings.DESK_MAX_UPLOAD_BYTES = 100
    r = agent_client.post(f"/tickets/{ticket.pk}/files/", {"file": named(b"x" * 101, "a.txt")})
    assert r.status_code == 413
    assert r.json()["error"] == "too_large"
    assert not StoredFile.objects.exists()
    anonymous = Client().post(f"/tickets/{ticket.pk}/files/", {"file": named(b"x", "a.txt")})
    assert anonymous.status_code == 302  # to the login page


def test_a_websocket_frame_sends_text_and_files_as_one_message(agent, agent_client, ticket):
    ids = [
        agent_client.post(f"/tickets/{ticket.pk}/files/", {"file": named(data, name)}).json()[
            "fileId"]
        for data, name in [(png(), "shot.png"), (PDF, "refund.pdf")]
    ]
    actions.perform(agent=agent, ticket_id=ticket.pk,
                    data={"action": "reply", "text": "Here you go", "files": ids})
    message = ticket.messages.get(kind="agent")
    assert message.type == "bloc"
    assert [i["type"] for i in message.payload["items"]] == ["text", "image", "file"]
    event = Event.objects.get(type="agentMessage").payload
    assert event["messageType"] == "bloc"
    page = agent_client.get(f"/tickets/{ticket.pk}/").content.decode()
    assert f"/files/{ids[0]}/thumbnail/" in page
    assert "refund.pdf" in page and "file-icon-pdf" in page


def test_a_file_alone_needs_no_text_and_one_id_is_enough(agent, agent_client, ticket):
    file_id = agent_client.post(f"/tickets/{ticket.pk}/files/",
                                {"file": named(PDF, "refund.pdf")}).json()["fileId"]
    actions.perform(agent=agent, ticket_id=ticket.pk,
                    data={"action": "reply", "text": "", "files": file_id})
    assert ticket.messages.get(kind="agent").type == "file"


def test_someone_elses_upload_cannot_be_sent(agent, other_agent, ticket):
    theirs = Client()
    theirs.force_login(other_agent)
    file_id = theirs.post(f"/tickets/{ticket.pk}/files/",
                          {"file": named(PDF, "x.pdf")}).json()["fileId"]
    with pytest.raises(InvalidInput) as refused:
        actions.perform(agent=agent, ticket_id=ticket.pk,
                        data={"action": "note", "text": "x", "files": [file_id]})
    assert refused.value.field == "files"
    assert not ticket.messages.filter(kind="note").exists()


def test_a_plain_form_post_stores_the_files_then_sends(agent_client, ticket):
    r = agent_client.post(f"/tickets/{ticket.pk}/actions/", {
        "action": "note", "text": "The customer's receipt", "upload": named(PDF, "receipt.pdf"),
    })
    assert r.status_code == 302
    note = ticket.messages.get(kind="note")
    assert (note.type, note.text) == ("bloc", "The customer's receipt\n[File] receipt.pdf")
    assert not Event.objects.filter(type="agentMessage").exists()


def test_every_type_is_drawn_for_agents(agent_client, bot_api, connected_bot):
    history = [
        {"source": {"type": "bot"}, "type": "card", "payload": {
            "title": "Kettle 2000", "subtitle": "In stock", "actions": [
                {"action": "postback", "label": "Buy", "value": "buy"},
                {"action": "url", "label": "Manual", "value": "https://acme.example/m"}]}},
        {"source": {"type": "bot"}, "type": "choice", "payload": {
            "text": "Which one?", "options": [{"label": "Red", "value": "r"}]}},
        {"source": {"type": "bot"}, "type": "dropdown", "payload": {
            "text": "Store?", "options": [{"label": "Paris", "value": "p"}]}},
        {"source": {"type": "bot"}, "type": "carousel", "payload": {"items": [
            {"title": "A", "actions": []}, {"title": "B", "actions": []}]}},
        {"source": {"type": "user", "userId": "u"}, "type": "location", "payload": {
            "latitude": 1.5, "longitude": 2.5, "address": "1 Main St"}},
        {"source": {"type": "bot"}, "type": "markdown", "payload": {
            "markdown": "**Bold** <script>alert(1)</script> [x](javascript:alert(1))"}},
        {"source": {"type": "user", "userId": "u"}, "type": "audio", "payload": {
            "audioUrl": "https://cdn.example.com/v.mp3"}},
        {"source": {"type": "user", "userId": "u"}, "type": "video", "payload": {
            "videoUrl": "https://cdn.example.com/v.mp4"}},
        {"source": {"type": "user", "userId": "u"}, "type": "image", "payload": {
            "imageUrl": "https://cdn.example.com/p.png"}},
    ]
    r = bot_api.post("/api/v1/bots/support-bot/startHitl",
                     {"conversationId": "c-9", "messageHistory": history})
    assert r.status_code == 201, r.content
    ticket = Ticket.objects.get(conversation_id="c-9")
    page = agent_client.get(f"/tickets/{ticket.pk}/").content.decode()
    assert 'class="part-card"' in page and ">Buy</button>" in page and "Manual ↗" in page
    assert page.count("<button type=\"button\" disabled") == 3  # shown, not clickable
    assert "<select disabled" in page and "Paris" in page
    assert 'class="part-carousel"' in page
    assert "https://www.openstreetmap.org/?mlat=1.5&amp;mlon=2.5" in page
    assert "<strong>Bold</strong>" in page
    assert "<script>alert(1)</script>" not in page
    assert 'href="javascript' not in page
    assert '<audio controls preload="metadata" src="https://cdn.example.com/v.mp3"' in page
    assert '<video controls preload="metadata" src="https://cdn.example.com/v.mp4"' in page
    assert 'src="https://cdn.example.com/p.png"' in page and 'referrerpolicy="no-referrer"' in page


def test_an_agent_sets_a_picture_that_bots_are_given(agent, agent_client, ticket):
    before = agent_client.get("/me/profile/")
    assert before.status_code == 200
    initials_url = before.context["avatar_url"]
    initials = Client().get(initials_url.replace("http://testserver", ""))
    assert (initials.status_code, initials["Content-Type"]) == (200, "image/png")
    r = agent_client.post("/me/profile/", {"avatar": named(png((250, 0, 0)), "me.png")})
    assert r.status_code == 302
    picture = AgentProfile.objects.get(agent=agent).avatar
    assert picture is not None and picture.kind == "image"
    services.ticket_claim(ticket_id=ticket.pk, agent=agent)
    url = Event.objects.get(type="hitlAssigned").payload["agentAvatarUrl"]
    assert url != initials_url
    served = Client().get(url.replace("http://testserver", ""))
    assert served.status_code == 200 and served.content == png((250, 0, 0))
    forged = url.replace(".png", "x.png")
    assert Client().get(forged.replace("http://testserver", "")).status_code == 404


def test_a_file_that_is_not_a_picture_is_refused_as_one(agent, agent_client):
    agent_client.post("/me/profile/", {"avatar": named(PDF, "me.png")})
    assert AgentProfile.objects.filter(agent=agent, avatar__isnull=False).count() == 0
    assert not StoredFile.objects.exists()


def test_unsent_uploads_are_forgotten(agent, agent_client, ticket):
    from desk.files import forget_unsent_file

    body = agent_client.post(f"/tickets/{ticket.pk}/files/", {"file": named(PDF, "x.pdf")}).json()
    sent = agent_client.post(f"/tickets/{ticket.pk}/files/", {"file": named(PDF, "y.pdf")}).json()
    actions.perform(agent=agent, ticket_id=ticket.pk,
                    data={"action": "note", "text": "", "files": [sent["fileId"]]})
    for row in StoredFile.objects.all():
        forget_unsent_file.call(row.pk)
    assert list(StoredFile.objects.values_list("name", flat=True)) == ["y.pdf"]
    assert Message.objects.filter(files__name="y.pdf").exists()
    assert body
