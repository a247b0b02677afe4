"""Waiting on the customer, in Chromium: Maya asks the demo webchat's customer for their
order number and sets the ticket waiting; Sam's inbox shows it apart; the customer
answers from the webchat and the ticket is assigned again, live, in both windows. The
side bar's customer card shows what the demo bot sent (its custom fields) and that this
is the customer's first contact."""

from __future__ import annotations

import uuid

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.slow
DESK_DEMO = True  # the demo bot and its customer webchat at /demo/


def live(page, timeout: float = 10_000) -> None:
    expect(page.locator("#live-state")).to_have_attribute("data-state", "live", timeout=timeout)


def test_it_waits_apart_and_comes_back_when_the_customer_writes_in_the_webchat(open_page):
    sam = open_page("sam")
    live(sam)
    waiting_count = sam.locator("#count-status-waiting")
    before = int(waiting_count.inner_text())

    customer = open_page()
    customer.goto("/demo/")
    customer.get_by_label("Your name").fill("Ada Waiting")
    customer.get_by_label("Your email (optional)").fill(f"ada-{uuid.uuid4().hex[:6]}@example.com")
    customer.get_by_role("button", name="Start chatting").click()
    chat = customer.locator("#lines")
    say = customer.get_by_role("textbox", name="Message")
    question = f"I need a human about my parcel {uuid.uuid4().hex[:6]}"
    say.fill(question)
    say.press("Enter")
    expect(chat).to_contain_text("I'm handing you over to a support agent")

    maya = open_page("maya")
    live(maya)
    maya.get_by_role("row").filter(has_text=question).get_by_role("link").first.click()
    live(maya)
    maya.get_by_role("button", name="Assign to me").click()
    expect(chat).to_contain_text("Maya Lopez from the Acme support team has joined the chat.")

    # Who the customer is: what the demo bot told Desk, and no earlier ticket.
    card = maya.get_by_role("region", name="About the customer")
    expect(card.locator(".custom-fields")).to_contain_text("channel")
    expect(card.locator(".custom-fields")).to_contain_text("webchat")
    expect(card).to_contain_text("First contact")

    composer = maya.get_by_role("textbox", name="Message")
    composer.fill("Could you tell me your order number?")
    composer.press("Enter")
    expect(chat).to_contain_text("Could you tell me your order number?")
    maya.evaluate("window.__sameDocument = true")
    maya.get_by_role("button", name="Wait for the customer").click()
    details = maya.locator("#ticket-details")
    expect(details.locator(".badges .status")).to_have_text("waiting")
    expect(details).to_contain_text("for the customer's answer since")

    # Sam's inbox, without a reload: the row's chip, its place after the assigned
    # tickets, and the Waiting count.
    row = sam.get_by_role("row").filter(has_text=question)
    expect(row.locator(".status")).to_have_text("waiting")
    expect(row).to_contain_text("asked the customer")
    expect(waiting_count).to_have_text(str(before + 1))
    sam.get_by_role("link", name="Waiting on the customer").click()
    expect(sam.get_by_role("row").filter(has_text=question)).to_be_visible()
    live(sam)

    # The customer answers in the webchat: the ticket is assigned again, live.
    say.fill("It's order 1042.")
    say.press("Enter")
    expect(maya.locator("#message-list")).to_contain_text("It's order 1042.")
    expect(details.locator(".badges .status")).to_have_text("assigned")
    expect(maya.locator("#message-list")).to_contain_text(
        "The customer answered: the ticket is assigned again."
    )
    expect(maya.get_by_role("button", name="Wait for the customer")).to_be_visible()
    assert maya.evaluate("window.__sameDocument === true")
    # It left Sam's waiting list, and the count went back down.
    expect(sam.get_by_role("row").filter(has_text=question)).to_have_count(0)
    expect(sam.locator("#count-status-waiting")).to_have_text(str(before))
    assert maya.dialogs.seen == [] and sam.dialogs.seen == [] and customer.dialogs.seen == []
