"""Every agent page, in French and in German, shows no English UI string.

Each page is rendered for an admin whose profile chose the language, over a desk with
something on every page (tickets open, assigned, waiting, closed and rated, with
labels, notes and the system lines those leave; an approval waiting and one decided;
canned responses; the Reports over those tickets). What the page shows is its text and
the attributes people read (title, placeholder, aria-label, alt), outside <script>,
<style> and <code>; what the bot, the customer and the agents wrote (names, titles,
messages) is taken out first: it is not the UI.

A page fails when that text holds
- a phrase of an English msgid of the catalogs whose translation differs (words the
  languages share, "Ticket", "Bot", "Filter", prove nothing), or
- an English function word ("the", "and", "with", "your"…) that neither French nor
  German uses: the mark of an English sentence that never reached the catalogs.

The browser test (tests/browser/test_browser_german.py) does the same on the live
page in Chromium; this one covers every page in both languages without a browser.
"""

import re
from datetime import timedelta
from html.parser import HTMLParser
from pathlib import Path

import polib
import pytest
from django.test import Client
from django.utils import timezone

from approvals import services as approvals
from bots.models import Bot
from desk import canned, labels, services
from desk.assignment import agent_set_capacity
from desk.localization import agent_set_locale
from desk.models import Ticket

ROOT = Path(__file__).resolve().parent.parent
SPLIT = re.compile(r"%\(\w+\)[sd]|\{\w+\}|<[^>]+>|&\w+;")
# English words no French or German sentence has (as whole words, any case).
ENGLISH_WORDS = re.compile(
    r"(?<![\w-])(the|and|with|from|your|you|this|that|these|is|are|were|has|have|"
    r"been|of|to|by|for|nobody|yet|can|only|here|there)(?![\w-])",
    re.IGNORECASE,
)
SKIP_ELEMENTS = {"script", "style", "code", "pre", "template"}
READ_ATTRIBUTES = {"title", "placeholder", "aria-label", "alt"}
# What people typed or a bot sent: not the UI. (German and French words, so a page
# cannot pass by showing them; names and addresses are taken out.)
DATA = [
    "Jo Beispiel", "jo@example.com", "Support Bot", "support-bot", "Alex Admin", "Maya Lopez",
    "Sam Okafor", "alex", "maya", "sam", "Rückerstattung", "Ich wurde zweimal belastet",
    "Kümmere mich", "Kulanz", "Kulanz prüfen", "refund_order", "Rückzahlung", "Gutschrift",
    "Bestellung", "Bitte prüfen", "test bot key", "Kündigung", "Danke",
]


def parts(text: str) -> set[str]:
    found = set()
    for part in SPLIT.split(text):
        part = part.strip(" .,:;()·—–→←“”„«»\"'!?…")
        # Phrases people read, not date formats ("M j, H:i"), codes or symbols.
        if re.search(r"[A-Za-z]{3,}", part) and part not in {"Desk", "CSAT"}:
            found.add(part)
    return found


def english_phrases(lang: str) -> set[str]:
    english, translated = set(), set()
    for domain in ("django", "djangojs"):
        for entry in polib.pofile(str(ROOT / f"locale/{lang}/LC_MESSAGES/{domain}.po")):
            if entry.obsolete or entry.msgctxt and "date format" in entry.msgctxt:
                continue
            english |= parts(entry.msgid) | (parts(entry.msgid_plural) if entry.msgid_plural
                                             else set())
            for text in entry.msgstr_plural.values() if entry.msgid_plural else [entry.msgstr]:
                translated |= parts(text)
    return english - translated


class _Visible(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.skipping: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag in SKIP_ELEMENTS:
            self.skipping.append(tag)
        for name, value in attrs:
            if name in READ_ATTRIBUTES and value:
                self.text.append(value)

    def handle_endtag(self, tag):
        if self.skipping and self.skipping[-1] == tag:
            self.skipping.pop()

    def handle_data(self, data):
        if not self.skipping:
            self.text.append(data)


def visible_text(html: str, data: list[str]) -> str:
    parser = _Visible()
    parser.feed(html)
    text = "\n".join(parser.text)
    for value in sorted(filter(None, [*DATA, *data]), key=len, reverse=True):
        text = text.replace(value, " ")
    return text


def english_in(html: str, lang: str, data: list[str] = ()) -> list[str]:
    text = visible_text(html, list(data))
    found = [
        phrase for phrase in english_phrases(lang)
        if re.search(r"(?<![\w-])" + re.escape(phrase) + r"(?![\w-])", text)
    ]
    for match in ENGLISH_WORDS.finditer(text):
        line = text[max(0, match.start() - 40):match.end() + 40].replace("\n", " ")
        found.append(f"English word {match.group(0)!r} in …{line}…")
    return sorted(set(found))


@pytest.fixture
def desk_with_everything(admin_user, agent, other_agent, connected_bot):
    """Something on every page, done by agents who read English."""
    agent_set_capacity(agent_id=agent.pk, capacity=5, by=admin_user)
    urgent = labels.label_save(by=admin_user, name="Kulanz", colour="#c92a2a")

    def ticket(conversation: str, **fields) -> Ticket:
        made, _ = services.start_hitl(
            bot=connected_bot, conversation_id=conversation, title="Rückerstattung",
            user_name="Jo Beispiel", user_email="jo@example.com", user_id="kunde-1",
            custom_fields={"Bestellung": "A-1"},
            message_history=[services.HistoryItem(role="user", text="Ich wurde zweimal belastet")],
            **fields,
        )
        return made

    pending = ticket("c-pending", priority="high")
    assigned = ticket("c-assigned")
    services.ticket_claim(ticket_id=assigned.pk, agent=agent)
    services.ticket_reply(ticket_id=assigned.pk, agent=agent, text="Kümmere mich")
    services.ticket_add_note(ticket_id=assigned.pk, agent=agent, text="Kulanz prüfen")
    labels.ticket_add_label(ticket_id=assigned.pk, agent=agent, label_id=urgent.pk)
    waiting = ticket("c-waiting")
    services.ticket_claim(ticket_id=waiting.pk, agent=agent)
    services.ticket_wait(ticket_id=waiting.pk, agent=agent)
    closed = ticket("c-closed")
    services.ticket_assign(ticket_id=closed.pk, agent=admin_user, assignee=other_agent)
    services.ticket_close(ticket_id=closed.pk, agent=other_agent)
    services.rate_conversation(bot=connected_bot, conversation_id="c-closed", score=4,
                               comment="Danke")
    stopped = ticket("c-stopped")
    services.stop_hitl(bot=connected_bot, conversation_id="c-stopped")
    canned.canned_save(by=admin_user, code="danke", title="Danke", body="Danke, {customerName}",
                       shared=True)
    asked, _ = approvals.approval_request(
        bot=connected_bot, request_id="r-1", action="refund_order", title="Rückzahlung",
        summary="Bitte prüfen", arguments={"amount": 20}, conversation_id="c-assigned",
    )
    decided, _ = approvals.approval_request(
        bot=connected_bot, request_id="r-2", action="refund_order", title="Gutschrift",
        arguments={"amount": 5},
    )
    approvals.approver_set(user=admin_user, allowed=True, by=admin_user)
    approvals.approval_decide(approval_id=decided.pk, agent=admin_user, approve=True)
    Ticket.objects.filter(pk=pending.pk).update(created_at=timezone.now() - timedelta(minutes=12))
    # The texts the bot deployed (its handoff messages) are the bot's, in its language.
    bot_texts = [
        getattr(connected_bot, f.name) for f in Bot._meta.fields if f.name.endswith("_message")
    ]
    return {
        "bot_texts": bot_texts,
        "tickets": [pending, assigned, waiting, closed, stopped],
        "approvals": [asked, decided],
        "canned": canned.available_to(admin_user).get(),
    }


def pages(data: dict) -> list[str]:
    tickets, (asked, decided) = data["tickets"], data["approvals"]
    return [
        "/", "/?status=mine", "/?status=waiting", "/?status=closed", "/?label=1", "/?q=zweimal",
        *[f"/tickets/{t.pk}/" for t in tickets],
        f"/tickets/{tickets[1].pk}/earlier/?before=999999",
        "/approvals/", "/approvals/history/", f"/approvals/{asked.pk}/",
        f"/approvals/{decided.pk}/", "/settings/approvers/",
        "/reports/", "/reports/?range=7d", "/reports/?range=custom&from=2020-01-01&to=2099-01-01",
        "/settings/team/", "/settings/routing/", "/settings/labels/", "/settings/api-keys/",
        "/settings/bots/", "/settings/canned-responses/",
        f"/settings/canned-responses/{data['canned'].pk}/",
        "/me/profile/", "/no-such-page/",
    ]


@pytest.mark.parametrize("lang", ["de", "fr"])
def test_every_agent_page_shows_no_english(lang, admin_user, desk_with_everything):
    agent_set_locale(agent=admin_user, language=lang, time_zone="Europe/Berlin")
    client = Client()
    client.force_login(admin_user)
    problems = {}
    for path in pages(desk_with_everything):
        response = client.get(path)
        assert response.status_code in (200, 404), (path, response.status_code)
        assert response["Content-Language"] == lang, path
        found = english_in(response.content.decode(), lang, desk_with_everything["bot_texts"])
        if found:
            problems[path] = found
    assert not problems, "\n".join(f"{path}: {found}" for path, found in problems.items())


def test_the_check_finds_english_where_there_is_some(admin_user, desk_with_everything):
    """The same pages in English fail the check: it cannot pass by seeing nothing."""
    client = Client()
    client.force_login(admin_user)
    for path in pages(desk_with_everything):
        html = client.get(path).content.decode()
        assert english_in(html, "de", desk_with_everything["bot_texts"]), path


@pytest.mark.parametrize("lang", ["de", "fr"])
def test_the_login_page_follows_the_browser(lang, db):
    response = Client().get("/login/", headers={"accept-language": lang})
    assert response["Content-Language"] == lang
    assert english_in(response.content.decode(), lang) == []


def test_the_report_downloads_speak_the_agents_language(admin_user, desk_with_everything):
    agent_set_locale(agent=admin_user, language="de", time_zone="")
    client = Client()
    client.force_login(admin_user)
    for path in ("/reports/bots.csv", "/reports/agents.csv"):
        header, *rows = client.get(path).content.decode().splitlines()
        assert english_in(header, "de") == [], path
        assert "Median" in header  # a word German shares: the header is there
    bots = client.get("/reports/bots.csv").content.decode()
    assert "Eskalationen" in bots and "Gespräche" in bots


def test_the_report_figures_are_written_the_agents_way(admin_user, desk_with_everything):
    """A German desk writes 12,5 % and 1.234; the chart's days are German."""
    client = Client()
    client.force_login(admin_user)
    english = client.get("/reports/?range=7d").content.decode()
    agent_set_locale(agent=admin_user, language="de", time_zone="")
    german = client.get("/reports/?range=7d").content.decode()
    share = re.search(r'<p class="value">(\d+)[.,](\d) %</p>', english)
    assert share, "a percentage with a decimal in the headline"
    assert f'<p class="value">{share.group(1)},{share.group(2)} %</p>' in german
    today = timezone.localdate()
    months_de = ["Jan", "Feb", "Mär", "Apr", "Mai", "Jun", "Jul", "Aug", "Sep", "Okt", "Nov",
                 "Dez"]
    assert f"{today.day}. {months_de[today.month - 1]}" in german
