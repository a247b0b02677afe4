"""Screenshots of the inbox, a ticket and the Deflecting Bots page, light and dark.

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
def test_screenshot_of_the_inbox(open_page, tickets, worked_ticket, shots_dir, scheme):
    page = open_page("maya", color_scheme=scheme, viewport=VIEWPORT)
    expect(page.get_by_text("Refund for a double charge")).to_be_visible()
    shoot(page, shots_dir / f"inbox-{scheme}.png")


@pytest.mark.parametrize("scheme", SCHEMES)
def test_screenshot_of_a_ticket(open_page, worked_ticket, shots_dir, scheme):
    page = open_page("maya", color_scheme=scheme, viewport=VIEWPORT)
    page.goto(worked_ticket)
    expect(page.locator("#live-state")).to_have_attribute("data-state", "live")
    expect(page.locator("#message-list")).to_contain_text("Refund issued in Stripe")
    shoot(page, shots_dir / f"ticket-{scheme}.png")


@pytest.mark.parametrize("scheme", SCHEMES)
def test_screenshot_of_the_deflecting_bots_page(open_page, tickets, shots_dir, scheme):
    page = open_page("alex", color_scheme=scheme, viewport=VIEWPORT)
    page.get_by_role("link", name="Deflecting Bots").click()
    expect(page.get_by_role("heading", name="Deflecting Bots")).to_be_visible()
    expect(page.get_by_text("Billing Bot")).to_be_visible()
    shoot(page, shots_dir / f"deflecting-bots-{scheme}.png")
