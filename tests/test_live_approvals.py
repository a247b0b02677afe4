"""The Approvals view is live over the desk websocket (/ws/desk/?approvals=1): new
requests appear, decided ones leave, in every tab; every desk tab keeps the count in
the top bar; an approval's page shows a decision made elsewhere."""

import re
from datetime import timedelta

import pytest
from asgiref.sync import sync_to_async
from django.utils import timezone
from test_live_inbox import opened

from approvals import services
from approvals.models import Approval

pytestmark = pytest.mark.django_db(transaction=True)

ask_sync = services.approval_request
decide = sync_to_async(services.approval_decide)


@sync_to_async
def ask(bot, request_id="r1", **fields) -> Approval:
    fields = {"action": "refund", "title": f"Refund for {request_id}",
              "arguments": {"amount": 40}, **fields}
    return ask_sync(bot=bot, request_id=request_id, **fields)[0]


def rows(frame: str) -> list[str]:
    return re.findall(r'<div id="approval-(\d+)" role="row"', frame)


async def test_a_new_request_appears_in_every_approvals_tab(agent, other_agent, connected_bot):
    tabs = [await opened("/ws/desk/?approvals=1", agent),
            await opened("/ws/desk/?approvals=1", other_agent)]
    for tab in tabs:
        await tab.drain()
    approval = await ask(connected_bot, title="Refund $40 on #991", priority="urgent")
    for tab in tabs:
        frame = await tab.wait_for(f'id="approval-{approval.pk}"')
        assert "Refund $40 on #991" in frame
        assert 'hx-swap-oob="beforeend:#approval-rows"' in frame
        assert f'data-sort="{approval.sort_key}"' in frame
        assert 'id="approvals-count" data-count="1"' in frame
        assert "expires in 59 min" in frame
        await tab.close()


async def test_a_decided_request_leaves_every_tab(agent, other_agent, admin_user, connected_bot):
    approval = await ask(connected_bot)
    tabs = [await opened("/ws/desk/?approvals=1", agent),
            await opened("/ws/desk/?approvals=1", other_agent)]
    for tab in tabs:
        await tab.drain()
    await decide(approval_id=approval.pk, agent=admin_user, approve=True)
    for tab in tabs:
        frame = await tab.wait_for(f'<div id="approval-{approval.pk}" class="gone">')
        assert 'data-count="0"' in frame
        await tab.close()


async def test_an_inbox_tab_hears_the_count_only(agent, connected_bot):
    tab = await opened("/ws/desk/?inbox=1", agent)
    await tab.drain()
    await ask(connected_bot)
    frame = await tab.wait_for('id="approvals-count"')
    assert 'hx-swap-oob="true">1</span>' in frame
    assert "approval-rows" not in frame
    await tab.close()


async def test_a_ticket_tab_hears_the_count_too(agent, connected_bot):
    from desk.services import start_hitl

    ticket, _ = await sync_to_async(start_hitl)(bot=connected_bot, conversation_id="c1")
    tab = await opened(f"/ws/desk/?ticket={ticket.pk}", agent)
    await tab.drain()
    await ask(connected_bot)
    frame = await tab.wait_for('id="approvals-count"')
    assert "approval-rows" not in frame
    await tab.close()


async def test_a_reconnecting_tab_gets_the_whole_list(agent, connected_bot):
    low = await ask(connected_bot, "low", priority="low")
    urgent = await ask(connected_bot, "urgent", priority="urgent")
    tab = await opened("/ws/desk/?approvals=1", agent)
    frame = await tab.wait_for('id="approval-list"')
    assert 'id="approval-list" class="ticket-list approval-list"' in frame
    assert 'hx-swap-oob="true"' in frame
    assert rows(frame) == [str(urgent.pk), str(low.pk)]
    assert 'data-count="2"' in frame
    await tab.close()


async def test_a_tab_showing_a_stale_count_is_corrected_on_connect(agent, connected_bot):
    await ask(connected_bot)
    stale = await opened("/ws/desk/?inbox=1&ac=0", agent)
    assert 'data-count="1"' in await stale.wait_for('id="approvals-count"')
    await stale.close()
    current = await opened("/ws/desk/?inbox=1&ac=1", agent)
    assert not [f for f in await current.drain() if "approvals-count" in f]
    await current.close()


async def test_an_approval_page_shows_a_decision_made_elsewhere(
    agent, admin_user, connected_bot
):
    approval = await ask(connected_bot)
    other = await ask(connected_bot, "other")
    page = await opened(f"/ws/desk/?approvals=1&approval={approval.pk}", agent)
    elsewhere = await opened(f"/ws/desk/?approvals=1&approval={other.pk}", agent)
    for tab in (page, elsewhere):
        await tab.drain()
    await decide(approval_id=approval.pk, agent=admin_user, approve=False,
                 reason="Out of policy")
    frame = await page.wait_for('id="decision"')
    assert "Alex Admin rejected this." in frame
    assert "Out of policy" in frame
    assert "approval-rows" not in frame  # no list on this page
    later = await elsewhere.drain()
    assert not [f for f in later if 'id="decision"' in f]
    assert [f for f in later if 'data-count="1"' in f]
    for tab in (page, elsewhere):
        await tab.close()


async def test_an_approval_page_opened_after_the_decision_is_brought_up_to_date(
    agent, admin_user, connected_bot
):
    approval = await ask(connected_bot)
    await decide(approval_id=approval.pk, agent=admin_user, approve=True)
    page = await opened(f"/ws/desk/?approvals=1&approval={approval.pk}", agent)
    assert "Alex Admin approved this." in await page.wait_for('id="decision"')
    await page.close()


async def test_an_expiry_by_the_worker_leaves_the_list(agent, connected_bot):
    approval = await ask(connected_bot)
    tab = await opened("/ws/desk/?approvals=1", agent)
    await tab.drain()

    def expire_on_another_thread():
        Approval.objects.filter(pk=approval.pk).update(
            expires_at=timezone.now() - timedelta(seconds=1)
        )
        return services.approval_expire(approval_id=approval.pk)

    assert await sync_to_async(expire_on_another_thread, thread_sensitive=False)()
    await tab.wait_for(f'<div id="approval-{approval.pk}" class="gone">')
    await tab.close()
