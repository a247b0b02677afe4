"""A long conversation opens as fast as a short one: the ticket page shows the last
`TRANSCRIPT_PAGE_LINES` lines and a link to the earlier ones, which load a page at a
time; the pages put together are the whole transcript, in order, each line once; the
link works without JavaScript (the whole transcript), and the socket's replay after a
reconnect still starts after the page's last line."""

import re

import pytest
from django.test import Client

from desk import services
from desk.views import TRANSCRIPT_PAGE_LINES
from tests.test_live_inbox import message_ids, opened

LINES = 2 * TRANSCRIPT_PAGE_LINES + 37  # history + customer lines: three pages


def line_ids(html: str) -> list[int]:
    return [int(n) for n in re.findall(r'id="message-(\d+)"', html)]


def earlier_link(html: str) -> str | None:
    found = re.search(r'hx-get="([^"]*/earlier/\?before=\d+)"', html)
    return found.group(1) if found else None


@pytest.fixture
def long_ticket(connected_bot):
    ticket, _ = services.start_hitl(bot=connected_bot, conversation_id="long", title="Long one")
    for n in range(LINES):
        services.post_user_message(
            bot=connected_bot, conversation_id="long", text=f"line {n}", external_id=f"m{n}"
        )
    return ticket


def test_the_page_shows_the_last_lines_and_the_earlier_ones_load_a_page_at_a_time(
    agent_client, long_ticket
):
    page = agent_client.get(f"/tickets/{long_ticket.pk}/").content.decode()
    shown = line_ids(page)
    assert len(shown) == TRANSCRIPT_PAGE_LINES
    assert f"line {LINES - 1}" in page and f"line {LINES - TRANSCRIPT_PAGE_LINES - 1}<" not in page
    assert "Show earlier messages" in page

    every = shown
    link = earlier_link(page)
    pages = 1
    while link:
        response = agent_client.get(link, headers={"HX-Request": "true"})
        assert response.status_code == 200
        html = response.content.decode()
        earlier = line_ids(html)
        assert earlier and max(earlier) < min(every)
        every = earlier + every
        link = earlier_link(html)
        pages += 1
    assert pages == 3
    assert every == sorted(every) and len(set(every)) == len(every)
    whole = line_ids(agent_client.get(f"/tickets/{long_ticket.pk}/?all=1").content.decode())
    assert every == whole
    assert len(whole) == long_ticket.messages.count()


def test_a_short_transcript_has_no_earlier_link(agent_client, connected_bot):
    ticket, _ = services.start_hitl(bot=connected_bot, conversation_id="short", title="Short")
    services.post_user_message(bot=connected_bot, conversation_id="short", text="Hello")
    page = agent_client.get(f"/tickets/{ticket.pk}/").content.decode()
    assert "Show earlier messages" not in page
    assert len(line_ids(page)) == ticket.messages.count()


def test_the_earlier_lines_are_for_agents_only_and_need_a_line_id(
    agent_client, long_ticket
):
    url = f"/tickets/{long_ticket.pk}/earlier/"
    assert agent_client.get(url).status_code == 400
    assert agent_client.get(url + "?before=abc").status_code == 400
    assert agent_client.get(f"/tickets/{long_ticket.pk + 999}/earlier/?before=5").status_code == 404
    anonymous = Client().get(url + "?before=5")
    assert anonymous.status_code == 302 and "/login/" in anonymous["Location"]


@pytest.mark.django_db(transaction=True)
async def test_a_reconnecting_tab_is_replayed_exactly_what_came_after_its_last_line(
    agent, connected_bot
):
    from asgiref.sync import sync_to_async

    ticket, _ = await sync_to_async(services.start_hitl)(
        bot=connected_bot, conversation_id="long", title="Long one"
    )
    for n in range(TRANSCRIPT_PAGE_LINES + 5):
        await sync_to_async(services.post_user_message)(
            bot=connected_bot, conversation_id="long", text=f"line {n}"
        )
    client = Client()
    await sync_to_async(client.force_login)(agent)
    page = (await sync_to_async(client.get)(f"/tickets/{ticket.pk}/")).content.decode()
    last = max(line_ids(page))
    # Three lines arrive while the tab is away; it comes back after its last line.
    for n in range(3):
        await sync_to_async(services.post_user_message)(
            bot=connected_bot, conversation_id="long", text=f"while away {n}"
        )
    tab = await opened(f"/ws/desk/?ticket={ticket.pk}&after={last}", agent)
    await tab.wait_for("while away 2")
    await tab.drain()  # anything after the last line: a repeat would show here
    replayed = message_ids(tab.frames)
    away = await sync_to_async(list)(
        ticket.messages.filter(id__gt=last).order_by("id").values_list("id", flat=True)
    )
    assert replayed == away and len(away) == 3
    await tab.close()
