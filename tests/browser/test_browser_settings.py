"""The admin's settings pages in Chromium: Deflecting Bots, for a bot whose id has a dot.

A bot id may be `my.bot` (the id pattern allows dots). Enable, Disable and the message
editor swap the bot's row in place with htmx; "in place" is checked by a tag set on the
page's window, which survives htmx swaps and is gone after a navigation.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect
from processes import BotSide

pytestmark = pytest.mark.slow

BOT_ID = "my.bot"


@pytest.fixture(scope="module")
def dotted_bot(desk) -> BotSide:
    bot = BotSide(desk.url, desk.bot.key, BOT_ID)
    bot.deploy(name="My dotted bot")
    return bot


def bot_row(page):
    return page.locator("tr", has=page.locator("code", has_text=BOT_ID))


def test_an_admin_enables_disables_and_edits_a_bot_whose_id_has_a_dot(open_page, dotted_bot):
    page = open_page("alex")
    page.goto("/settings/bots/")
    page.evaluate("window.__sameDocument = true")
    row = bot_row(page)
    expect(row).to_contain_text("not connected")

    row.get_by_role("button", name="Enable").click()
    expect(row.locator(".badge.ok")).to_have_text("connected")
    expect(row.get_by_role("button", name="Disable")).to_be_visible()
    assert dotted_bot.call("GET", "")[1]["connected"] is True

    row.get_by_role("button", name="Disable").click()
    expect(row).to_contain_text("not connected")
    assert dotted_bot.call("GET", "")[1]["connected"] is False

    row.get_by_text("Edit messages").click()
    row.get_by_label("When an agent joins").fill("{agentName} is here for you.")
    row.get_by_label("When the session ends").fill("Back to the bot.")
    row.get_by_role("button", name="Save messages").click()
    expect(row.locator("details")).not_to_have_attribute("open", "")  # the row was swapped
    saved = dotted_bot.call("GET", "")[1]
    assert (saved["agentAssignedMessage"], saved["sessionEndedMessage"]) == (
        "{agentName} is here for you.", "Back to the bot.",
    )
    assert page.evaluate("window.__sameDocument === true"), "the page was reloaded"


def test_a_message_over_the_limit_is_refused_in_place_and_nothing_is_saved(
    open_page, dotted_bot
):
    page = open_page("alex")
    page.goto("/settings/bots/")
    page.evaluate("window.__sameDocument = true")
    row = bot_row(page)
    before = dotted_bot.call("GET", "")[1]["agentAssignedMessage"]
    row.get_by_text("Edit messages").click()
    editor = row.get_by_label("When an agent joins")
    editor.evaluate("el => el.removeAttribute('maxlength')")  # as a careless client might
    editor.fill("x" * 2001)
    row.get_by_role("button", name="Save messages").click()
    expect(row.get_by_role("alert")).to_contain_text("limited to 2,000 characters")
    expect(row.get_by_label("When an agent joins")).to_have_value("x" * 2001)
    assert dotted_bot.call("GET", "")[1]["agentAssignedMessage"] == before
    assert page.evaluate("window.__sameDocument === true"), "the page was reloaded"
