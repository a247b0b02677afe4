"""Screenshots of the inbox, a ticket, the Deflecting Bots page, and a labelled ticket with
the canned-response picker open, light and dark; and of the inbox and a ticket (its
transcript, then its details) on a 390 px phone.

Each run renders them (a page that fails to render fails here); they are written
to docs/screenshots only when asked, so a test run never changes the work tree:

    DESK_SCREENSHOTS_DIR=docs/screenshots .venv/bin/python -m pytest tests/browser -k screenshot
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from playwright.sync_api import expect
from processes import BotSide

pytestmark = pytest.mark.slow

SCHEMES = ["light", "dark"]
VIEWPORT = {"width": 1280, "height": 760}
PHONE = {"width": 390, "height": 844}

TICKETS = [
    dict(conversationId="shot-1", title="Refund for a double charge", priority="urgent",
         userName="Jordan Lee", userEmail="jordan@example.com",
         messageHistory=[
             {"role": "user", "text": "I was charged twice for order #4411."},
             {"role": "bot", "text": "Sorry about that! Let me get a person to look at it."},
         ]),
    dict(conversationId="shot-2", title="Can't log in after a password reset", priority="high",
         userName="Priya Nair", userEmail="priya@example.com",
         messageHistory=[{"role": "user", "text": "The reset link says it expired."}]),
    dict(conversationId="shot-3", title="Change the delivery address", priority="medium",
         userName="Tomás Ortega", userEmail="tomas@example.com",
         messageHistory=[{"role": "user", "text": "Can I still change where it ships?"}]),
    dict(conversationId="shot-4", title="Does the Pro plan include SSO?", priority="low",
         userName="Chen Wu", userEmail="chen@example.com",
         messageHistory=[{"role": "user", "text": "Does the Pro plan include SSO?"}]),
]


@pytest.fixture(scope="module")
def shots_dir(tmp_path_factory) -> Path:
    wanted = os.environ.get("DESK_SCREENSHOTS_DIR")
    path = Path(wanted) if wanted else tmp_path_factory.mktemp("screenshots")
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture(scope="module")
def tickets(desk) -> list[dict]:
    made = []
    for ticket in TICKETS:
        status, body = desk.bot.start_hitl(**ticket)
        assert status == 201, body
        made.append(body)
    # A second bot that has deployed but is not enabled yet, as a new one looks.
    BotSide(desk.url, desk.bot.key, "billing-bot").deploy(
        name="Billing Bot", agentAssignedMessage="{agentName} from billing is here."
    )
    return made


@pytest.fixture(scope="module")
def worked_ticket(browser, desk, tickets, sign_in) -> str:
    """The urgent ticket, claimed by Maya, mid-conversation: its page path."""
    context = browser.new_context(base_url=desk.url)
    page = context.new_page()
    sign_in(page, "maya")
    page.get_by_role("link", name="Refund for a double charge").click()
    expect(page.locator("#live-state")).to_have_attribute("data-state", "live")
    page.get_by_role("button", name="Assign to me").click()
    expect(page.locator("#assignee-name")).to_have_text("Maya Lopez")
    composer = page.get_by_role("textbox", name="Message")
    composer.fill("Hi Jordan, I'm Maya. I can see both charges; I'm refunding the second one now.")
    composer.press("Enter")
    expect(page.locator("#message-list")).to_contain_text("refunding the second one")
    status, body = desk.bot.call(
        "POST", "/conversations/shot-1/messages",
        {"text": "Thank you! How long until it shows on my card?"},
    )
    assert status == 202, body
    expect(page.locator("#message-list")).to_contain_text("How long until")
    page.get_by_label("Internal note", exact=True).check()
    composer.fill("Refund issued in Stripe: re_3Px8 (duplicate of ch_3Px7).")
    composer.press("Enter")
    expect(page.locator("#message-list")).to_contain_text("Refund issued in Stripe")
    page.get_by_label("Reply to customer").check()
    path = page.url.removeprefix(desk.url)
    context.close()
    return path


def shoot(page, path: Path) -> None:
    page.wait_for_load_state("networkidle")
    page.screenshot(path=path)
    assert path.stat().st_size > 10_000, f"{path} looks empty"


@pytest.mark.parametrize("scheme", SCHEMES)
def test_screenshot_of_the_inbox(open_page, tickets, labelled, shots_dir, scheme):
    page = open_page("maya", color_scheme=scheme, viewport=VIEWPORT)
    expect(page.get_by_text("Refund for a double charge")).to_be_visible()
    shoot(page, shots_dir / f"inbox-{scheme}.png")


@pytest.mark.parametrize("scheme", SCHEMES)
def test_screenshot_of_a_ticket(open_page, labelled, shots_dir, scheme):
    page = open_page("maya", color_scheme=scheme, viewport=VIEWPORT)
    page.goto(labelled)
    expect(page.locator("#live-state")).to_have_attribute("data-state", "live")
    expect(page.locator("#message-list")).to_contain_text("Refund issued in Stripe")
    shoot(page, shots_dir / f"ticket-{scheme}.png")


@pytest.mark.parametrize("scheme", SCHEMES)
def test_screenshot_of_the_deflecting_bots_page(open_page, tickets, shots_dir, scheme):
    page = open_page("alex", color_scheme=scheme, viewport=VIEWPORT)
    page.locator("summary", has_text="Settings").click()  # the top bar's menu
    page.get_by_role("link", name="Deflecting Bots").click()
    expect(page.get_by_role("heading", name="Deflecting Bots")).to_be_visible()
    expect(page.get_by_text("Billing Bot")).to_be_visible()
    shoot(page, shots_dir / f"deflecting-bots-{scheme}.png")


SETUP_LABELS = """
from django.contrib.auth import get_user_model
from desk import labels
from desk.models import CannedResponse, Label
maya = get_user_model().objects.get(username="maya")
refund = Label.objects.create(name="Refund", colour="#ffd43b")
vip = Label.objects.create(name="VIP", colour="#6741d9")
Label.objects.create(name="Bug", colour="#c92a2a")
for number, label in (({urgent}, refund), ({urgent}, vip), ({login}, vip)):
    labels.ticket_add_label(ticket_id=number, agent=maya, label_id=label.pk)
for code, title, body, uses in (
    ("ref", "Refund policy",
     "Hi {{customerName}}, refunds reach your card within 5 working days.", 12),
    ("refill", "Refill an order", "We can send you a refill, {{customerName}}.", 7),
    ("reset", "Password reset link", "Here is a fresh link, {{customerName}}: valid 1 hour.", 3),
):
    CannedResponse.objects.create(code=code, title=title, body=body, usage_count=uses)
"""


@pytest.fixture(scope="module")
def labelled(desk, tickets, worked_ticket) -> str:
    """Labels on two tickets and three shared canned responses: the worked ticket's path."""
    desk.shell(SETUP_LABELS.format(urgent=tickets[0]["number"], login=tickets[1]["number"]))
    return worked_ticket


@pytest.mark.parametrize("scheme", SCHEMES)
def test_screenshot_of_canned_responses_and_labels(open_page, labelled, shots_dir, scheme):
    page = open_page("maya", color_scheme=scheme, viewport=VIEWPORT)
    page.goto(labelled)
    expect(page.locator("#live-state")).to_have_attribute("data-state", "live")
    expect(page.get_by_role("region", name="Labels").locator(".label-chip")).to_have_count(2)
    box = page.get_by_role("combobox", name="Message")
    box.press_sequentially("Thanks for waiting! /re")
    listbox = page.get_by_role("listbox", name="Canned responses")
    expect(listbox.get_by_role("option")).to_have_count(3)
    box.press("ArrowDown")
    shoot(page, shots_dir / f"canned-labels-{scheme}.png")


@pytest.mark.parametrize("scheme", SCHEMES)
def test_screenshot_of_the_inbox_on_a_phone(open_page, tickets, worked_ticket, shots_dir, scheme):
    page = open_page("maya", color_scheme=scheme, viewport=PHONE)
    expect(page.get_by_text("Refund for a double charge")).to_be_visible()
    shoot(page, shots_dir / f"inbox-phone-{scheme}.png")


@pytest.mark.parametrize("scheme", SCHEMES)
def test_screenshot_of_a_ticket_on_a_phone(open_page, worked_ticket, shots_dir, scheme):
    page = open_page("maya", color_scheme=scheme, viewport=PHONE)
    page.goto(worked_ticket)
    expect(page.locator("#live-state")).to_have_attribute("data-state", "live")
    expect(page.locator("#message-list")).to_contain_text("Refund issued in Stripe")
    shoot(page, shots_dir / f"ticket-phone-{scheme}.png")
    page.get_by_role("button", name="Details and actions").click()
    expect(page.get_by_role("button", name="Close ticket")).to_be_visible()
    shoot(page, shots_dir / f"ticket-details-phone-{scheme}.png")
