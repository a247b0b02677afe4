"""Approval requests in Chromium: the demo customer asks for a refund in the webchat,
an agent sees it arrive live, edits the amount and approves, and the webchat says so.

One Desk server (with the demo bot at /demo/) and one Chromium for the module. Maya
is allowed to decide by Alex on Settings → Approvers, through the page.
"""

from __future__ import annotations

import uuid

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.slow
DESK_DEMO = True


def live(page, timeout: float = 10_000) -> None:
    expect(page.locator("#live-state")).to_have_attribute("data-state", "live", timeout=timeout)


@pytest.fixture(scope="module")
def maya_decides(browser, desk, sign_in):
    """Alex lets Maya decide approvals, on the Approvers page."""
    context = browser.new_context(base_url=desk.url)
    page = context.new_page()
    sign_in(page, "alex")
    page.goto("/approvals/")
    page.get_by_role("link", name="Who may decide").click()
    row = page.locator("tr").filter(has_text="Maya Lopez")
    # The tick saves in the background: wait for the answer, or the reload cancels it.
    with page.expect_response(
        lambda r: "/settings/approvers/" in r.url and r.request.method == "POST"
    ) as saved:
        row.get_by_label("Can decide approvals").check()
    assert saved.value.ok
    expect(row.get_by_label("Can decide approvals")).to_be_checked()
    page.reload()  # saved, not just ticked
    expect(page.locator("tr").filter(has_text="Maya Lopez").get_by_label(
        "Can decide approvals")).to_be_checked()
    context.close()


def webchat(open_page, name: str = "Jo Customer"):
    customer = open_page()
    customer.goto("/demo/")
    customer.get_by_label("Your name").fill(name)
    customer.get_by_role("button", name="Start chatting").click()
    chat = customer.locator("#lines")
    expect(chat).to_contain_text("I'm the Acme bot")
    return customer, chat


def say(customer, text: str) -> None:
    box = customer.get_by_role("textbox", name="Message")
    box.fill(text)
    box.press("Enter")


def test_an_agent_edits_a_refund_to_25_and_the_webchat_says_25(open_page, maya_decides):
    maya = open_page("maya")
    maya.goto("/approvals/")
    live(maya)
    maya.evaluate("window.__sameDocument = true")

    customer, chat = webchat(open_page)
    order = str(uuid.uuid4().int % 10**6)
    say(customer, f"I'd like a refund of 40 for order {order}")
    expect(chat).to_contain_text(f"approve a refund of 40.00 USD for order #{order}")
    expect(chat).to_contain_text("reviewing it now")

    # It arrives in Maya's list without a reload, with the count in the top bar.
    row = maya.get_by_role("row").filter(has_text=f"Refund 40.00 USD on order #{order}")
    expect(row).to_contain_text("refund")
    expect(row).to_contain_text("expires in 59 min")
    expect(maya.locator("#approvals-count")).not_to_have_text("")
    assert maya.evaluate("window.__sameDocument === true")

    row.get_by_role("link").click()
    expect(maya.get_by_role("heading", name=f"Refund 40.00 USD on order #{order}")).to_be_visible()
    expect(maya.locator(".summary")).to_contain_text(
        f"Jo Customer asked in the webchat: \u201cI'd like a refund of 40 for order {order}"
    )
    expect(maya.locator(".conversation-card")).to_contain_text("webchat-")
    amount = maya.get_by_label("Amount")
    expect(amount).to_have_value("40")
    expect(maya.get_by_label("Currency")).to_have_value('"USD"')
    expect(maya.get_by_role("button", name="Approve with changes")).to_be_disabled()

    amount.fill("25")
    expect(maya.get_by_role("button", name="Approve", exact=True)).to_be_disabled()
    expect(maya.get_by_role("button", name="Approve with changes")).to_be_enabled()
    amount.press("Escape")  # leave the field: keys are shortcuts again
    maya.keyboard.press("a")
    expect(maya.locator(".flash.success")).to_contain_text("Approved with your changes")

    expect(chat).to_contain_text(
        f"approved a refund of 25.00 USD for order #{order} (you asked for 40.00 USD)"
    )
    assert maya.dialogs.seen == [] and customer.dialogs.seen == []


def test_an_agent_rejects_with_a_reason_from_the_keyboard(open_page, maya_decides):
    customer, chat = webchat(open_page, "Ann Other")
    order = str(uuid.uuid4().int % 10**6)
    say(customer, f"refund $15 for order {order} please")
    expect(chat).to_contain_text("reviewing it now")

    maya = open_page("maya")
    maya.goto("/approvals/")
    maya.get_by_role("link", name=f"Refund 15.00 USD on order #{order}").click()
    live(maya)
    maya.keyboard.press("r")
    reason = maya.get_by_label("Reason")
    expect(reason).to_be_focused()
    reason.fill("This order was refunded last week.")
    reason.press("Enter")
    expect(maya.locator(".flash.success")).to_contain_text("Rejected")
    expect(chat).to_contain_text(
        f"your refund for order #{order} was not approved: This order was refunded last week."
    )


def test_a_decision_made_elsewhere_shows_at_once(desk, open_page, maya_decides):
    status, created = desk.bot.call("POST", "/approvals", {
        "requestId": uuid.uuid4().hex, "action": "cancel_order", "title": "Cancel order #77",
        "arguments": {"orderId": "77"},
    })
    assert status == 201, created
    sam = open_page("sam")  # may not decide: sees it read-only
    sam.goto("/approvals/")
    sam.get_by_role("link", name="Cancel order #77").click()
    expect(sam.locator(".read-only-note")).to_be_visible()
    expect(sam.get_by_role("button", name="Approve")).to_have_count(0)
    live(sam)

    maya = open_page("maya")
    maya.goto("/approvals/")
    maya.get_by_role("link", name="Cancel order #77").click()
    maya.get_by_role("button", name="Approve", exact=True).click()
    expect(maya.locator(".flash.success")).to_contain_text("Approved")
    expect(sam.locator("#decision")).to_contain_text("Maya Lopez approved this.")
