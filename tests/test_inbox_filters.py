"""Inbox filters no one could mean (an id no database column holds, a NUL character, a page
past the end) are ignored, on the page and on its socket alike: never a 500, never a
socket closed with 1011. Marked `postgres`: make test also runs these on PostgreSQL,
which refuses a NUL character in a query where SQLite does not."""

import pytest
from django.test import Client

from desk import services
from tests.test_live_inbox import Tab, opened, ticket_for

pytestmark = pytest.mark.postgres

HUGE = "99999999999999999999"  # past the largest id a database column holds
FILTERS = [
    f"assignee={HUGE}",
    f"assignee=-{HUGE}",
    f"page={HUGE}",
    "page=" + "9" * 5000,
    "q=refund%00please",
    "bot=support-bot%00",
    "status=open%00&priority=high%00",
    "q=" + "+".join("abcdefghij" * 10),  # 100 one-letter words, the longest search kept
]


@pytest.fixture
def tickets(connected_bot):
    return [
        services.start_hitl(bot=connected_bot, conversation_id=f"conv-{n}", title="Refund")[0]
        for n in range(3)
    ]


@pytest.mark.parametrize("query", FILTERS)
def test_the_inbox_page_ignores_a_filter_no_one_could_mean(agent, tickets, query):
    client = Client(raise_request_exception=False)
    client.force_login(agent)
    response = client.get(f"/?{query}")
    assert response.status_code == 200
    assert 'id="ticket-list"' in response.content.decode()


def test_an_assignee_no_column_holds_shows_the_unfiltered_list(agent_client, tickets):
    shown = agent_client.get(f"/?assignee={HUGE}").context["tickets"]
    assert {t.pk for t in shown} == {t.pk for t in tickets}


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("query", FILTERS)
async def test_the_inbox_socket_ignores_a_filter_no_one_could_mean(agent, connected_bot, query):
    await ticket_for(connected_bot, "conv-1", title="Refund")
    # t=0&m=0: a tab that reconnects having missed changes is sent its filtered list at once.
    tab = await opened(f"/ws/desk/?inbox=1&t=0&m=0&{query}", agent)
    await tab.wait_for('id="ticket-list"')
    # And it stays open for what happens next.
    await ticket_for(connected_bot, "conv-2", title="Refund again")
    await tab.wait_for('id="ticket-')
    await tab.close()


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    "query", [f"t={HUGE}&m={HUGE}", f"t=-{HUGE}&m=x", f"after={HUGE}", f"after=-{HUGE}"]
)
async def test_version_and_replay_numbers_no_column_holds_do_not_break_a_socket(
    agent, connected_bot, query
):
    ticket = await ticket_for(connected_bot, "conv-1", title="Refund")
    if query.startswith("t="):
        tab = await opened(f"/ws/desk/?inbox=1&{query}", agent)
        later = await ticket_for(connected_bot, "conv-2", title="Refund again")
        await tab.wait_for(f'id="ticket-{later.pk}"')
    else:
        tab = await opened(f"/ws/desk/?ticket={ticket.pk}&{query}", agent)
        await tab.send(action="note", ticket=ticket.pk, text="still listening")
        await tab.wait_for("1 note")  # the side bar counts it: the socket still works
    await tab.close()


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("ticket_id", [HUGE, f"-{HUGE}", "1%00", "x"])
async def test_a_ticket_socket_for_an_id_no_column_holds_is_refused(agent, ticket_id):
    tab = Tab(f"/ws/desk/?ticket={ticket_id}", agent)
    assert not await tab.open()
    await tab.close()
