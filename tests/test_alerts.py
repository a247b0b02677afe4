"""Alerts: no handoff goes unnoticed.

Who is alerted of what is decided by the server and sent to the agent's open tabs as
`#desk-alert` fragments (the page raises the notification and the sound: see
tests/browser/test_browser_shift.py); every tab's title counts what waits for its agent
(`#waiting-for-me`); pending rows age amber then red (the page's settings here, the
colours in the browser test).
"""

import re
from html import unescape

import pytest
from asgiref.sync import sync_to_async
from django.contrib.auth.models import Permission
from test_live_inbox import opened
from test_routing import on_shift, set_mode

from desk import assignment, services
from desk.models import AgentProfile, Ticket

pytestmark = pytest.mark.django_db(transaction=True)

start_hitl = sync_to_async(services.start_hitl)
post_user_message = sync_to_async(services.post_user_message)


def alerts_in(frames: list[str]) -> list[dict]:
    """Every alert among the frames, as {key, title, body, url}."""
    found = []
    for frame in frames:
        for attrs in re.findall(r'<div id="desk-alert"([^>]*)>', frame):
            found.append({k: unescape(v) for k, v in re.findall(r'data-(\w+)="([^"]*)"', attrs)})
    return found


def waiting_counts(frames: list[str]) -> list[int]:
    pattern = r'id="waiting-for-me" data-count="(\d+)"'
    return [int(n) for frame in frames for n in re.findall(pattern, frame)]


async def test_a_new_escalation_alerts_every_agent_who_takes_new_tickets(
    connected_bot, agent, other_agent
):
    await sync_to_async(assignment.agent_set_availability)(agent=other_agent, availability="busy")
    maya = await opened("/ws/desk/?inbox=1", agent)
    sam = await opened("/ws/desk/?inbox=1", other_agent)
    await maya.drain()
    await sam.drain()
    ticket, _ = await start_hitl(
        bot=connected_bot, conversation_id="c1", title="Card declined", user_name="Ada"
    )
    [alert] = alerts_in(await maya.drain())
    assert alert["key"] == f"ticket-{ticket.pk}-new"
    assert alert["title"] == f"New escalation #{ticket.number}: Card declined"
    assert alert["body"] == f"Ada via {connected_bot.name}"
    assert alert["url"] == f"/tickets/{ticket.pk}/"
    assert alerts_in(await sam.drain()) == []  # busy: keeps their tickets, gets no new ones
    await maya.close()
    await sam.close()


async def test_every_kind_of_tab_hears_alerts(connected_bot, agent):
    first, _ = await start_hitl(bot=connected_bot, conversation_id="c0")
    tabs = [
        await opened(f"/ws/desk/?ticket={first.pk}", agent),
        await opened("/ws/desk/?approvals=1", agent),
    ]
    for tab in tabs:
        await tab.drain()
    second, _ = await start_hitl(bot=connected_bot, conversation_id="c1", title="Anyone there?")
    for tab in tabs:
        assert [a["title"] for a in alerts_in(await tab.drain())] == [
            f"New escalation #{second.number}: Anyone there?"
        ]
        await tab.close()


async def test_a_ticket_routing_gives_an_agent_alerts_them_and_nobody_else(
    connected_bot, agent, other_agent
):
    await sync_to_async(set_mode)("least_busy")
    await sync_to_async(on_shift)(agent)
    await sync_to_async(assignment.agent_set_availability)(
        agent=other_agent, availability="offline"
    )
    maya = await opened("/ws/desk/?inbox=1", agent)
    sam = await opened("/ws/desk/?inbox=1", other_agent)
    await maya.drain()
    await sam.drain()
    ticket, _ = await start_hitl(bot=connected_bot, conversation_id="c1", title="Refund")
    [alert] = alerts_in(await maya.drain())
    assert alert["title"] == f"#{ticket.number} is yours: Refund"
    assert alert["body"].startswith("Routing gave you")
    assert alerts_in(await sam.drain()) == []
    await maya.close()
    await sam.close()


async def test_an_admin_assigning_alerts_the_assignee_but_a_claim_alerts_nobody(
    connected_bot, agent, admin_user
):
    ticket, _ = await start_hitl(bot=connected_bot, conversation_id="c1", title="Refund")
    maya = await opened("/ws/desk/?inbox=1", agent)
    await maya.drain()
    await sync_to_async(services.ticket_claim)(ticket_id=ticket.pk, agent=agent)
    assert alerts_in(await maya.drain()) == []
    await sync_to_async(services.ticket_assign)(
        ticket_id=ticket.pk, agent=admin_user, assignee=admin_user
    )
    await sync_to_async(services.ticket_assign)(
        ticket_id=ticket.pk, agent=admin_user, assignee=agent
    )
    [alert] = alerts_in(await maya.drain())
    assert alert["body"] == "Alex Admin gave you a customer's conversation."
    await maya.close()


async def test_a_customer_writing_alerts_the_assignee_and_counts_in_their_title(
    connected_bot, agent, other_agent
):
    ticket, _ = await start_hitl(bot=connected_bot, conversation_id="c1", user_name="Ada")
    await sync_to_async(services.ticket_claim)(ticket_id=ticket.pk, agent=agent)
    maya = await opened(f"/ws/desk/?ticket={ticket.pk}", agent)
    sam = await opened("/ws/desk/?inbox=1", other_agent)
    await maya.drain()
    await sam.drain()
    await post_user_message(bot=connected_bot, conversation_id="c1", text="Is it done yet?")
    frames = await maya.drain()
    [alert] = alerts_in(frames)
    assert alert["title"] == f"Ada (#{ticket.number})"
    assert alert["body"] == "Is it done yet?"
    assert waiting_counts(frames) == [1]  # nothing in the queue, one customer waits on me
    assert alerts_in(await sam.drain()) == []
    # Answering takes it off the count.
    await sync_to_async(services.ticket_reply)(ticket_id=ticket.pk, agent=agent, text="Yes")
    await maya.wait_for('id="waiting-for-me" data-count="0"')
    await maya.close()
    await sam.close()


async def test_the_title_counts_the_queue_only_for_agents_who_take_new_tickets(
    connected_bot, agent, other_agent
):
    await sync_to_async(assignment.agent_set_availability)(agent=other_agent, availability="busy")
    maya = await opened("/ws/desk/?inbox=1", agent)
    sam = await opened("/ws/desk/?inbox=1", other_agent)
    await maya.drain()
    await sam.drain()
    await start_hitl(bot=connected_bot, conversation_id="c1")
    await start_hitl(bot=connected_bot, conversation_id="c2")
    await maya.wait_for('id="waiting-for-me" data-count="2"')
    assert 2 not in waiting_counts(await sam.drain())
    # Sam comes back online: the queue now waits for Sam too.
    await sync_to_async(assignment.agent_set_availability)(
        agent=other_agent, availability="online"
    )
    await sam.wait_for('id="waiting-for-me" data-count="2"')
    await maya.close()
    await sam.close()


async def test_a_tab_showing_an_old_count_is_corrected_on_connect(connected_bot, agent):
    await start_hitl(bot=connected_bot, conversation_id="c1")
    tab = await opened("/ws/desk/?inbox=1&w=0", agent)
    assert waiting_counts(await tab.drain()) == [1]
    await tab.close()
    tab = await opened("/ws/desk/?inbox=1&w=1", agent)
    assert waiting_counts(await tab.drain()) == []  # it shows the right one
    await tab.close()


async def test_a_new_approval_alerts_only_agents_who_may_decide_it(
    bot_api, connected_bot, agent, other_agent
):
    permission = await sync_to_async(Permission.objects.get)(codename="decide_approval")
    await sync_to_async(other_agent.user_permissions.add)(permission)
    maya = await opened("/ws/desk/?inbox=1", agent)
    sam = await opened("/ws/desk/?approvals=1", other_agent)
    await maya.drain()
    await sam.drain()
    response = await sync_to_async(bot_api.post)(
        f"/api/v1/bots/{connected_bot.bot_id}/approvals",
        {"requestId": "r1", "action": "refund", "title": "Refund $25", "arguments": {"a": 1}},
    )
    assert response.status_code == 201, response.content
    [alert] = alerts_in(await sam.drain())
    assert alert["title"] == "Approval requested: Refund $25"
    assert alert["url"].startswith("/approvals/")
    assert alerts_in(await maya.drain()) == []
    await maya.close()
    await sam.close()


# --- the page --------------------------------------------------------------------------------


def test_the_page_title_counts_what_waits_and_carries_the_aging_settings(
    connected_bot, agent_client, settings
):
    settings.DESK_AGING_WARN_SECONDS = 60
    settings.DESK_AGING_ALERT_SECONDS = 120
    services.start_hitl(bot=connected_bot, conversation_id="c1")
    services.start_hitl(bot=connected_bot, conversation_id="c2")
    page = agent_client.get("/").content.decode()
    assert re.search(r"<title>\(2\) [^<]*Desk</title>", page)
    assert 'id="waiting-for-me" data-count="2"' in page
    assert 'data-aging-warn="60" data-aging-alert="120"' in page
    assert "alerts.js" in page


def test_no_count_in_the_title_when_nothing_waits(agent_client):
    page = agent_client.get("/").content.decode()
    assert re.search(r"<title>Inbox · Desk</title>|<title>[^(<][^<]*</title>", page)
    assert 'data-count="0"' in page


def test_agents_turn_notifications_and_sound_on_and_off(agent, agent_client):
    page = agent_client.get("/").content.decode()
    assert 'name="notify_desktop" checked' in page and 'name="notify_sound" checked' in page
    # Permission is asked from this button only, never on page load.
    assert "data-enable-notifications" in page
    response = agent_client.post("/me/alerts/", {"notify_desktop": "on"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'name="notify_desktop" checked' in html and 'name="notify_sound">' in html
    profile = AgentProfile.objects.get(agent=agent)
    assert (profile.notify_desktop, profile.notify_sound) == (True, False)
    # Without JavaScript: a plain form post, back to the page.
    response = agent_client.post("/me/alerts/", {"next": "/?status=mine"})
    assert response.status_code == 302 and response["Location"] == "/?status=mine"
    profile.refresh_from_db()
    assert (profile.notify_desktop, profile.notify_sound) == (False, False)
    assert 'name="notify_sound">' in agent_client.get("/").content.decode()


def test_alert_preferences_need_a_login_and_a_post(client, agent_client):
    assert client.post("/me/alerts/").status_code == 302  # to the login page
    assert agent_client.get("/me/alerts/").status_code == 405


def test_pending_rows_carry_when_they_started_waiting(connected_bot, agent_client):
    ticket, _ = services.start_hitl(bot=connected_bot, conversation_id="c1")
    page = agent_client.get("/").content.decode()
    row = re.search(rf'<div id="ticket-{ticket.pk}" role="row".*?class="cell-actions"', page, re.S)
    row = row.group(0)
    assert "row-pending" in row
    created = Ticket.objects.get(pk=ticket.pk).created_at
    assert re.search(r'<time class="waiting[^"]*" datetime="([^"]+)"[^>]*data-waiting', row)
    assert created.isoformat()[:19] in row
