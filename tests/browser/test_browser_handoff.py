"""The whole handoff in Chromium, as the agents and the customer see it.

One Desk server process and one Chromium for the module; each test opens its own
pages (a fresh context each, so each is its own logged-in tab).
"""

from __future__ import annotations

import uuid

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.slow

XSS_SCRIPT = "<script>alert(1)</script>"
XSS_IMG = "<img src=x onerror=\"alert('img')\">"


def conversation() -> str:
    return f"conv-{uuid.uuid4().hex[:10]}"


def test_an_agent_logs_in_and_lands_on_the_inbox(open_page):
    page = open_page("maya")
    expect(page.get_by_role("heading", name="Inbox")).to_be_visible()
    expect(page.get_by_role("banner")).to_contain_text("Maya Lopez")


def test_a_wrong_password_is_refused(open_page):
    page = open_page()
    page.goto("/login/")
    page.get_by_label("Username").fill("maya")
    page.get_by_label("Password").fill("not her password")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("alert").filter(has_text="didn't match")).to_be_visible()
    assert "/login/" in page.url


def test_markup_from_a_bot_shows_as_text_and_runs_nothing(desk, open_page):
    status, _ = desk.bot.start_hitl(
        conversationId=conversation(),
        title=f"Help {XSS_SCRIPT}",
        userName=f"Mallory {XSS_IMG}",
        messageHistory=[{"role": "user", "text": f"{XSS_SCRIPT} and {XSS_IMG}"}],
    )
    assert status == 201
    page = open_page("maya")
    row = page.get_by_role("row").filter(has_text="Help <script>")
    expect(row).to_contain_text(f"Help {XSS_SCRIPT}")
    expect(row).to_contain_text(f"Mallory {XSS_IMG}")
    assert page.locator("#ticket-list script").count() == 0
    assert page.locator("#ticket-list img").count() == 0
    page.wait_for_timeout(300)  # give an onerror handler the time it would need
    assert page.dialogs.seen == []
