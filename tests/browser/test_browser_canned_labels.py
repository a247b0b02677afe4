"""Canned responses and labels in Chromium.

- An admin adds shared responses on Settings → Canned responses; an agent types `/ref`
  in the composer, picks "Refund policy" from the list with the keyboard (the list is
  an ARIA listbox the message box controls), edits the filled-in text and sends it; a
  click picks too, Escape closes; the settings page counts the use.
- An admin defines a label on Settings → Labels; an agent adds it to a ticket from the
  side bar, and another agent's inbox, in a second window, counts it, shows it on the
  row and filters by it, live; removing it takes it away again.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.slow

REFUND = (
    "Hi {customerName}, refunds reach your card within 5 working days. "
    "{agentName}, ticket {ticketNumber}"
)


def live(page) -> None:
    expect(page.locator("#live-state")).to_have_attribute("data-state", "live")


@pytest.fixture(scope="module")
def ticket(desk) -> dict:
    status, body = desk.bot.start_hitl(
        conversationId="canned-1", title="Charged twice", userName="Jordan Lee",
        messageHistory=[{"role": "user", "text": "I was charged twice."}],
    )
    assert status == 201, body
    return body


def add_shared(page, code: str, title: str, body: str) -> None:
    form = page.get_by_role("form", name="Add a shared response")
    form.get_by_label("Code").fill(code)
    form.get_by_label("Title").fill(title)
    form.get_by_label("Text").fill(body)
    form.get_by_role("button", name="Add").click()
    expect(page.locator(".flash.success")).to_contain_text(f"/{code} saved")


def uses(page, code: str):
    code_cell = page.locator("code", has_text=re.compile(f"^/{code}$"))
    return page.get_by_role("row").filter(has=code_cell).locator("[data-uses]")


def test_an_agent_types_slash_ref_picks_refund_policy_edits_and_sends_it(open_page, ticket):
    alex = open_page("alex")
    alex.goto("/settings/canned-responses/")
    add_shared(alex, "ref", "Refund policy", REFUND)
    add_shared(alex, "refill", "Refill an order", "We can send a refill, {customerName}.")
    add_shared(alex, "hello", "Greeting", "Hello {customerName}!")

    maya = open_page("maya")
    maya.goto(f"/tickets/{ticket['number']}/")
    live(maya)
    maya.get_by_role("button", name="Assign to me").click()
    expect(maya.locator("#assignee-name")).to_have_text("Maya Lopez")

    box = maya.get_by_role("combobox", name="Message")
    listbox = maya.get_by_role("listbox", name="Canned responses")
    expect(box).to_have_attribute("aria-expanded", "false")
    box.press_sequentially("Thanks for waiting. /re")
    expect(listbox).to_be_visible()
    expect(box).to_have_attribute("aria-expanded", "true")
    # Filtered as typed: both codes starting "re", not the greeting.
    expect(listbox.get_by_role("option")).to_have_count(2)
    expect(listbox.get_by_role("option", name="Greeting")).to_have_count(0)
    box.press("f")
    first = listbox.get_by_role("option", name="Refund policy")
    expect(first).to_have_attribute("aria-selected", "true")
    expect(box).to_have_attribute("aria-activedescendant", first.get_attribute("id"))
    box.press("ArrowDown")
    expect(listbox.get_by_role("option", name="Refill an order")).to_have_attribute(
        "aria-selected", "true"
    )
    box.press("ArrowUp")
    expect(first).to_have_attribute("aria-selected", "true")

    box.press("Enter")  # picks; does not send
    expect(listbox).to_be_hidden()
    expect(box).to_have_attribute("aria-expanded", "false")
    filled = (
        f"Thanks for waiting. Hi Jordan Lee, refunds reach your card within 5 working days. "
        f"Maya Lopez, ticket {ticket['number']}"
    )
    expect(box).to_have_value(filled)
    expect(maya.locator("#message-list")).not_to_contain_text("refunds reach your card")

    # The agent edits it, then sends.
    box.press("End")
    box.press_sequentially(" Anything else?")
    box.press("Enter")
    expect(maya.locator("#message-list .msg-agent").last).to_contain_text(
        filled + " Anything else?"
    )
    expect(box).to_have_value("")

    # A click picks too; Escape closes the list and leaves the text alone.
    box.press_sequentially("/gre")
    listbox.get_by_role("option", name="Greeting").click()
    expect(box).to_have_value("Hello Jordan Lee!")
    expect(box).to_be_focused()
    box.press_sequentially(" /")
    expect(listbox.get_by_role("option")).to_have_count(3)
    box.press("Escape")
    expect(listbox).to_be_hidden()
    expect(box).to_have_value("Hello Jordan Lee! /")
    box.press_sequentially("zz")  # nothing matches /zz
    expect(listbox).to_be_hidden()
    box.fill("")

    # A use is a message sent with it: the sent refund policy counts, the greeting
    # (inserted, never sent) does not.
    alex.reload()
    expect(uses(alex, "ref")).to_have_text("1")
    expect(uses(alex, "hello")).to_have_text("0")
    assert maya.dialogs.seen == []


def test_the_inbox_slash_shortcut_still_searches(open_page, ticket):
    maya = open_page("maya")
    maya.goto("/")
    live(maya)
    maya.keyboard.press("/")
    expect(maya.get_by_role("searchbox")).to_be_focused()


def test_an_agent_adds_a_label_and_another_window_sees_the_inbox_count_change(
    desk, open_page
):
    status, ticket = desk.bot.start_hitl(conversationId="labels-1", title="Where is my refund?")
    assert status == 201, ticket
    alex = open_page("alex")
    alex.goto("/settings/labels/")
    alex.get_by_label("Name", exact=True).fill("Refund")
    alex.get_by_label("Colour", exact=True).fill("#ffd43b")
    alex.get_by_role("button", name="Add label").click()
    expect(alex.locator(".flash.success")).to_contain_text("Label added.")
    chip = alex.get_by_role("table", name="Labels").locator(".label-chip", has_text="Refund")
    expect(chip).to_have_css("color", "rgb(17, 24, 39)")  # dark text on yellow

    sam = open_page("sam")
    sam.goto("/")
    live(sam)
    refund_facet = sam.get_by_role("navigation", name="Labels").get_by_role("link", name="Refund")
    expect(refund_facet.locator(".count")).to_have_text("0")
    row = sam.locator(f"#ticket-{ticket['number']}")
    expect(row.locator(".label-chip")).to_have_count(0)

    maya = open_page("maya")
    maya.goto(f"/tickets/{ticket['number']}/")
    live(maya)
    card = maya.get_by_role("region", name="Labels")
    card.get_by_label("Add a label").select_option(label="Refund")
    card.get_by_role("button", name="Add").click()
    expect(card.locator(".label-chip")).to_have_text("Refund")
    expect(maya.locator("#message-list")).to_contain_text("Maya Lopez added the label “Refund”.")

    # Sam's window, without a reload: the count, the row's chip.
    expect(refund_facet.locator(".count")).to_have_text("1")
    expect(row.locator(".label-chip")).to_have_text("Refund")
    refund_facet.click()
    expect(sam).to_have_url(re.compile(r"[?&]label=\d+"))
    expect(sam.locator("#ticket-rows > .ticket-row")).to_have_count(1)
    live(sam)

    card.get_by_role("button", name="Remove the label Refund").click()
    expect(card.locator(".label-chip")).to_have_count(0)
    expect(sam.locator("#ticket-rows > .ticket-row")).to_have_count(0)  # left the filtered list
    expect(sam.get_by_role("navigation", name="Labels").locator(".count")).to_have_text("0")
    assert maya.dialogs.seen == [] and sam.dialogs.seen == []
