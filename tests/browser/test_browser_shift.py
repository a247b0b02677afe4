"""A shift in Chromium, three windows: two agents and a customer in the demo webchat.

Maya and Sam are online with capacity 1 and least-busy routing. Three escalations
arrive and nobody clicks Claim: two are assigned at once, one to each; the third, from
the webchat, waits, and the webchat says "You are number 1 in line". Maya closes her
ticket from her phone; the waiting ticket is hers at once, and her desktop tab,
hidden, raises a browser notification (the permission granted through Playwright, the
Notification constructor recorded) and updates its title. Then she transfers it to
Sam, and the customer reads that Sam has taken over.

Visibility is emulated: `window.__hidden` drives document.hidden/visibilityState.
"""

from __future__ import annotations

import re
import uuid

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.slow
DESK_DEMO = True  # the demo bot and its customer webchat at /demo/
# Far enough apart that a loaded machine still shows amber before red.
DESK_ENV = {"DESK_AGING_WARN_SECONDS": "3", "DESK_AGING_ALERT_SECONDS": "12"}

WATCH = """
(() => {
  window.__hidden = false;
  Object.defineProperty(Document.prototype, "hidden", {
    configurable: true, get() { return window.__hidden; } });
  Object.defineProperty(Document.prototype, "visibilityState", {
    configurable: true, get() { return window.__hidden ? "hidden" : "visible"; } });
  window.__notifications = [];
  const Real = window.Notification;
  if (!Real) return;
  function Recorded(title, options) {
    window.__notifications.push({ title: title, body: (options || {}).body || "" });
    return new Real(title, options);
  }
  Object.defineProperty(Recorded, "permission", { get() { return Real.permission; } });
  Recorded.requestPermission = Real.requestPermission.bind(Real);
  window.Notification = Recorded;
})();
"""


def hide(page) -> None:
    page.evaluate("window.__hidden = true; document.dispatchEvent(new Event('visibilitychange'))")


def live(page) -> None:
    expect(page.locator("#live-state")).to_have_attribute("data-state", "live")


@pytest.fixture
def on_shift(browser, desk, sign_in):
    """on_shift(username) → their inbox page, in a context with notifications allowed."""
    desk.shell(
        "from desk.models import AgentProfile, RoutingSettings, Ticket\n"
        "from django.contrib.auth import get_user_model\n"
        "from desk.assignment import routing_settings, profile_for\n"
        "Ticket.objects.all().delete()  # demo_setup's samples: this shift starts empty\n"
        "routing_settings(); RoutingSettings.objects.filter(pk=1).update(mode='least_busy')\n"
        "for u in get_user_model().objects.filter(username__in=['maya', 'sam']):\n"
        "    profile_for(u.pk); AgentProfile.objects.filter(agent=u).update(capacity=1)\n"
    )
    contexts = []

    def open_shift(username: str):
        context = browser.new_context(base_url=desk.url, viewport={"width": 1280, "height": 800})
        context.grant_permissions(["notifications"], origin=desk.url)
        context.add_init_script(WATCH)
        context.set_default_timeout(10_000)
        contexts.append(context)
        page = context.new_page()
        sign_in(page, username)
        live(page)
        return page

    yield open_shift
    for context in contexts:
        context.close()


def escalate(desk, title: str) -> dict:
    status, body = desk.bot.start_hitl(
        conversationId=f"conv-{uuid.uuid4().hex[:8]}", title=title, userName="Jo"
    )
    assert status == 201, body
    return body


def assignee_of(desk, ticket_id: str) -> str:
    return desk.shell(
        "from desk.models import Ticket\n"
        f"t = Ticket.objects.get(public_id='{ticket_id}')\n"
        "print(t.assignee.username if t.assignee else '-')"
    ).split()[-1]  # the shell may say first what it imported


def ticket_pk(desk, ticket_id: str) -> str:
    return desk.shell(
        f"from desk.models import Ticket; print(Ticket.objects.get(public_id='{ticket_id}').pk)"
    ).split()[-1]


def test_routing_hands_out_the_shift_and_a_hidden_tab_alerts(on_shift, open_page, desk):
    maya = on_shift("maya")
    sam = on_shift("sam")
    expect(maya.locator("#alerts-menu input[name=notify_desktop]")).to_be_checked()

    first, second = escalate(desk, "First in"), escalate(desk, "Second in")
    owners = sorted([assignee_of(desk, first["ticketId"]), assignee_of(desk, second["ticketId"])])
    assert owners == ["maya", "sam"]  # least busy: one each, nobody clicked Claim

    # The customer asks the demo bot for a person: both agents are full, so they wait.
    customer = open_page()
    customer.goto("/demo/")
    customer.get_by_label("Your name").fill("Jo Customer")
    customer.get_by_role("button", name="Start chatting").click()
    question = f"Third in: my parcel {uuid.uuid4().hex[:6]} is lost, I need a human"
    customer.get_by_role("textbox", name="Message").fill(question)
    customer.get_by_role("textbox", name="Message").press("Enter")
    chat = customer.locator("#lines")
    expect(chat).to_contain_text("I'm handing you over to a support agent")
    expect(customer.locator("#queue-status")).to_have_text(
        "You are number 1 in line. An agent will be with you shortly."
    )
    # The queue waits for both agents: their titles say so, live; the row ages.
    expect(maya).to_have_title(re.compile(r"^\(1\) "))
    row = maya.locator(".ticket-row", has_text="Third in")
    expect(row).to_have_class(re.compile(r"\brow-pending\b"))
    expect(row).to_have_class(re.compile(r"\baging-warn\b"), timeout=12_000)  # amber
    expect(row).not_to_have_class(re.compile(r"\baging-alert\b"))
    expect(row).to_have_class(re.compile(r"\baging-alert\b"), timeout=20_000)  # then red

    # Maya's desktop tab goes to the background; she closes her ticket from her phone.
    hide(maya)
    mine = first if assignee_of(desk, first["ticketId"]) == "maya" else second
    phone = open_page("maya", viewport={"width": 390, "height": 844})
    phone.goto(f"/tickets/{ticket_pk(desk, mine['ticketId'])}/")
    phone.get_by_role("button", name="Details and actions").click()  # a phone's side bar
    phone.get_by_role("button", name="Close ticket").click()
    expect(phone.locator("#ticket-details .status-closed")).to_be_visible()

    # The waiting ticket is hers at once, and her hidden tab says so.
    maya.wait_for_function("() => window.__notifications.length > 0")
    [note] = maya.evaluate("window.__notifications")
    assert re.fullmatch(r"#\d+ is yours: Webchat: Third in.*", note["title"]), note
    assert "Routing gave you" in note["body"]
    expect(chat).to_contain_text("Maya Lopez from the Acme support team has joined the chat.")
    expect(customer.locator("#queue-status")).to_be_hidden()
    # Sam's tab is in view: Sam is not disturbed, and nothing waits for Sam any more.
    assert sam.evaluate("window.__notifications") == []
    expect(sam).not_to_have_title(re.compile(r"^\(\d+\) "))

    # Maya hands the customer to Sam, with a note for him only.
    phone.goto("/")
    phone.locator(".ticket-row", has_text="Third in").get_by_role("link").first.click()
    phone.get_by_role("button", name="Details and actions").click()
    sams = phone.locator("#transfer-to option", has_text="Sam Okafor").get_attribute("value")
    phone.get_by_label("Transfer to").select_option(sams)
    phone.get_by_label("Why (internal note, optional)").fill("Sam handles lost parcels")
    phone.get_by_role("button", name="Transfer").click()
    expect(phone.locator("#message-list")).to_contain_text(
        "Maya Lopez transferred the ticket to Sam Okafor."
    )
    expect(phone.locator("#assignee-name")).to_have_text("Sam Okafor")
    expect(chat).to_contain_text("Sam Okafor from the Acme support team has taken over the chat.")
    expect(chat).not_to_contain_text("Sam handles lost parcels")


def test_permission_is_asked_from_the_button_only(browser, desk, sign_in):
    context = browser.new_context(base_url=desk.url)
    try:
        context.add_init_script(WATCH)
        page = context.new_page()
        sign_in(page, "sam")
        # Nothing asked on load: the permission is still "default".
        assert page.evaluate("Notification.permission") == "default"
        page.locator("#alerts-menu summary").click()
        button = page.get_by_role("button", name="Allow browser notifications")
        expect(button).to_be_visible()
        context.grant_permissions(["notifications"], origin=desk.url)
        button.click()
        expect(button).to_be_hidden()
        # Turning the sound off is saved for the next page too (once its POST answered:
        # a reload before that would race the save).
        with page.expect_response(
            lambda r: "/me/alerts/" in r.url and r.request.method == "POST"
        ) as saved:
            page.get_by_label("Sound").uncheck()
        assert saved.value.ok
        expect(page.locator("#alerts-menu input[name=notify_sound]")).not_to_be_checked()
        page.reload()
        expect(page.locator("#alerts-menu input[name=notify_sound]")).not_to_be_checked()
    finally:
        context.close()
