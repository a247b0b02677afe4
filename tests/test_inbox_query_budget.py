"""The inbox page reads the database a fixed, small number of times: at most
`INBOX_QUERY_BUDGET` queries for any list a filter shows, the same with 6 tickets as with
60 (nothing per row, nothing per count). Marked `postgres`: make test also runs it there,
where the grouped counts and the rows' subqueries are planned differently.

Adding something to the inbox (a facet, a badge on the rows)? Read it with the page's
rows (an annotation or a prefetch joined to the one message read) or fold it into the
two grouped count queries of `selectors.inbox_counts`; a query of its own per feature
soon breaks the budget."""

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from bots.services import bot_deploy, bot_set_connected
from desk import services
from desk.assignment import assign

pytestmark = pytest.mark.postgres

INBOX_QUERY_BUDGET = 10
# A search first asks the search index how many tickets match (desk.search_index picks
# its plan from that): one query more than any other list.
SEARCH_QUERY_BUDGET = INBOX_QUERY_BUDGET + 1

LISTS = [
    "/",
    "/?status=pending",
    "/?status=mine",
    "/?status=closed",
    "/?priority=high",
    "/?bot=second-bot",
    "/?status=open&assignee={agent}",
    "/?status=open&priority=urgent&bot=second-bot",
    "/?q=refund",
    "/?q=refund+order",
    "/?page=2",
]


def make_tickets(bots, agent, other, count: int, start: int = 0) -> None:
    """`count` tickets over two bots: pending, assigned to each agent and closed, each
    with a history, customer lines, and (for some) a reply."""
    for n in range(start, start + count):
        bot = bots[n % 2]
        ticket, _ = services.start_hitl(
            bot=bot,
            conversation_id=f"conv-{n}",
            title=f"Refund for order {n}",
            priority=["low", "medium", "high", "urgent"][n % 4],
            user_name=f"Customer {n}",
            user_email=f"c{n}@example.com",
        )
        services.post_user_message(bot=bot, conversation_id=f"conv-{n}", text="Hello?")
        if n % 3 == 0:
            continue  # pending
        assignee = agent if n % 3 == 1 else other
        assign(ticket, assignee=assignee, by=assignee)
        services.ticket_reply(ticket_id=ticket.pk, agent=assignee, text="On it.")
        services.post_user_message(bot=bot, conversation_id=f"conv-{n}", text="Thanks, and?")
        if n % 5 == 0:
            services.ticket_close(ticket_id=ticket.pk, agent=assignee)


def queries(client: Client, path: str) -> tuple[int, str]:
    client.get(path)  # warm: sessions, caches, the first-use profile
    with CaptureQueriesContext(connection) as captured:
        response = client.get(path)
    assert response.status_code == 200
    sql = "\n".join(q["sql"][:150] for q in captured.captured_queries)
    return len(captured.captured_queries), sql


def test_every_inbox_list_reads_a_fixed_small_number_of_queries(
    api_key_pair, connected_bot, agent, other_agent
):
    bot_deploy(bot_id="second-bot", api_key=api_key_pair[0], name="Second bot")
    bots = [connected_bot, bot_set_connected(bot_id="second-bot", connected=True)]
    client = Client()
    client.force_login(agent)
    paths = [p.format(agent=agent.pk) for p in LISTS]

    make_tickets(bots, agent, other_agent, 6)
    small = {path: queries(client, path) for path in paths}
    make_tickets(bots, agent, other_agent, 54, start=6)
    large = {path: queries(client, path) for path in paths}

    for path in paths:
        n, sql = large[path]
        budget = SEARCH_QUERY_BUDGET if "q=" in path else INBOX_QUERY_BUDGET
        assert n <= budget, f"{path}: {n} queries\n{sql}"
        assert n == small[path][0], f"{path}: {small[path][0]} queries at 6 tickets, {n} at 60"


def test_the_rows_and_counts_read_in_few_queries_are_those_of_the_page(
    connected_bot, agent, other_agent
):
    """What the fewer queries show is still right: previews, unread badges, the counts,
    the page count and the tab title's number."""
    make_tickets([connected_bot, connected_bot], agent, other_agent, 12)
    client = Client()
    client.force_login(agent)
    context = client.get("/").context
    rows = {t.title: t for t in context["tickets"]}
    # conv-0: pending, the customer wrote once after the escalation.
    pending = rows["Refund for order 0"]
    assert (pending.preview.text, pending.unread) == ("Hello?", 1)
    assert pending.waiting_since == pending.created_at
    # conv-1: assigned to the agent, replied, then the customer wrote again.
    mine = rows["Refund for order 1"]
    assert (mine.preview.text, mine.unread) == ("Thanks, and?", 1)
    assert mine.waiting_since is not None and mine.waiting_since > mine.created_at
    counts = context["counts"]
    assert counts["status"] == {"pending": 4, "waiting": 0, "open": 10, "closed": 2, "mine": 3}
    assert sum(counts["priority"].values()) == 10
    assert counts["bot"] == {connected_bot.bot_id: 10}
    assert counts["assignee"] == {agent.pk: 3, other_agent.pk: 3}
    assert context["page"].paginator.count == 10
    # The tab title: the queue (they are online) and their 3 tickets awaiting a reply.
    assert context["waiting_for_me"] == 4 + 3
    assert "<title>(7) " in client.get("/").content.decode()


def test_the_page_count_for_a_narrowed_list_is_counted(connected_bot, agent, other_agent):
    make_tickets([connected_bot, connected_bot], agent, other_agent, 12)
    client = Client()
    client.force_login(agent)
    page = client.get(f"/?status=open&priority=high&assignee={agent.pk}").context["page"]
    assert page.paginator.count == len(page.object_list)
    user = get_user_model().objects.get(pk=agent.pk)
    assert all(t.assignee_id == user.pk and t.priority == "high" for t in page.object_list)
