"""An agent whose browser speaks German: the inbox and the ticket page show no English
UI string, and they claim and answer a ticket in German.

"English UI string" means an English msgid of the catalogs whose German translation
differs (Ticket, Status, Bot… are the same words in German): any of its words' runs
(between placeholders and tags) showing in the page's visible text or in a title,
placeholder, aria-label or alt attribute fails the test.
"""

from __future__ import annotations

import re
import uuid
from pathlib import Path

import polib
import pytest
from conftest import CAST
from playwright.sync_api import expect

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent.parent
SPLIT = re.compile(r"%\(\w+\)[sd]|<[^>]+>|&\w+;")


def parts(text: str) -> set[str]:
    found = set()
    for part in SPLIT.split(text):
        part = part.strip(" .,:;()·—–→←“”„\"'")
        # Words people read, not date formats ("M j, H:i") or symbols.
        if re.search(r"[A-Za-z]{3,}", part) and part != "Desk":
            found.add(part)
    return found


def english_fragments() -> set[str]:
    english, german = set(), set()
    for domain in ("django", "djangojs"):
        for entry in polib.pofile(str(ROOT / f"locale/de/LC_MESSAGES/{domain}.po")):
            if entry.obsolete:
                continue
            translated = entry.msgstr_plural.values() if entry.msgid_plural else [entry.msgstr]
            english |= parts(entry.msgid)
            for text in translated:
                german |= parts(text)
    # A word both languages use ("Filter", "Ticket", "Status") proves nothing.
    return english - german


VISIBLE_TEXT = """() => {
  const parts = [document.title, document.body.innerText];
  for (const el of document.querySelectorAll('[title], [placeholder], [aria-label], img[alt]')) {
    for (const name of ['title', 'placeholder', 'aria-label', 'alt']) {
      if (el.hasAttribute(name)) parts.push(el.getAttribute(name));
    }
  }
  return parts.join('\\n');
}"""


def english_in(page, data: list[str]) -> list[str]:
    text = page.evaluate(VISIBLE_TEXT)
    for value in data:  # what the customer and the bot wrote is not the UI
        text = text.replace(value, " ")
    return sorted(
        fragment for fragment in english_fragments()
        if re.search(r"(?<![\w-])" + re.escape(fragment) + r"(?![\w-])", text)
    )


def test_a_german_agent_sees_no_english_and_claims_and_answers_a_ticket(browser, desk):
    title, customer, said = "Rückerstattung doppelt", "Jo Beispiel", "Ich wurde zweimal belastet"
    status, body = desk.bot.start_hitl(
        conversationId=f"conv-{uuid.uuid4().hex[:8]}", title=title, userName=customer,
        userEmail="jo@example.com", priority="high",
        messageHistory=[{"role": "user", "text": said}],
    )
    assert status == 201, body
    data = [title, customer, said, "jo@example.com", "Browser Bot", "Maya Lopez", "Alex Admin",
            "Sam Okafor"]
    context = browser.new_context(
        base_url=desk.url, locale="de-DE", timezone_id="Europe/Berlin",
        viewport={"width": 390, "height": 844},
    )
    try:
        page = context.new_page()
        page.goto("/login/")
        expect(page.get_by_role("button", name="Anmelden")).to_be_visible()
        assert english_in(page, data) == []
        page.locator("input[name=username]").fill("maya")
        page.locator("input[name=password]").fill(CAST["maya"][0])
        page.get_by_role("button", name="Anmelden").click()
        page.wait_for_url(lambda url: "/login/" not in url)

        expect(page.locator("html")).to_have_attribute("lang", "de")
        expect(page.get_by_role("heading", name=re.compile("Posteingang"))).to_be_visible()
        row = page.get_by_role("row").filter(has_text=title)
        expect(row).to_contain_text("wartend")
        expect(page.locator("#live-state")).to_have_text("Live")
        assert english_in(page, data) == []

        row.get_by_role("link").click()
        composer = page.get_by_role("textbox", name="Nachricht")
        expect(composer).to_be_visible()
        assert english_in(page, data) == []
        # On a phone the details and actions are behind a button, in the transcript's place.
        page.get_by_role("button", name="Details und Aktionen").click()
        expect(page.get_by_role("button", name="Mir zuweisen")).to_be_visible()
        assert english_in(page, data) == []
        page.get_by_role("button", name="Mir zuweisen").click()
        expect(page.locator("#ticket-details")).to_contain_text("zugewiesen")
        page.get_by_role("button", name="Zurück zum Gespräch").click()
        composer.fill("Ich kümmere mich darum.")
        page.get_by_role("button", name="Senden").click()
        expect(page.locator("#message-list")).to_contain_text("Ich kümmere mich darum.")
        assert english_in(page, [*data, "Ich kümmere mich darum."]) == []
        # The browser's time zone was reported and kept.
        zone = desk.shell(
            "from desk.models import AgentProfile\n"
            "print(AgentProfile.objects.get(agent__username='maya').browser_time_zone)"
        ).split()[-1]
        assert zone == "Europe/Berlin"
    finally:
        context.close()
