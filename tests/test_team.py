"""The team: each agent's availability (chosen in the header), presence (an open Desk tab)
and load, shown beside their name everywhere, and the admins' Team page."""

import asyncio

import pytest
from asgiref.sync import sync_to_async
from django.test import Client
from test_live_inbox import opened

from desk import realtime, services
from desk.models import AgentProfile

# Sockets need committed rows; the rest run in a rolled-back transaction.
live = pytest.mark.django_db(transaction=True)


def set_availability(client: Client, value: str, **headers):
    return client.post("/me/availability/", {"availability": value}, headers=headers)


def team_row(html: str, agent) -> str:
    start = html.index(f'id="agent-{agent.pk}"')
    return html[start : html.index("</tr>", start)]


@pytest.fixture
def quick_presence(settings, monkeypatch):
    """Away after one second of no open tab, and each process looks for who left every
    0.2 s, so the tests wait for real without waiting long."""
    settings.DESK_AWAY_AFTER_SECONDS = 1
    monkeypatch.setattr(realtime, "PRESENCE_SWEEP_INTERVAL", 0.2)


# --- availability from the header ---------------------------------------------------------


def test_the_header_offers_online_busy_offline_with_the_current_choice(agent_client):
    html = agent_client.get("/").content.decode()
    start = html.index('id="availability-menu"')
    menu = html[start : html.index("</form>", start)]
    assert '<option value="online" selected>' in menu
    assert '<option value="busy">' in menu and '<option value="offline">' in menu


def test_an_agent_goes_busy_from_the_header(agent_client, agent):
    response = set_availability(agent_client, "busy")
    assert response.status_code == 302
    assert AgentProfile.objects.get(agent=agent).availability == "busy"
    html = agent_client.get("/").content.decode()
    assert '<option value="busy" selected>' in html


def test_with_htmx_the_menu_comes_back_in_place(agent_client, agent):
    response = set_availability(agent_client, "offline", HX_Request="true")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="availability-menu"' in html and '<option value="offline" selected>' in html


def test_an_unknown_availability_is_refused_and_changes_nothing(agent_client, agent):
    set_availability(agent_client, "busy")
    response = set_availability(agent_client, "asleep", HX_Request="true")
    assert "Choose online, busy or offline." in response.content.decode()
    assert AgentProfile.objects.get(agent=agent).availability == "busy"


def test_it_needs_login_and_a_post(client, agent_client):
    assert set_availability(client, "busy").status_code == 302
    assert agent_client.get("/me/availability/").status_code == 405


# --- presence ------------------------------------------------------------------------------


@live
async def test_an_agent_with_no_open_tab_is_away_and_online_once_a_tab_opens(
    agent, other_agent, quick_presence
):
    sam = await opened("/ws/desk/?inbox=1", other_agent)
    await sam.drain()
    assert await status_on_team_page(agent) == "away"
    maya = await opened("/ws/desk/?inbox=1", agent)
    frame = await sam.wait_for(f'data-status-of="{agent.pk}"')
    assert "avail-online" in frame
    assert await status_on_team_page(agent) == "online"
    await maya.close()
    await sam.close()


@live
async def test_an_agent_whose_last_tab_closed_goes_away_after_the_delay(
    agent, other_agent, quick_presence, settings
):
    settings.DESK_AWAY_AFTER_SECONDS = 2
    sam = await opened("/ws/desk/?inbox=1", other_agent)
    maya = await opened("/ws/desk/?inbox=1", agent)
    await sam.find(f'data-status-of="{agent.pk}"')
    await maya.close()
    await asyncio.sleep(0.5)
    assert await status_on_team_page(agent) == "online"  # a reload is not leaving
    frame = await sam.wait_for(f'avail avail-away" data-status-of="{agent.pk}"', timeout=5)
    assert "away" in frame
    assert await status_on_team_page(agent) == "away"
    await sam.close()


@live
async def test_an_open_tab_keeps_its_agent_present(agent, quick_presence):
    maya = await opened("/ws/desk/?inbox=1", agent)
    await asyncio.sleep(2.5)  # more than twice the away delay, the tab still open
    assert await status_on_team_page(agent) == "online"
    await maya.close()


@live
async def test_presence_is_kept_in_the_database_for_every_process(agent, quick_presence):
    """What one process's socket did is what a page rendered anywhere else reads: no
    process memory is involved in the Team page's answer."""
    from desk.models import Presence

    maya = await opened("/ws/desk/?inbox=1", agent)
    assert await Presence.objects.filter(agent=agent).aexists()
    assert await status_on_team_page(agent) == "online"
    await maya.close()


@live
async def test_a_busy_agent_shows_busy_to_the_other_tabs_at_once(agent, other_agent):
    sam = await opened("/ws/desk/?inbox=1", other_agent)
    maya = await opened("/ws/desk/?inbox=1", agent)
    await sam.drain()
    await maya.drain()
    before = len(sam.frames)
    client = Client()
    await sync_to_async(client.force_login)(agent)
    await sync_to_async(set_availability)(client, "busy")
    frame = await sam.wait_for(f'data-status-of="{agent.pk}"')
    assert 'class="avail avail-busy"' in frame
    # Maya's own other tab gets her header menu too; Sam's does not.
    mine = await maya.wait_for('id="availability-menu"')
    assert '<option value="busy" selected>' in mine
    await sam.drain()
    assert not any('id="availability-menu"' in f for f in sam.frames[before:])
    await maya.close()
    await sam.close()


@live
async def test_viewing_now_shows_each_viewers_availability(agent, other_agent, connected_bot):
    await sync_to_async(AgentProfile.objects.create)(agent=other_agent, availability="busy")
    ticket, _ = await sync_to_async(services.start_hitl)(bot=connected_bot, conversation_id="c")
    maya = await opened(f"/ws/desk/?ticket={ticket.pk}", agent)
    sam = await opened(f"/ws/desk/?ticket={ticket.pk}", other_agent)
    frame = await maya.wait_for(f'id="viewer-{other_agent.pk}"')
    assert "avail-busy" in frame
    await sam.close()
    await maya.close()


# --- the side bar and the assign menu ---------------------------------------------------


def test_the_inbox_side_bar_shows_each_agents_availability(agent_client, agent, other_agent):
    AgentProfile.objects.create(agent=other_agent, availability="offline")
    html = agent_client.get("/").content.decode()
    assert f'class="avail avail-offline" data-status-of="{other_agent.pk}"' in html
    assert f'class="avail avail-away" data-status-of="{agent.pk}"' in html  # no tab open


def test_the_assign_menu_shows_availability_and_load(
    agent_client, agent, other_agent, connected_bot
):
    first, _ = services.start_hitl(bot=connected_bot, conversation_id="a")
    second, _ = services.start_hitl(bot=connected_bot, conversation_id="b")
    services.ticket_claim(ticket_id=first.pk, agent=other_agent)
    AgentProfile.objects.update_or_create(
        agent=other_agent, defaults={"availability": "busy", "capacity": 3}
    )
    html = agent_client.get(f"/tickets/{second.pk}/").content.decode()
    assert f'data-agent-option="{other_agent.pk}">Sam Okafor (busy, 1/3)</option>' in html
    assert f'data-agent-option="{agent.pk}">Maya Lopez (away, 0/5)</option>' in html


# --- the Team page -----------------------------------------------------------------------


async def status_on_team_page(agent) -> str:
    from django.contrib.auth import get_user_model

    admin = await get_user_model().objects.filter(is_staff=True).afirst()
    if admin is None:
        admin = await sync_to_async(get_user_model().objects.create_user)(
            "boss", password=None, is_staff=True
        )
    client = Client()
    await sync_to_async(client.force_login)(admin)
    html = (await sync_to_async(client.get)("/settings/team/")).content.decode()
    row = team_row(html, agent)
    return row.split('class="avail avail-', 1)[1].split('"', 1)[0]


def test_admins_see_every_agents_availability_and_load(
    admin_client, agent, other_agent, connected_bot
):
    for n in range(2):
        ticket, _ = services.start_hitl(bot=connected_bot, conversation_id=f"c{n}")
        services.ticket_claim(ticket_id=ticket.pk, agent=agent)
    AgentProfile.objects.create(agent=other_agent, availability="busy")
    html = admin_client.get("/settings/team/").content.decode()
    maya, sam = team_row(html, agent), team_row(html, other_agent)
    assert "Maya Lopez" in maya and "2 / 5" in maya and "avail-away" in maya
    assert "Sam Okafor" in sam and "0 / 5" in sam and "avail-busy" in sam


def test_the_team_page_is_for_admins_only(client, agent_client, db):
    assert agent_client.get("/settings/team/").status_code == 403
    assert client.get("/settings/team/").status_code == 302


def test_an_admin_sets_an_agents_capacity(admin_client, agent):
    response = admin_client.post(
        f"/settings/team/{agent.pk}/capacity/", {"capacity": "2"}, headers={"HX-Request": "true"}
    )
    assert response.status_code == 200
    assert "0 / 2" in response.content.decode()
    assert AgentProfile.objects.get(agent=agent).capacity == 2
    html = admin_client.get("/settings/team/").content.decode()
    assert 'value="2"' in team_row(html, agent)


@pytest.mark.parametrize("value", ["-1", "101", "lots", ""])
def test_a_bad_capacity_is_refused_and_changes_nothing(admin_client, agent, value):
    response = admin_client.post(
        f"/settings/team/{agent.pk}/capacity/", {"capacity": value},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 422
    assert "The capacity is a whole number from 0 to 100." in response.content.decode()
    assert AgentProfile.objects.filter(agent=agent, capacity=5).count() in (0, 1)
    assert not AgentProfile.objects.exclude(capacity=5).exists()


def test_only_admins_set_capacities(agent_client, agent, other_agent, client):
    response = agent_client.post(f"/settings/team/{other_agent.pk}/capacity/", {"capacity": "9"})
    assert response.status_code == 403
    assert client.post(f"/settings/team/{agent.pk}/capacity/", {"capacity": "9"}).status_code == 302
    assert not AgentProfile.objects.filter(capacity=9).exists()


def test_an_unknown_agent_is_404(admin_client, db):
    assert admin_client.post("/settings/team/999/capacity/", {"capacity": "2"}).status_code == 404


@live
async def test_the_team_page_updates_live(admin_user, agent):
    team = await opened("/ws/desk/?team=1", admin_user)
    await team.drain()
    maya = await opened("/ws/desk/?inbox=1", agent)
    frame = await team.wait_for(f'id="agent-{agent.pk}"')
    assert "avail-online" in frame and "0 / 5" in frame
    await maya.close()
    await team.close()


@live
async def test_only_admins_open_the_team_socket(agent):
    from test_live_inbox import Tab

    tab = Tab("/ws/desk/?team=1", agent)
    assert not await tab.open()
    await tab.close()
