"""The whole handoff through the demo bot and its webchat, over real HTTP.

The customer uses the webchat (/demo/), the demo bot talks to Desk only through the
bot API, Desk's events reach it by signed webhook (the embedded task worker sends
them), and the agent works the ticket in Desk.
"""

import json
import re
import socket
import threading
import time

import httpx
import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import Client

from bots.demo.models import Chat, DemoBotConfig
from bots.models import ApiKey, Bot
from bots.services import api_key_create
from desk import assignment, queue, services
from desk.models import Rating, Ticket

pytestmark = pytest.mark.django_db(transaction=True)
pytest_plugins = ["webhook_receiver"]  # the receiver, worker and fast_retries fixtures


class Customer:
    """Someone in the webchat, with a browser's cookies and CSRF header."""

    def __init__(self, base_url: str) -> None:
        self.http = httpx.Client(base_url=base_url, timeout=15)
        self.cursor = 0
        self.chat_url = ""
        self.queue = {"text": "", "version": -1}  # what the page shows above the chat

    def start(self, name: str, email: str) -> None:
        self.http.get("/demo/")
        r = self.http.post("/demo/", data={
            "name": name, "email": email,
            "csrfmiddlewaretoken": self.http.cookies["csrftoken"],
        })
        assert r.status_code == 302, r.text
        self.chat_url = r.headers["location"]
        assert self.http.get(self.chat_url).status_code == 200

    def say(self, text: str) -> dict:
        r = self.http.post(
            self.chat_url + "send", json={"text": text},
            headers={"X-CSRFToken": self.http.cookies["csrftoken"]},
        )
        assert r.status_code == 202, r.text
        return r.json()

    def read(self, wait: int = 0) -> list[dict]:
        """New lines since the last read, as the page's long-poll gets them."""
        r = self.http.get(self.chat_url + "lines", params={
            "after": self.cursor, "wait": wait, "queue": self.queue["version"]})
        assert r.status_code == 200
        body = r.json()
        self.cursor = body["cursor"]
        self.queue = body["queue"]
        return body["lines"]

    def wait_for_queue(self, text: str, timeout: float = 10) -> None:
        """Until the page's place-in-line banner reads `text` (as its long-poll updates it)."""
        deadline = time.monotonic() + timeout
        while self.queue["text"] != text and time.monotonic() < deadline:
            self.read(wait=2)
        assert self.queue["text"] == text

    def wait_for(self, sender: str, timeout: float = 10) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in self.read(wait=2):
                if line["sender"] == sender:
                    return line
        raise AssertionError(f"no {sender} line arrived in the webchat")


@pytest.fixture
def demo(settings, tmp_path, live_server, worker):
    """What `make run` sets up: demo_setup's demo bot, deployed and enabled."""
    settings.VAR_DIR = tmp_path
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast
    settings.DESK_DEMO_DESK_URL = live_server.url + "/"  # what `manage.py serve` sets
    settings.DESK_PUBLIC_URL = live_server.url  # and this
    call_command("demo_setup", stdout=open(tmp_path / "out.txt", "w"))
    assert Bot.objects.get(bot_id="desk-demo").connected
    return live_server


@pytest.fixture
def maya(demo):
    """demo_setup's agent."""
    return get_user_model().objects.get(username="maya")


def demo_ticket() -> Ticket:
    return Ticket.objects.get(bot__bot_id="desk-demo")


def in_line(place: int) -> str:
    return f"You are number {place} in line. An agent will be with you shortly."


def test_the_webchat_shows_the_place_in_line_live_and_a_transfer(demo, maya, settings):
    settings.DESK_QUEUE_UPDATE_SECONDS = 0
    ann, bo = Customer(demo.url), Customer(demo.url)
    ann.start("Ann Ito", "ann@example.com")
    ann.say("agent please")
    bo.start("Bo Diaz", "bo@example.com")
    bo.say("agent please")
    anns = Ticket.objects.get(bot__bot_id="desk-demo", user_name="Ann Ito")
    bos = Ticket.objects.get(bot__bot_id="desk-demo", user_name="Bo Diaz")
    place = queue.position_of(bos)  # behind demo_setup's more urgent sample tickets too
    assert place == queue.position_of(anns) + 1
    bo.wait_for_queue(in_line(place))
    ann.wait_for_queue(in_line(place - 1))
    services.ticket_claim(ticket_id=anns.pk, agent=maya)
    bo.wait_for_queue(in_line(place - 1))  # moved up, live
    ann.wait_for_queue("")  # Maya has her: no line any more
    sam = get_user_model().objects.get(username="sam")
    assignment.ticket_transfer(ticket_id=anns.pk, agent=maya, to=sam, note="Sam does refunds")
    deadline = time.monotonic() + 10
    texts = []
    while "Sam Okafor from the Acme support team has taken over the chat." not in texts:
        assert time.monotonic() < deadline, texts
        texts += [line["text"] for line in ann.read(wait=2) if line["sender"] == "system"]
    assert "Sam does refunds" not in json.dumps(ann.read())  # the note stays internal


def test_the_whole_handoff_through_the_demo_bot(demo, maya):
    customer = Customer(demo.url)
    customer.start("Jordan Lee", "jordan@example.com")
    assert "Hi Jordan!" in customer.read()[0]["text"]

    # The bot answers what it knows.
    assert customer.say("What are your opening hours?") == {"accepted": True, "handoff": False}
    lines = customer.read()
    assert [line["sender"] for line in lines] == ["user", "bot"]
    assert "Monday to Friday" in lines[1]["text"]
    assert not Ticket.objects.filter(bot__bot_id="desk-demo").exists()

    # Escalate: a ticket with the customer's name, email and the transcript so far.
    assert customer.say("I'd like to talk to a human please")["handoff"] is True
    assert "handing you over" in customer.read()[-1]["text"]
    ticket = demo_ticket()
    assert (ticket.user_name, ticket.user_email) == ("Jordan Lee", "jordan@example.com")
    assert ticket.title == "Webchat: What are your opening hours?"
    transcript = [m.text for m in ticket.messages.order_by("pk")]
    assert "What are your opening hours?" in transcript
    assert "I'd like to talk to a human please" in transcript

    # The agent claims: the bot's agentAssignedMessage, with the agent's name, appears.
    services.ticket_claim(ticket_id=ticket.pk, agent=maya)
    joined = customer.wait_for("system")
    assert joined["text"] == "Maya Lopez from the Acme support team has joined the chat."

    # The customer writes: it goes to the agent, the bot stays quiet.
    customer.say("My order 4411 never arrived")
    assert [line["sender"] for line in customer.read()] == ["user"]
    assert ticket.messages.filter(kind="user", text="My order 4411 never arrived").exists()

    # The agent replies: it appears in the webchat.
    services.ticket_add_note(ticket_id=ticket.pk, agent=maya, text="check the warehouse")
    services.ticket_reply(ticket_id=ticket.pk, agent=maya, text="Sorry! A new one ships today.")
    reply = customer.wait_for("agent")
    assert (reply["author"], reply["text"]) == ("Maya Lopez", "Sorry! A new one ships today.")

    # The agent closes: the sessionEndedMessage, and the bot is back in charge.
    services.ticket_close(ticket_id=ticket.pk, agent=maya)
    ended = customer.wait_for("bot")
    assert ended["text"].startswith("Maya Lopez has closed the chat.")
    assert customer.say("How much is the Pro plan?")["handoff"] is False
    assert "$29" in customer.read()[-1]["text"]
    ticket.refresh_from_db()
    assert ticket.status == "closed"
    assert not ticket.messages.filter(text="How much is the Pro plan?").exists()
    assert not any("check the warehouse" in line["text"] for line in _all_lines(customer))


def _close_and_get_the_rating_question(customer: Customer, maya) -> dict:
    customer.say("agent please")
    ticket = demo_ticket()
    services.ticket_claim(ticket_id=ticket.pk, agent=maya)
    services.ticket_close(ticket_id=ticket.pk, agent=maya)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        for line in customer.read(wait=2):
            if line["ratingScale"]:
                return line
    raise AssertionError("the webchat never asked for a rating")


def test_after_an_agent_closes_the_webchat_asks_for_a_rating_with_buttons(demo, maya):
    customer = Customer(demo.url)
    customer.start("Jordan Lee", "")
    question = _close_and_get_the_rating_question(customer, maya)
    assert question["text"] == "How would you rate the help you received, from 1 to 5?"
    assert (question["sender"], question["ratingScale"], question["rating"]) == ("bot", 5, None)

    pressed = customer.http.post(
        customer.chat_url + "rate", json={"line": question["id"], "score": 4},
        headers={"X-CSRFToken": customer.http.cookies["csrftoken"]},
    )
    assert pressed.status_code == 202, pressed.text
    lines = customer.read()
    assert [(line["sender"], line["text"]) for line in lines] == [
        ("user", "4 / 5"),
        ("bot", "Thank you for your feedback! Anything else I can help you with?"),
    ]
    rating = Rating.objects.get(ticket=demo_ticket())
    assert (rating.score, rating.asked_at is not None) == (4, True)
    again = customer.http.post(
        customer.chat_url + "rate", json={"line": question["id"], "score": 1},
        headers={"X-CSRFToken": customer.http.cookies["csrftoken"]},
    )
    assert again.status_code == 409
    assert Rating.objects.get(ticket=demo_ticket()).score == 4


def test_a_customer_may_type_the_score_instead(demo, maya):
    customer = Customer(demo.url)
    customer.start("Ann", "")
    _close_and_get_the_rating_question(customer, maya)
    customer.say("3")
    assert customer.read()[-1]["text"].startswith("Thank you for your feedback!")
    assert Rating.objects.get(ticket=demo_ticket()).score == 3


def test_the_customer_can_end_the_handoff(demo, maya):
    customer = Customer(demo.url)
    customer.start("Ann", "")
    customer.say("Can my cat use your app?")  # the bot does not know: it escalates
    lines = customer.read()
    assert "I don't know the answer" in lines[-2]["text"]
    ticket = demo_ticket()
    assert customer.say("/end")["handoff"] is False
    assert "You have ended the chat" in customer.read()[-1]["text"]
    ticket.refresh_from_db()
    assert (ticket.status, ticket.close_reason) == ("closed", "cancel")


def test_the_demo_webhook_refuses_a_bad_signature(demo):
    customer = Customer(demo.url)
    customer.start("Ann", "")
    customer.say("agent please")  # deploys the bot with its webhook, escalates
    chat = Chat.objects.get()
    before = chat.lines.count()
    r = httpx.post(demo.url + "/demo/webhook/", json={
        "id": "7b1e0c8e-0000-4000-8000-000000000000", "type": "agentMessage",
        "conversationId": chat.conversation_id, "text": "I am not really Desk",
    }, headers={"Desk-Timestamp": str(int(time.time())), "Desk-Signature": "v1=00"})
    assert r.status_code == 401
    assert chat.lines.count() == before
    assert DemoBotConfig.objects.get().webhook_url == demo.url + "/demo/webhook/"


class Trap:
    """A listening socket on another port: it records whatever connects and sends to it."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(0.2)
        self.port = self.listener.getsockname()[1]
        self.received: list[bytes] = []
        self.running = True
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self) -> None:
        while self.running:
            try:
                conn, _ = self.listener.accept()
            except TimeoutError:
                continue
            with conn:
                conn.settimeout(1)
                try:
                    self.received.append(conn.recv(65536))
                except OSError:
                    self.received.append(b"")

    def close(self) -> None:
        self.running = False
        self.thread.join()
        self.listener.close()


def test_a_forged_host_header_does_not_send_the_demo_bots_key_elsewhere(demo):
    trap = Trap()
    try:
        customer = Customer(demo.url)
        customer.start("Ann", "")
        r = customer.http.post(
            customer.chat_url + "send", json={"text": "agent please"},
            headers={"X-CSRFToken": customer.http.cookies["csrftoken"],
                     "Host": f"127.0.0.1:{trap.port}"},
        )
        assert r.status_code == 202, r.text
        time.sleep(0.5)  # room for a late connection to show up
        assert trap.received == [], "the demo bot called the address in the Host header"
    finally:
        trap.close()
    # It went to Desk, at the configured address, and deployed its webhook there too.
    assert r.json()["handoff"] is True
    assert demo_ticket().user_name == "Ann"
    assert DemoBotConfig.objects.get().webhook_url == demo.url + "/demo/webhook/"


def test_the_webchat_refuses_an_empty_message(demo):
    customer = Customer(demo.url)
    customer.start("Ann", "")
    r = customer.http.post(customer.chat_url + "send", json={"text": "  "},
                           headers={"X-CSRFToken": customer.http.cookies["csrftoken"]})
    assert r.status_code == 422
    assert r.json()["message"] == "Write a message first."


def test_the_start_form_needs_a_name(demo):
    http = httpx.Client(base_url=demo.url)
    http.get("/demo/")
    r = http.post("/demo/", data={"name": " ", "email": "nope",
                                  "csrfmiddlewaretoken": http.cookies["csrftoken"]})
    assert r.status_code == 422
    assert "Please tell us your name." in r.text
    assert not Chat.objects.exists()


def test_demo_setup_prints_both_urls(settings, tmp_path, transactional_db):
    settings.VAR_DIR = tmp_path
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    out = tmp_path / "out.txt"
    with open(out, "w") as stream:
        call_command("demo_setup", stdout=stream)
    text = out.read_text()
    assert re.search(r"inbox .*http://127\.0\.0\.1:8000/\n", text)
    assert re.search(r"webchat .*http://127\.0\.0\.1:8000/demo/", text)


def run_demo_setup(tmp_path) -> str:
    out = tmp_path / "out.txt"
    with open(out, "w") as stream:
        call_command("demo_setup", stdout=stream)
    return out.read_text()


def test_demo_setup_prints_the_demo_bots_own_key_which_reaches_only_its_bots(
    settings, tmp_path, transactional_db
):
    settings.VAR_DIR = tmp_path
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    text = run_demo_setup(tmp_path)
    [printed] = re.findall(r"desk_[\w-]{20,}", text)  # the one key printed
    assert re.search(rf"demo bot API key: {printed}\n", text)
    assert printed == DemoBotConfig.objects.get().api_key
    assert not ApiKey.objects.filter(workspace_wide=True).exists()
    as_demo_bot = {"Authorization": f"Bearer {printed}"}
    assert Client().get("/api/v1/bots/desk-demo", headers=as_demo_bot).status_code == 200
    # Not the sample bot's: its webhook secret is not this key's to read.
    assert Client().get("/api/v1/bots/acme-support", headers=as_demo_bot).status_code == 404
    assert "acts only for the bots it deployed" in text


def test_demo_setup_says_what_an_earlier_workspace_wide_key_can_do(
    settings, tmp_path, transactional_db
):
    settings.VAR_DIR = tmp_path
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    _, old_key = api_key_create(name="demo", workspace_wide=True)  # what it used to make
    (tmp_path / "demo-credentials.json").write_text(json.dumps({"api_key": old_key}))
    text = run_demo_setup(tmp_path)
    line = text.index(old_key)
    assert "workspace-wide API key" in text[line - 30 : line]
    assert "EVERY bot" in text[line:] and "webhook secret" in text[line:]


def _all_lines(customer: Customer) -> list[dict]:
    r = customer.http.get(customer.chat_url + "lines", params={"after": 0})
    return r.json()["lines"]
