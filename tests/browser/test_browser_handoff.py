"""The whole handoff in Chromium, as the agents and the customer see it.

One Desk server process (with the demo bot and its webchat at /demo/) and one
Chromium for the module; each test opens its own pages, each in a fresh browser
context, so each is its own logged-in tab. "Without a reload" is checked by a tag
set on the page's window: it survives htmx swaps and is gone after a navigation.
The restart test runs last: it stops and starts the module's server.
"""

from __future__ import annotations

import uuid

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.slow
DESK_DEMO = True  # the demo bot and its customer webchat at /demo/

XSS_SCRIPT = "<script>alert(1)</script>"
XSS_IMG = "<img src=x onerror=\"alert('img')\">"


def conversation() -> str:
    return f"conv-{uuid.uuid4().hex[:10]}"


def mark_page(page) -> None:
    """Tag the loaded document: the tag survives htmx swaps and is gone after a reload."""
    page.evaluate("window.__sameDocument = true")


def same_document(page) -> bool:
    return page.evaluate("window.__sameDocument === true")


def live(page, timeout: float = 10_000) -> None:
    """Wait until the page's websocket is open."""
    expect(page.locator("#live-state")).to_have_attribute("data-state", "live", timeout=timeout)


def relay(desk, conversation_id: str, text: str) -> None:
    """The bot relays one end-user message."""
    status, body = desk.bot.call(
        "POST", f"/conversations/{conversation_id}/messages", {"text": text}
    )
    assert status == 202, body


def transcript(page) -> list[tuple[int, str]]:
    """(message id, text) of every line the page shows, in page order."""
    return page.locator("#message-list [data-message-id]").evaluate_all(
        "els => els.map(el => [parseInt(el.dataset.messageId, 10), el.textContent])"
    )


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


def test_the_whole_handoff_between_the_webchat_and_an_agent(open_page):
    maya = open_page("maya")
    live(maya)
    mark_page(maya)

    customer = open_page()
    customer.goto("/demo/")
    customer.get_by_label("Your name").fill("Jo Customer")
    customer.get_by_label("Your email (optional)").fill("jo@example.com")
    customer.get_by_role("button", name="Start chatting").click()
    chat = customer.locator("#lines")
    expect(chat).to_contain_text("Hi Jo! I'm the Acme bot")
    say = customer.get_by_role("textbox", name="Message")
    question = f"I need a human about order {uuid.uuid4().hex[:6]}"
    say.fill(question)
    say.press("Enter")
    expect(chat).to_contain_text("I'm handing you over to a support agent")

    # The demo bot called startHitl over the HTTP API: the ticket shows up live.
    row = maya.get_by_role("row").filter(has_text=question)
    expect(row).to_contain_text("pending")
    assert same_document(maya)
    row.get_by_role("link").first.click()
    expect(maya.locator("#message-list")).to_contain_text(question)
    live(maya)
    mark_page(maya)

    maya.get_by_role("button", name="Assign to me").click()
    expect(chat).to_contain_text("Maya Lopez from the Acme support team has joined the chat.")

    composer = maya.get_by_role("textbox", name="Message")
    composer.fill("Hi Jo, Maya here. Let me look that order up.")
    composer.press("Enter")
    expect(chat).to_contain_text("Hi Jo, Maya here. Let me look that order up.")

    say.fill("Thank you! It was due on Monday.")
    say.press("Enter")
    expect(maya.locator("#message-list")).to_contain_text("Thank you! It was due on Monday.")

    maya.get_by_role("button", name="Close ticket").click()
    expect(maya.locator("#composer")).to_contain_text("This ticket is closed")
    expect(chat).to_contain_text("Maya Lopez has closed the chat. I'm the Acme bot again")
    assert same_document(maya)

    # Desk asked the bot to ask for a rating: five buttons; the customer presses 4, and
    # Maya sees it live in the ticket's transcript and side bar.
    expect(chat).to_contain_text("How would you rate the help you received, from 1 to 5?")
    buttons = chat.get_by_role("group", name="Your rating, 1 to 5").get_by_role("button")
    expect(buttons).to_have_count(5)
    chat.get_by_role("button", name="Rate 4 out of 5").click()
    expect(chat).to_contain_text("Thank you for your feedback!")
    expect(chat.get_by_role("button", name="Rate 4 out of 5")).to_have_attribute(
        "aria-pressed", "true"
    )
    expect(maya.locator("#message-list")).to_contain_text(
        "The customer rated this conversation 4/5."
    )
    expect(maya.locator("#ticket-rating")).to_contain_text("4/5")

    # The bot is back in charge of the conversation.
    say.fill("What are your opening hours?")
    say.press("Enter")
    expect(chat).to_contain_text("We're open Monday to Friday")
    assert maya.dialogs.seen == [] and customer.dialogs.seen == []


def test_a_second_agent_sees_the_claim_and_the_reply_live(desk, open_page):
    maya, sam = open_page("maya"), open_page("sam")
    for page in (maya, sam):
        live(page)
        mark_page(page)
    conversation_id = conversation()
    title = f"Order never arrived {conversation_id}"
    status, _ = desk.bot.start_hitl(
        conversationId=conversation_id, title=title, priority="high", userName="Jo Customer",
        messageHistory=[{"role": "user", "text": "Where is my parcel?"}],
    )
    assert status == 201
    # Both inboxes show the escalation without a reload.
    for page in (maya, sam):
        expect(page.get_by_role("row").filter(has_text=title)).to_contain_text("pending")
        assert same_document(page)

    maya.get_by_role("link", name=title).click()
    expect(maya.get_by_role("heading", name=title)).to_be_visible()
    expect(maya.get_by_text("Where is my parcel?")).to_be_visible()
    live(maya)
    maya.get_by_role("button", name="Assign to me").click()
    expect(maya.locator("#assignee-name")).to_have_text("Maya Lopez")

    sam_row = sam.get_by_role("row").filter(has_text=title)
    expect(sam_row).to_contain_text("assigned")
    expect(sam_row).to_contain_text("Maya Lopez")
    assert same_document(sam)

    sam_row.get_by_role("link", name=title).click()
    live(sam)
    mark_page(sam)
    maya.get_by_role("textbox", name="Message").fill("Hi Jo, I'm looking into it now.")
    maya.get_by_role("textbox", name="Message").press("Enter")
    for page in (maya, sam):
        expect(page.locator("#message-list")).to_contain_text("Hi Jo, I'm looking into it now.")
    assert same_document(sam)


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


def test_markup_from_the_customer_shows_as_text_in_the_transcript(desk, open_page):
    conversation_id = conversation()
    title = f"Markup {conversation_id}"
    assert desk.bot.start_hitl(conversationId=conversation_id, title=title)[0] == 201
    maya = open_page("maya")
    maya.get_by_role("link", name=title).click()
    live(maya)
    relay(desk, conversation_id, f"look: {XSS_SCRIPT} {XSS_IMG}")
    line = maya.locator("#message-list li").filter(has_text="look: <script>")
    expect(line).to_contain_text(f"look: {XSS_SCRIPT} {XSS_IMG}")
    assert maya.locator("#message-list script, #message-list img").count() == 0
    # The agent's own reply travels the websocket both ways: still text.
    maya.get_by_role("textbox", name="Message").fill(f"echo {XSS_IMG}")
    maya.get_by_role("textbox", name="Message").press("Enter")
    expect(maya.locator("#message-list")).to_contain_text(f"echo {XSS_IMG}")
    assert maya.locator("#message-list img").count() == 0
    maya.wait_for_timeout(300)
    assert maya.dialogs.seen == []


def test_after_a_server_restart_the_pages_catch_up_with_no_message_missing(desk, open_page):
    conversation_id = conversation()
    title = f"Restart {conversation_id}"
    assert desk.bot.start_hitl(
        conversationId=conversation_id, title=title,
        messageHistory=[{"role": "user", "text": "before 0"}],
    )[0] == 201
    sam = open_page("sam")
    live(sam)
    maya = open_page("maya")
    maya.get_by_role("link", name=title).click()
    live(maya)
    for n in (1, 2):
        relay(desk, conversation_id, f"before {n}")
    expect(maya.locator("#message-list")).to_contain_text("before 2")
    for page in (maya, sam):
        mark_page(page)

    desk.server.stop()
    expect(maya.locator("#live-state")).not_to_have_attribute("data-state", "live")
    # While no server runs, the bot's messages and a new escalation are committed
    # (written straight to the database, as a second server process would).
    missed_title = f"Escalated while offline {conversation_id}"
    desk.shell(
        "from bots.models import Bot\n"
        "from desk.services import post_user_message, start_hitl\n"
        f"bot = Bot.objects.get(bot_id={desk.bot.bot_id!r})\n"
        "for n in range(3, 6):\n"
        f"    post_user_message(bot=bot, conversation_id={conversation_id!r},"
        " text=f'offline {n}')\n"
        f"start_hitl(bot=bot, conversation_id={conversation_id + '-2'!r}, title={missed_title!r})\n"
    )
    desk.server.start()

    # htmx retries with a growing, jittered delay (up to a minute after long outages).
    for page in (maya, sam):
        live(page, timeout=70_000)
    expect(maya.locator("#message-list")).to_contain_text("offline 5")
    expect(sam.get_by_role("row").filter(has_text=missed_title)).to_be_visible()
    relay(desk, conversation_id, "after 6")
    expect(maya.locator("#message-list")).to_contain_text("after 6")
    for page in (maya, sam):
        assert same_document(page), "the page reloaded instead of catching up"

    lines = transcript(maya)
    ids = [message_id for message_id, _ in lines]
    assert ids == sorted(set(ids)), f"lines out of order or twice: {ids}"
    texts = " ".join(text for _, text in lines)
    expected = ["before 0", "before 1", "before 2", "offline 3", "offline 4", "offline 5",
                "after 6"]
    assert [t for t in expected if t in texts] == expected
    for text in expected:
        assert texts.count(text) == 1, f"{text!r} shown {texts.count(text)} times"
