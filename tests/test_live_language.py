"""Live fragments in each tab's own language and time zone.

What a tab is pushed (a new or changed inbox row, the side-bar counts, a ticket's side
bar and new lines, alerts, agents' badges, typing) reads as the rest of its page: in
its agent's language and time zone, whoever made the change (a bot in English, an agent
in another language). Each change is rendered once per locale among the open tabs, not
once per tab.

Maya (the `agent` fixture) reads German in Berlin; Sam (`other_agent`) English in New
York. Tabs are real sockets through the project's ASGI application (test_live_inbox.py).
"""

import dataclasses
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import Permission
from django.template import Context, Template
from django.test import Client
from django.utils import timezone, translation
from django.utils.dateformat import format as date_format

from approvals.services import approval_request
from desk import assignment, localization, realtime, services
from desk.asgi import application
from desk.models import Message, Ticket
from tests.test_live_inbox import Tab, claim, opened, reply, ticket_for

pytestmark = pytest.mark.django_db(transaction=True)

# 23:30 UTC on March 1st: 00:30 on March 2nd in Berlin, 18:30 on March 1st in New York.
INSTANT = datetime(2026, 3, 1, 23, 30, tzinfo=UTC)


@pytest.fixture(autouse=True)
def fresh_listener_locales(monkeypatch):
    """Each test starts knowing no locale: none left from an earlier test's tabs."""
    monkeypatch.setattr(realtime, "_tabs_by_locale", {})
    realtime.forget_listener_locales()
    for language in ("de", "es"):  # their catalogs read now, not in a socket's handshake
        with translation.override(language):
            translation.gettext("Claim")
    yield
    realtime.forget_listener_locales()


@pytest.fixture
def german(agent):
    localization.agent_set_locale(agent=agent, language="de", time_zone="Europe/Berlin")
    return agent


@pytest.fixture
def english(other_agent):
    localization.agent_set_locale(
        agent=other_agent, language="en", time_zone="America/New_York"
    )
    return other_agent


def shown(value: object, language: str, zone: str) -> str:
    """`value` as a template shows it ("{{ value }}") in that language and time zone."""
    with translation.override(language), timezone.override(ZoneInfo(zone)):
        return Template("{{ value }}").render(Context({"value": value}))


class RenderCount:
    """Counts the renders of one live fragment (its `words`), wherever they happen: in
    the announcement, or in a consumer rendering its own."""

    def __init__(self, monkeypatch, name: str) -> None:
        self.calls: list[str] = []
        live = realtime.LIVE[name]

        def counted(loaded):
            self.calls.append(translation.get_language())
            return live.words(loaded)

        monkeypatch.setitem(realtime.LIVE, name, dataclasses.replace(live, words=counted))


# --- the inbox ------------------------------------------------------------------------------


async def test_a_bots_escalation_reaches_each_inbox_in_its_agents_language(
    german, english, connected_bot
):
    maya = await opened("/ws/desk/?inbox=1", german)
    sam = await opened("/ws/desk/?inbox=1", english)
    ticket = await ticket_for(connected_bot, title="Refund please", user_name="")
    row = f'id="ticket-{ticket.pk}"'
    german_row, english_row = await maya.wait_for(row), await sam.wait_for(row)
    assert "Übernehmen" in german_row and "Unbekannter Kunde" in german_row
    assert "wartet seit" in german_row and "Claim" not in german_row
    assert ">Claim<" in english_row and "Unknown customer" in english_row
    assert "Übernehmen" not in english_row
    await maya.close()
    await sam.close()


async def test_a_rows_times_are_in_each_agents_time_zone(german, english, connected_bot):
    ticket = await ticket_for(connected_bot)
    await Ticket.objects.filter(pk=ticket.pk).aupdate(created_at=INSTANT)
    maya = await opened("/ws/desk/?inbox=1", german)
    sam = await opened("/ws/desk/?inbox=1", english)
    await sync_to_async(services.ticket_set_priority)(
        ticket_id=ticket.pk, agent=english, priority="urgent"
    )
    german_row = await maya.wait_for(f'id="ticket-{ticket.pk}"')
    english_row = await sam.wait_for(f'id="ticket-{ticket.pk}"')
    in_berlin = shown(INSTANT, "de", "Europe/Berlin")
    in_new_york = shown(INSTANT, "en", "America/New_York")
    assert in_berlin != in_new_york
    assert f'title="{in_berlin}"' in german_row and f'title="{in_new_york}"' in english_row
    await maya.close()
    await sam.close()


async def test_the_counts_and_rows_render_once_per_locale_not_once_per_tab(
    monkeypatch, german, english, connected_bot
):
    rows = RenderCount(monkeypatch, "inbox.row")
    counts = RenderCount(monkeypatch, "inbox.counts")
    tabs = [await opened("/ws/desk/?inbox=1", german) for _ in range(3)]
    tabs += [await opened("/ws/desk/?inbox=1", english) for _ in range(3)]
    ticket = await ticket_for(connected_bot)
    for tab in tabs:
        await tab.wait_for(f'id="ticket-{ticket.pk}"')
        await tab.find('id="count-status-pending" hx-swap-oob="true">1<')
    assert sorted(rows.calls) == ["de", "en"]
    assert sorted(counts.calls) == ["de", "en"]
    for tab in tabs:
        await tab.close()


async def test_many_tabs_of_one_locale_cost_one_render(monkeypatch, german, connected_bot):
    rows = RenderCount(monkeypatch, "inbox.row")
    tabs = [await opened("/ws/desk/?inbox=1", german) for _ in range(6)]
    ticket = await ticket_for(connected_bot)
    for tab in tabs:
        assert "Übernehmen" in await tab.wait_for(f'id="ticket-{ticket.pk}"')
    assert rows.calls == ["de"]
    for tab in tabs:
        await tab.close()


async def test_a_tab_whose_locale_a_message_lacks_renders_its_own(
    monkeypatch, german, english, connected_bot
):
    # A German tab that opened on another server a moment ago: the process that renders
    # has not read its locale yet. It must get German, never English and never nothing.
    maya = await opened("/ws/desk/?inbox=1", german)
    sam = await opened("/ws/desk/?inbox=1", english)
    rows = RenderCount(monkeypatch, "inbox.row")
    monkeypatch.setattr(
        realtime, "listener_locales", lambda: [localization.locale_key("en", "America/New_York")]
    )
    ticket = await ticket_for(connected_bot)
    assert "Übernehmen" in await maya.wait_for(f'id="ticket-{ticket.pk}"')
    assert ">Claim<" in await sam.wait_for(f'id="ticket-{ticket.pk}"')
    assert sorted(rows.calls) == ["de", "en"]  # English for both; German by Maya's tab
    await maya.close()
    await sam.close()


async def test_the_locales_of_tabs_on_other_servers_are_rendered_too(
    monkeypatch, german, english, connected_bot
):
    # The tabs' locales recorded on their agents' presence rows are what another server
    # process reads: with this process's own list of its tabs emptied (as if they were
    # elsewhere), the change is still rendered in both, and no tab renders its own.
    maya = await opened("/ws/desk/?inbox=1", german)
    sam = await opened("/ws/desk/?inbox=1", english)
    await maya.drain()  # both arrived (their locales recorded)
    await sam.drain()
    monkeypatch.setattr(realtime, "_tabs_by_locale", {})
    realtime.forget_listener_locales()

    def no_tab_renders_its_own(message, key):
        raise AssertionError(f"{key} was missing from the message")

    monkeypatch.setattr(realtime, "words_for_one", no_tab_renders_its_own)
    ticket = await ticket_for(connected_bot)
    assert "Übernehmen" in await maya.wait_for(f'id="ticket-{ticket.pk}"')
    assert ">Claim<" in await sam.wait_for(f'id="ticket-{ticket.pk}"')
    await maya.close()
    await sam.close()


async def test_a_tab_in_the_browsers_language_gets_it_live(other_agent, connected_bot):
    # No language chosen: the tab follows its browser's Accept-Language, like its page.
    client = Client()
    await sync_to_async(client.force_login)(other_agent)
    tab = Tab("/ws/desk/?inbox=1", other_agent)
    tab.socket = WebsocketCommunicator(
        application,
        tab.path,
        headers=[
            (b"host", b"localhost"),
            (b"origin", b"http://localhost"),
            (b"cookie", f"sessionid={client.cookies['sessionid'].value}".encode()),
            (b"accept-language", b"es-ES,es;q=0.9,en;q=0.5"),
        ],
    )
    connected, _ = await tab.socket.connect(timeout=5)
    assert connected
    ticket = await ticket_for(connected_bot)
    frame = await tab.wait_for(f'id="ticket-{ticket.pk}"')
    with translation.override("es"):
        assert translation.gettext("Claim") in frame and ">Claim<" not in frame
    await tab.close()


# --- a ticket's tabs ------------------------------------------------------------------------


async def test_a_ticket_tab_gets_the_side_bar_and_new_lines_in_its_language(
    german, english, connected_bot
):
    ticket = await ticket_for(connected_bot)
    await Ticket.objects.filter(pk=ticket.pk).aupdate(created_at=INSTANT)
    maya = await opened(f"/ws/desk/?ticket={ticket.pk}", german)
    sam = await opened(f"/ws/desk/?ticket={ticket.pk}", english)
    await maya.drain()
    await sam.drain()
    await claim(ticket_id=ticket.pk, agent=english)  # Sam acts, in English
    german_side = await maya.wait_for('id="ticket-details"')
    english_side = await sam.wait_for('id="ticket-details"')
    assert "Zugewiesen" in german_side and "Assigned" not in german_side
    assert "Assigned" in english_side and "Zugewiesen" not in english_side
    # The ticket's opening, in each reader's time zone and way of writing dates.
    assert "2. Mär 2026, 00:30" in german_side and "Mar 1, 2026 18:30" in english_side
    # The system line of the claim, worded for each reader.
    assert "Sam Okafor hat das Ticket übernommen." in await maya.find("Sam Okafor hat")
    assert "Sam Okafor claimed the ticket." in await sam.find("Sam Okafor claimed")

    await reply(ticket_id=ticket.pk, agent=english, text="On it")
    german_line, english_line = await maya.wait_for("On it"), await sam.wait_for("On it")
    assert 'class="tag">Agent<' in german_line and 'class="tag">agent<' in english_line
    # Its time as each reader writes it: "2. Mär, 00:30" against "Mar 1, 18:30".
    sent = await Message.objects.aget(ticket_id=ticket.pk, text="On it")
    for line, language, zone, way in (
        (german_line, "de", "Europe/Berlin", "j. M, H:i"),
        (english_line, "en", "America/New_York", "M j, H:i"),
    ):
        with translation.override(language), timezone.override(ZoneInfo(zone)):
            when = date_format(timezone.localtime(sent.created_at), way)
        assert f'data-format="short">{when}<' in line
    await maya.close()
    await sam.close()


async def test_typing_reads_in_the_watchers_language(german, english, connected_bot):
    ticket = await ticket_for(connected_bot)
    maya = await opened(f"/ws/desk/?ticket={ticket.pk}", german)
    sam = await opened(f"/ws/desk/?ticket={ticket.pk}", english)
    await maya.drain()
    await sam.drain()
    await maya.send(action="typing")  # German Maya types; Sam reads it in English
    assert "Maya Lopez is typing…" in await sam.wait_for('class="typer"')
    await sam.send(action="typing")
    assert "Sam Okafor schreibt …" in await maya.wait_for('class="typer"')
    await maya.close()
    await sam.close()


# --- alerts and badges ----------------------------------------------------------------------


async def test_alerts_come_in_each_agents_language(german, english, connected_bot):
    maya = await opened("/ws/desk/?inbox=1", german)
    sam = await opened("/ws/desk/?inbox=1", english)
    ticket = await ticket_for(connected_bot, title="Broken", user_name="Jo")
    german_alert = await maya.wait_for('id="desk-alert"')
    english_alert = await sam.wait_for('id="desk-alert"')
    assert f'data-title="Neue Eskalation #{ticket.number}: Broken"' in german_alert
    assert f'data-title="New escalation #{ticket.number}: Broken"' in english_alert
    # One alert across tabs and languages: the same key.
    assert f'data-key="ticket-{ticket.pk}-new"' in german_alert
    assert f'data-key="ticket-{ticket.pk}-new"' in english_alert

    # Sam gives Maya the ticket: her alert in German, though Sam acts in English.
    await sync_to_async(services.ticket_assign)(
        ticket_id=ticket.pk, agent=english, assignee=german
    )
    given = await maya.wait_for("gehört Ihnen")
    assert f'data-title="#{ticket.number} gehört Ihnen: Broken"' in given
    await maya.close()
    await sam.close()


async def test_an_agents_badge_is_worded_in_each_watchers_language(
    german, english, connected_bot
):
    maya = await opened("/ws/desk/?inbox=1", german)
    sam = await opened("/ws/desk/?inbox=1", english)
    await maya.drain()
    await sam.drain()
    await sync_to_async(assignment.agent_set_availability)(agent=english, availability="busy")
    badge = f'data-status-of="{english.pk}"'
    assert ">beschäftigt<" in await maya.wait_for(badge)
    assert ">busy<" in await sam.wait_for(badge)
    await maya.close()
    await sam.close()


# --- approvals ------------------------------------------------------------------------------


async def test_an_approval_request_reaches_each_approvals_tab_in_its_language(
    german, english, connected_bot
):
    permission = await Permission.objects.aget(codename="decide_approval")
    await sync_to_async(german.user_permissions.add)(permission)
    maya = await opened("/ws/desk/?approvals=1", german)
    sam = await opened("/ws/desk/?approvals=1", english)
    await maya.drain()
    await sam.drain()
    approval, _ = await sync_to_async(approval_request)(
        bot=connected_bot, request_id="r1", action="refund", title="Refund $25",
        arguments={"amount": 25},
    )
    german_frame = await maya.wait_for(f'id="approval-{approval.pk}"')
    english_frame = await sam.wait_for(f'id="approval-{approval.pk}"')
    assert "läuft ab in" in german_frame and "expires in" in english_frame
    # Maya may decide it: her alert, in German (Sam may not: none for him).
    assert 'data-title="Freigabe angefragt: Refund $25"' in german_frame
    assert 'id="desk-alert"' not in english_frame
    await maya.close()
    await sam.close()
