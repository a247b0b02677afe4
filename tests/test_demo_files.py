"""The demo webchat with pictures and files, over real HTTP: the greeting's card and choice
reach the agent in the handoff's history; the customer's photo goes to Desk by upload;
the agent's PDF comes back and the webchat shows it from the bot's own copy."""

import io

import pytest
from PIL import Image
from test_demo_handoff import Customer, demo, demo_ticket, maya  # noqa: F401 - fixtures

from desk import files, services

pytestmark = pytest.mark.django_db(transaction=True)
pytest_plugins = ["webhook_receiver"]
PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\n%%EOF\n"


def png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (80, 60), (20, 160, 90)).save(out, "PNG")
    return out.getvalue()


def test_a_photo_goes_to_the_agent_and_a_pdf_comes_back(demo, maya):  # noqa: F811
    customer = Customer(demo.url)
    customer.start("Jordan Lee", "")
    greeting = customer.read()
    assert [line["kind"] for line in greeting] == ["text", "card", "choice"]
    card = greeting[1]["items"][0]
    assert [a["label"] for a in card["actions"]] == ["Shipping times", "Talk to a person"]

    # A photo: the bot cannot read it, so it hands over with the photo in the history.
    r = customer.http.post(customer.chat_url + "upload", files={"file": ("kettle.png", png())},
                           headers={"X-CSRFToken": customer.http.cookies["csrftoken"]})
    assert r.status_code == 202, r.text
    assert r.json()["handoff"] is True
    ticket = demo_ticket()
    kinds = [(m.kind, m.type) for m in ticket.messages.order_by("pk")]
    assert kinds[:4] == [("bot", "text"), ("bot", "card"), ("bot", "choice"), ("user", "image")]
    photo = ticket.messages.get(type="image")
    assert photo.files.get().content_type == "image/png"
    mine = next(line for line in customer.read() if line["kind"] == "image")
    assert customer.http.get(mine["items"][0]["url"]).content == png()

    # The agent sends a PDF back: the webchat shows it, served from the bot's copy.
    services.ticket_claim(ticket_id=ticket.pk, agent=maya)
    refund = files.store(PDF, name="refund.pdf", agent=maya, ticket=ticket)
    services.ticket_reply(ticket_id=ticket.pk, agent=maya, text="Your refund note",
                          files=[refund])
    line = customer.wait_for("agent")
    assert [item["type"] for item in line["items"]] == ["text", "file"]
    assert line["items"][1]["name"] == "refund.pdf"
    served = customer.http.get(line["items"][1]["url"])
    assert served.content == PDF
    assert served.headers["content-disposition"].startswith("attachment")
