"""Every page on a phone and a desktop, for keyboard and screen-reader users.

One Desk server (with the demo webchat) and one Chromium; the pages are audited from two
long-lived tabs (Alex the admin, who sees every page, and a visitor who is not logged
in), changing only the viewport and the colour scheme between checks.

- axe-core (WCAG 2.0/2.1/2.2 A and AA rules) finds no serious or critical violation on
  any page, light and dark, at 1280 and 360 px wide;
- no page scrolls sideways at 360, 390, 768, 1280 or 1920 px;
- at 390 px every control a thumb must hit is at least 44 × 44 px (see a11y.TARGETS
  for exactly which);
- live regions announce a new escalation, a new message and a lost claim, and focus
  stays where it was when rows arrive;
- every keyboard stop shows a focus ring; the inbox shortcuts never fire in a field;
- prefers-reduced-motion turns animations and transitions off;
- on a 390 px phone an agent claims and answers a ticket, never scrolling sideways.
"""

from __future__ import annotations

import uuid

import pytest
from a11y import axe_violations, describe, horizontal_overflow, small_targets
from conftest import CAST
from playwright.sync_api import expect

pytestmark = pytest.mark.slow
DESK_DEMO = True

PHONE, DESKTOP = 360, 1280
HEIGHT = 800
LONG_EMAIL = "jordan.lee.with-a-rather-long-address.for-testing-wrapping@example-customer.com"

TICKETS = {
    "claimed": dict(
        title="Refund for a double charge on order #4411, billed twice on the same card",
        priority="urgent", userName="Jordan Lee", userEmail=LONG_EMAIL, userId="jordan-1",
        customFields={"plan": "Pro", "orders": 14, "vip": True,
                      "lastOrder": "#4411-BILLED-TWICE-ON-THE-SAME-CARD-0123456789"},
        messageHistory=[
            {"role": "user", "text": "I was charged twice for order #4411."},
            {"role": "bot", "text": "Sorry about that! Let me get a person to look at it."},
            {"role": "user", "text": "Here is the reference: "
                                     "ch_3Px7AbCdEfGhIjKlMnOpQrStUvWxYz0123456789abcdefghij"},
        ]),
    "unclaimed": dict(
        title="Can't log in after a password reset", priority="high", userName="Priya Nair",
        userEmail="priya@example.com",
        messageHistory=[{"role": "user", "text": "The reset link says it expired."}]),
    "closed": dict(
        title="Change the delivery address", priority="medium", userName="Jordan Lee",
        userId="jordan-1",
        messageHistory=[{"role": "user", "text": "Can I still change where it ships?"}]),
    "waiting": dict(
        title="Which size fits a 12-year-old?", priority="low", userName="Jordan Lee",
        userId="jordan-1",
        messageHistory=[{"role": "user", "text": "Which size should I order?"}]),
    "low": dict(
        title="Does the Pro plan include SSO?", priority="low", userName="Chen Wu",
        messageHistory=[{"role": "user", "text": "Does the Pro plan include SSO?"}]),
}


def pk_of(desk, ticket_id: str) -> int:
    return int(desk.shell(
        f"from desk.models import Ticket; print(Ticket.objects.get(public_id='{ticket_id}').pk)"
    ).split()[-1])


@pytest.fixture(scope="module")
def site(desk, browser) -> dict[str, str]:
    """The data every page shows, made once: {page name: path}."""
    ids = {}
    for name, fields in TICKETS.items():
        status, body = desk.bot.start_hitl(conversationId=f"a11y-{name}", **fields)
        assert status == 201, body
        ids[name] = pk_of(desk, body["ticketId"])
    desk.shell(
        "from django.contrib.auth import get_user_model\n"
        "from desk.services import ticket_claim, ticket_reply, ticket_close, ticket_add_note\n"
        "alex = get_user_model().objects.get(username='alex')\n"
        f"ticket_claim(ticket_id={ids['claimed']}, agent=alex)\n"
        f"ticket_reply(ticket_id={ids['claimed']}, agent=alex, text='I can see both charges.')\n"
        f"ticket_add_note(ticket_id={ids['claimed']}, agent=alex, text='Refund issued: re_3Px8')\n"
        f"ticket_claim(ticket_id={ids['closed']}, agent=alex)\n"
        f"ticket_close(ticket_id={ids['closed']}, agent=alex)\n"
        "from desk.services import ticket_wait\n"
        f"ticket_claim(ticket_id={ids['waiting']}, agent=alex)\n"
        f"ticket_wait(ticket_id={ids['waiting']}, agent=alex)\n"
        "from desk.labels import ticket_add_label\n"
        "from desk.models import Label\n"
        "for name, colour in (('Refund', '#ffd43b'), ('VIP', '#6741d9'), ('Bug', '#c92a2a')):\n"
        "    label = Label.objects.create(name=name, colour=colour)\n"
        "    if name != 'Bug':\n"
        f"        ticket_add_label(ticket_id={ids['claimed']}, agent=alex, label_id=label.pk)\n"
        "from desk.canned import canned_save\n"
        "canned_save(by=alex, code='refund', title='Refund policy', shared=True,"
        " body='Hi {customerName}, refunds reach your card within 5 working days.')\n"
        "canned_save(by=alex, code='thanks', title='Thanks for waiting',"
        " body='Thanks for waiting, {customerName}. I am looking into it now.')\n"
    )
    approvals = []
    for n, title in enumerate(["Refund 40.00 USD on order #4411", "Cancel order #77"]):
        status, body = desk.bot.call("POST", "/approvals", {
            "requestId": uuid.uuid4().hex, "action": "refund", "title": title,
            "summary": "Jordan Lee asked in the webchat for a refund of the second charge.",
            "arguments": {"orderId": "4411", "amount": 40, "currency": "USD"},
            "argumentsSchema": {"type": "object", "properties": {
                "orderId": {"type": "string"}, "amount": {"type": "number", "minimum": 0},
                "currency": {"type": "string", "enum": ["USD", "EUR"]}}},
            "conversationId": "a11y-claimed", "priority": ["high", "medium"][n],
        })
        assert status == 201, body
        approvals.append(body["approvalId"])
    approval_pk = desk.shell(
        "from approvals.models import Approval\n"
        "from approvals.services import approval_decide\n"
        "from django.contrib.auth import get_user_model\n"
        f"a = Approval.objects.get(public_id='{approvals[1]}')\n"
        "approval_decide(approval_id=a.pk, agent=get_user_model().objects.get(username='alex'),"
        " approve=False, reason='Already cancelled by the warehouse.')\n"
        f"print(Approval.objects.get(public_id='{approvals[0]}').pk)\n"
    ).split()[-1]
    # A second bot, deployed but not enabled yet, with a webhook that fails.
    from processes import BotSide
    BotSide(desk.url, desk.bot.key, "billing-bot").deploy(
        name="Billing Bot", agentAssignedMessage="{agentName} from billing is here.",
        webhookUrl="http://127.0.0.1:9/hooks/desk",
    )
    # A demo webchat where the customer asked for a person.
    context = browser.new_context(base_url=desk.url)
    try:
        customer = context.new_page()
        customer.goto("/demo/")
        customer.get_by_label("Your name").fill("Jo Customer")
        customer.get_by_role("button", name="Start chatting").click()
        expect(customer.locator("#lines")).to_contain_text("I'm the Acme bot")
        box = customer.get_by_role("textbox", name="Message")
        box.fill("I need a human, please")
        box.press("Enter")
        expect(customer.locator("#lines")).to_contain_text("handing you over")
        chat = customer.url.removeprefix(desk.url)
    finally:
        context.close()
    return {
        "login": "/login/",
        "inbox": "/",
        "ticket-claimed": f"/tickets/{ids['claimed']}/",
        "ticket-unclaimed": f"/tickets/{ids['unclaimed']}/",
        "ticket-closed": f"/tickets/{ids['closed']}/",
        "ticket-waiting": f"/tickets/{ids['waiting']}/",
        "approvals": "/approvals/",
        "approval": f"/approvals/{approval_pk}/",
        "approval-history": "/approvals/history/",
        "approvers": "/settings/approvers/",
        "reports": "/reports/",
        "deflecting-bots": "/settings/bots/",
        "api-keys": "/settings/api-keys/",
        "team": "/settings/team/",
        "routing": "/settings/routing/",
        "canned-responses": "/settings/canned-responses/",
        "labels": "/settings/labels/",
        "profile": "/me/profile/",
        "demo-start": "/demo/",
        "demo-chat": chat,
    }


PAGES = [
    "login", "inbox", "ticket-claimed", "ticket-unclaimed", "ticket-closed", "ticket-waiting",
    "approvals",
    "approval", "approval-history", "approvers", "reports", "deflecting-bots", "api-keys",
    "team", "routing", "canned-responses", "labels", "profile", "demo-start", "demo-chat",
]
ANONYMOUS = {"login", "demo-start", "demo-chat"}


@pytest.fixture(scope="module")
def tabs(browser, desk, sign_in):
    """The tabs reused by every check: Alex's and a visitor's, in English and in German
    (the longer words)."""
    contexts, pages = [], {}
    for lang, locale in (("", "en-US"), ("-de", "de-DE")):
        for who in ("alex", "visitor"):
            context = browser.new_context(base_url=desk.url, locale=locale,
                                          viewport={"width": DESKTOP, "height": HEIGHT})
            context.set_default_timeout(10_000)
            contexts.append(context)
            pages[who + lang] = context.new_page()
    sign_in(pages["alex"], "alex")
    pages["alex-de"].context.add_cookies(pages["alex"].context.cookies())  # the same session
    yield pages
    for context in contexts:
        context.close()


def show(tabs, site, name: str, *, width: int, scheme: str = "light", reduced_motion=None,
         lang: str = ""):
    """The page `name` in the right tab at `width` px, in `scheme`, settled."""
    page = tabs[("visitor" if name in ANONYMOUS else "alex") + lang]
    page.emulate_media(color_scheme=scheme, reduced_motion=reduced_motion or "no-preference")
    page.set_viewport_size({"width": width, "height": HEIGHT})
    page.goto(site[name])
    settle(page)
    return page


def settle(page) -> None:
    """Loaded, its live connection open and its fonts laid out."""
    page.wait_for_load_state("load")
    if page.locator("#live-state").count() and page.locator("[ws-connect]").count():
        expect(page.locator("#live-state")).to_have_attribute("data-state", "live")
    if page.locator("#lines").count():
        expect(page.locator("#lines li").first).to_be_visible()
    page.evaluate("document.fonts.ready.then(() => true)")


@pytest.mark.parametrize("width", [DESKTOP, PHONE])
@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("name", PAGES)
def test_axe_finds_no_serious_violation(tabs, site, name, scheme, width):
    page = show(tabs, site, name, width=width, scheme=scheme)
    found = axe_violations(page)
    assert not found, f"{name} ({scheme}, {width} px):\n{describe(found)}"


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_axe_finds_no_serious_violation_with_menus_and_panels_open(tabs, site, scheme):
    """What only shows after a tap: the header's menu (its Settings open), the inbox's
    filters and a ticket's details on a phone; the Settings menu and the composer's
    canned responses on a desktop."""
    found = {}
    page = show(tabs, site, "inbox", width=PHONE, scheme=scheme)
    page.get_by_role("button", name="Menu").click()
    expect(page.get_by_role("button", name="Log out")).to_be_visible()
    page.locator(".nav-menu > summary").click()
    expect(page.get_by_role("link", name="Deflecting Bots")).to_be_visible()
    found["menu"] = axe_violations(page)
    assert horizontal_overflow(page) is None
    page.get_by_role("button", name="Menu").click()
    page.get_by_role("button", name="Filters").click()
    expect(page.get_by_role("searchbox")).to_be_visible()
    found["filters"] = axe_violations(page)
    page = show(tabs, site, "ticket-claimed", width=PHONE, scheme=scheme)
    page.get_by_role("button", name="Details and actions").click()
    expect(page.get_by_role("button", name="Close ticket")).to_be_visible()
    found["details"] = axe_violations(page)
    page = show(tabs, site, "ticket-claimed", width=DESKTOP, scheme=scheme)
    page.locator(".nav-menu > summary").click()
    expect(page.get_by_role("link", name="Deflecting Bots")).to_be_visible()
    found["settings menu"] = axe_violations(page)
    page.keyboard.press("Escape")
    page.locator("#composer textarea").fill("/ref")
    expect(page.get_by_role("listbox", name="Canned responses")).to_be_visible()
    found["canned responses"] = axe_violations(page)
    found = {state: v for state, v in found.items() if v}
    assert not found, "\n".join(f"{state}:\n{describe(v)}" for state, v in found.items())


@pytest.mark.parametrize("width,lang", [
    (360, ""), (390, ""), (768, ""), (1280, ""), (1920, ""), (360, "-de"), (1280, "-de"),
])
def test_no_page_scrolls_sideways(tabs, site, width, lang):
    wide = {}
    for name in PAGES:
        page = show(tabs, site, name, width=width, lang=lang)
        if found := horizontal_overflow(page):
            wide[name] = found
    assert not wide, "\n".join(
        f"{name}: {found['scrollWidth']} px wide in {found['width']}: {', '.join(found['wider'])}"
        for name, found in wide.items()
    )


def test_touch_targets_are_44_px_at_390(tabs, site):
    small = {}
    for name in PAGES:
        page = show(tabs, site, name, width=390)
        if found := small_targets(page):
            small[name] = found
    assert not small, "\n".join(f"{name}: {', '.join(found)}" for name, found in small.items())


# --- keyboard -------------------------------------------------------------------------------

FOCUS_RING = """() => {
  const el = document.activeElement;
  if (!el || el === document.body) return null;
  const outlined = (node) => {
    if (!node) return false;
    const s = getComputedStyle(node);
    return s.outlineStyle !== "none" && parseFloat(s.outlineWidth) >= 2;
  };
  // An inbox row shows its link's focus as a 2 px inset ring around the whole row.
  const row = el.closest("[role=row]");
  const rowRing = row && /0px 0px 0px 2px/.test(getComputedStyle(row).boxShadow);
  const text = (el.getAttribute("aria-label") || el.textContent || el.name || "")
    .trim().replace(/\\s+/g, " ");
  return {
    ring: outlined(el) || outlined(el.closest("label")) || !!rowRing,
    what: el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") + ' "' + text.slice(0, 30) + '"',
  };
}"""
STOPS = 30


@pytest.mark.parametrize("name", PAGES)
def test_every_keyboard_stop_shows_a_focus_ring(tabs, site, name):
    page = show(tabs, site, name, width=DESKTOP)
    without, reached = [], 0
    found = page.evaluate(FOCUS_RING)  # a field focused on load (autofocus) counts too
    for _ in range(STOPS):
        if found is not None:
            reached += 1
            if not found["ring"]:
                without.append(found["what"])
        page.keyboard.press("Tab")
        found = page.evaluate(FOCUS_RING)
        if found is None and reached:
            break
    assert reached >= 3, f"{name}: Tab reached only {reached} controls"
    assert not without, f"{name}: no visible focus ring on {', '.join(without)}"


def test_shortcuts_never_fire_while_typing(tabs, site, desk):
    page = show(tabs, site, "inbox", width=DESKTOP)
    search = page.get_by_role("searchbox")
    search.click()
    page.keyboard.type("jkc/")
    expect(search).to_have_value("jkc/")
    expect(page.locator(".ticket-row.selected")).to_have_count(0)
    # Out of the field (Escape), the same keys are shortcuts again.
    page.keyboard.press("Escape")
    page.keyboard.press("j")
    expect(page.locator(".ticket-row.selected")).to_have_count(1)

    page = show(tabs, site, "ticket-unclaimed", width=DESKTOP)
    composer = page.locator("#composer textarea")
    composer.click()
    page.keyboard.type("c j k /")
    expect(composer).to_have_value("c j k /")
    expect(page.locator("#assignee-name")).to_contain_text("Nobody yet")

    page = show(tabs, site, "approval", width=DESKTOP)
    reason = page.get_by_label("Reason")
    reason.click()
    page.keyboard.type("a r")
    expect(reason).to_have_value("a r")
    expect(page.get_by_role("button", name="Approve", exact=True)).to_be_visible()
    expect(page.locator(".flash")).to_have_count(0)


# --- motion ----------------------------------------------------------------------------------

MOVING = """() => {
  // A transcript line that just arrived animates: make one look just arrived.
  const line = document.querySelector("#message-list .msg");
  if (line) line.classList.add("htmx-added");
  const seconds = (value) => Math.max(0, ...value.split(",").map((v) => parseFloat(v) || 0));
  const moving = [];
  for (const el of document.querySelectorAll("*")) {
    for (const pseudo of [null, "::before", "::after"]) {
      const s = getComputedStyle(el, pseudo);
      const animated = s.animationName !== "none" && seconds(s.animationDuration) > 0;
      if (animated || seconds(s.transitionDuration) > 0) {
        moving.push(el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") + "." +
                    String(el.className).trim().split(/\\s+/).join(".") + (pseudo || ""));
      }
    }
  }
  if (line) line.classList.remove("htmx-added");
  return moving;
}"""


def test_reduced_motion_turns_animations_and_transitions_off(tabs, site):
    # Without the preference, things do move (a toast slides, a new line fades in).
    for name in ("inbox", "ticket-claimed"):
        page = show(tabs, site, name, width=DESKTOP)
        assert page.evaluate(MOVING), f"{name}: nothing moves even without the preference"
    moving = {}
    for name in PAGES:
        page = show(tabs, site, name, width=DESKTOP, reduced_motion="reduce")
        if found := page.evaluate(MOVING):
            moving[name] = found[:6]
    assert not moving, moving


# --- live regions ------------------------------------------------------------------------------

def test_live_regions_announce_without_moving_focus(open_page, desk):
    maya = open_page("maya")
    expect(maya.locator("#live-state")).to_have_attribute("data-state", "live")
    announcer = maya.locator("#inbox-announcer")
    expect(announcer).to_have_attribute("aria-live", "polite")
    expect(announcer).to_have_attribute("role", "status")
    maya.get_by_role("searchbox").focus()
    maya.evaluate("window.__focused = document.activeElement")

    # A new escalation is told once, and the search box keeps the focus.
    title = f"Printer on fire {uuid.uuid4().hex[:4]}"
    conversation = f"a11y-live-{uuid.uuid4().hex[:6]}"
    status, body = desk.bot.start_hitl(conversationId=conversation, title=title,
                                       userName="Kim Park", priority="high")
    assert status == 201, body
    expect(announcer).to_have_text(f"New ticket: #{body['number']} {title}")
    assert maya.evaluate("document.activeElement === window.__focused")

    # A row that holds the focus is replaced by its new copy: the focus follows it.
    row = maya.get_by_role("row").filter(has_text=title)
    row.get_by_role("link").focus()
    row_id = row.get_attribute("id")
    announced = announcer.text_content()
    status, _ = desk.bot.call("POST", f"/conversations/{conversation}/messages",
                              {"text": "It is smoking now"})
    assert status == 202
    expect(row).to_contain_text("It is smoking now")
    assert maya.evaluate(
        "[document.activeElement.matches('a.row-link'), "
        "(document.activeElement.closest('[role=row]') || {}).id]"
    ) == [True, row_id]
    assert announcer.text_content() == announced  # a message on a known ticket is not an escalation

    # In the open ticket, a new message is announced (polite) while the agent types.
    sam = open_page("sam")
    sam.goto(row.get_by_role("link").get_attribute("href"))
    expect(sam.locator("#live-state")).to_have_attribute("data-state", "live")
    transcript = sam.locator("#message-list")
    expect(transcript).to_have_attribute("aria-live", "polite")
    composer = sam.locator("#composer textarea")
    composer.click()
    sam.keyboard.type("Checking the")
    status, _ = desk.bot.call("POST", f"/conversations/{conversation}/messages",
                              {"text": "Hello? Anyone there?"})
    assert status == 202
    expect(transcript).to_contain_text("Hello? Anyone there?")
    expect(composer).to_be_focused()
    expect(composer).to_have_value("Checking the")

    # Sam is about to claim it (focus on the button) when Maya claims it: the transcript
    # says so, and the focus stays in the side bar that replaced the button.
    claim = sam.get_by_role("button", name="Assign to me")
    claim.focus()
    sam.evaluate("window.__stale = document.querySelector('#ticket-details [data-claim]')"
                 ".closest('form').cloneNode(true)")
    maya.goto(row.get_by_role("link").get_attribute("href"))
    maya.get_by_role("button", name="Assign to me").click()
    expect(transcript).to_contain_text("Maya Lopez claimed the ticket.")
    expect(sam.locator("#assignee-name")).to_have_text("Maya Lopez")
    assert sam.evaluate("!!document.activeElement.closest('#ticket-details')")
    # A claim that loses the race (sent from the stale button) is told at once (role=alert).
    sam.evaluate("""() => {
      const form = window.__stale;
      document.querySelector('.ticket-page').append(form);
      htmx.process(form);
      form.querySelector('[data-claim]').click();
    }""")
    toast = sam.locator("#toast")
    expect(toast).to_contain_text("Maya Lopez already claimed this ticket.")
    expect(toast).to_have_attribute("role", "alert")


# --- a phone ----------------------------------------------------------------------------------

def fits(page) -> None:
    found = horizontal_overflow(page)
    assert found is None, found
    assert page.evaluate("window.scrollX") == 0


def test_on_a_390_px_phone_in_german_an_agent_claims_and_answers(browser, desk):
    """The issue's 'done': no zooming, no scrolling sideways, the composer in reach."""
    title = "Paket verloren"
    status, body = desk.bot.start_hitl(
        conversationId=f"a11y-phone-{uuid.uuid4().hex[:6]}", title=title, userName="Jo Beispiel",
        priority="urgent", messageHistory=[{"role": "user", "text": "Mein Paket ist weg."}],
    )
    assert status == 201, body
    context = browser.new_context(
        base_url=desk.url, locale="de-DE", viewport={"width": 390, "height": 844},
        is_mobile=True, has_touch=True,
    )
    try:
        page = context.new_page()
        page.goto("/login/")
        page.locator("input[name=username]").fill("maya")
        page.locator("input[name=password]").fill(CAST["maya"][0])
        page.get_by_role("button", name="Anmelden").tap()
        page.wait_for_url(lambda url: "/login/" not in url)
        expect(page.locator("#live-state")).to_have_attribute("data-state", "live")
        fits(page)

        # The list comes first: the new ticket's row is on the first screen; the
        # filters and the header's links wait behind their buttons.
        row = page.get_by_role("row").filter(has_text=title)
        assert row.bounding_box()["y"] + 40 < 844
        filters = page.get_by_role("button", name="Filter", exact=True)
        expect(filters).to_have_attribute("aria-expanded", "false")
        expect(page.get_by_role("searchbox")).to_be_hidden()
        menu = page.get_by_role("button", name="Menü")
        expect(page.get_by_role("button", name="Abmelden")).to_be_hidden()
        menu.tap()
        expect(menu).to_have_attribute("aria-expanded", "true")
        expect(page.get_by_role("button", name="Abmelden")).to_be_visible()
        fits(page)
        menu.tap()
        expect(page.get_by_role("button", name="Abmelden")).to_be_hidden()

        row.get_by_role("link").tap()
        composer = page.locator("#composer textarea")
        expect(composer).to_be_in_viewport()
        fits(page)
        details = page.get_by_role("button", name="Details und Aktionen")
        details.tap()
        # The details take the transcript's place, and the focus (its way back is first).
        expect(page.locator(".details-toggle")).to_have_attribute("aria-expanded", "true")
        expect(page.get_by_role("button", name="Zurück zum Gespräch")).to_be_focused()
        expect(composer).to_be_hidden()
        page.get_by_role("button", name="Mir zuweisen").tap()
        expect(page.locator("#ticket-details")).to_contain_text("zugewiesen")
        fits(page)
        page.get_by_role("button", name="Zurück zum Gespräch").tap()
        expect(details).to_be_focused()
        expect(composer).to_be_in_viewport()
        composer.tap()
        # The on-screen keyboard takes the bottom of the screen: the composer stays above it.
        page.set_viewport_size({"width": 390, "height": 460})
        expect(composer).to_be_in_viewport()
        box = page.get_by_role("button", name="Senden").bounding_box()
        assert box["y"] + box["height"] <= 460
        composer.fill("Ich kümmere mich darum.")
        page.get_by_role("button", name="Senden").tap()
        expect(page.locator("#message-list")).to_contain_text("Ich kümmere mich darum.")
        fits(page)
    finally:
        context.close()
