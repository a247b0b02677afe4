"""The inbox: every open ticket for a logged-in agent, in the order agents work them."""

from datetime import timedelta

import pytest
from django.utils import timezone

from bots.models import Bot
from bots.services import bot_deploy, bot_set_connected
from desk import services
from desk.models import Ticket


def make(bot, conversation_id, priority="medium", minutes_ago=0):
    ticket, _ = services.start_hitl(
        bot=bot,
        conversation_id=conversation_id,
        priority=priority,
        title=f"about {conversation_id}",
    )
    Ticket.objects.filter(pk=ticket.pk).update(
        created_at=timezone.now() - timedelta(minutes=minutes_ago)
    )
    return ticket


def test_it_needs_login(client, db):
    response = client.get("/")
    assert response.status_code == 302
    assert response.url.startswith("/login/")


def test_the_login_page_is_desks_own(client, agent):
    page = client.get("/login/").content.decode()
    assert "Desk" in page and 'name="password"' in page
    response = client.post("/login/", {"username": "maya", "password": "pw-maya-123"})
    assert response.status_code == 302 and response.url == "/"
    assert client.get("/").status_code == 200


def test_a_wrong_password_is_refused(client, agent):
    response = client.post("/login/", {"username": "maya", "password": "nope"})
    assert response.status_code == 200
    assert "didn't match" in response.content.decode()


def test_open_tickets_are_ordered_pending_first_then_priority_then_age(
    agent_client, connected_bot, agent
):
    old_low = make(connected_bot, "old-low", "low", minutes_ago=30)
    new_urgent = make(connected_bot, "new-urgent", "urgent", minutes_ago=1)
    old_urgent = make(connected_bot, "old-urgent", "urgent", minutes_ago=20)
    claimed = make(connected_bot, "claimed", "urgent", minutes_ago=40)
    closed = make(connected_bot, "closed", "urgent", minutes_ago=50)
    services.ticket_claim(ticket_id=claimed.pk, agent=agent)
    services.ticket_close(ticket_id=closed.pk, agent=agent)
    response = agent_client.get("/")
    order = [t.conversation_id for t in response.context["tickets"]]
    assert order == ["old-urgent", "new-urgent", "old-low", "claimed"]
    closed_view = agent_client.get("/?status=closed")
    assert [t.conversation_id for t in closed_view.context["tickets"]] == ["closed"]
    html = response.content.decode()
    assert html.index("about old-urgent") < html.index("about old-low")
    assert f"#{old_low.number}" in html and f"#{new_urgent.number}" in html and old_urgent


def test_rows_show_what_an_agent_needs(agent_client, connected_bot):
    services.start_hitl(
        bot=connected_bot,
        conversation_id="c",
        title="Refund",
        priority="high",
        user_name="Jordan Lee",
        user_email="jordan@example.com",
    )
    html = agent_client.get("/").content.decode()
    for text in ("Refund", "high", "pending", "Jordan Lee", "jordan@example.com", "Support Bot"):
        assert text in html


def test_it_is_paginated(agent_client, connected_bot):
    for i in range(30):
        services.start_hitl(bot=connected_bot, conversation_id=f"c{i}")
    first = agent_client.get("/")
    assert len(first.context["tickets"]) == 25
    second = agent_client.get("/?page=2")
    assert len(second.context["tickets"]) == 5
    assert agent_client.get("/?page=99").status_code == 200


def test_titles_are_escaped(agent_client, connected_bot):
    services.start_hitl(bot=connected_bot, conversation_id="x", title="<script>alert(1)</script>")
    html = agent_client.get("/").content.decode()
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


# --- filters, search and counts ----------------------------------------------------------


def numbers(response) -> set[int]:
    return {t.pk for t in response.context["tickets"]}


@pytest.fixture
def mix(connected_bot, agent, other_agent):
    """A pending urgent, a pending low, one of Maya's, one of Sam's, a closed one, and one
    from a second bot."""
    other_bot, _ = bot_deploy(bot_id="sales-bot", api_key=None, name="Sales Bot")
    bot_set_connected(bot_id="sales-bot", connected=True)
    tickets = {
        "urgent": make(connected_bot, "urgent", "urgent"),
        "low": make(connected_bot, "low", "low"),
        "maya": make(connected_bot, "maya", "high"),
        "sam": make(connected_bot, "sam", "medium"),
        "closed": make(connected_bot, "closed", "medium"),
        "sales": make(Bot.objects.get(bot_id="sales-bot"), "sales", "medium"),
    }
    services.ticket_claim(ticket_id=tickets["maya"].pk, agent=agent)
    services.ticket_claim(ticket_id=tickets["sam"].pk, agent=other_agent)
    services.ticket_close(ticket_id=tickets["closed"].pk, agent=agent)
    return {name: t.pk for name, t in tickets.items()}


def test_all_open_is_the_default_view(agent_client, mix):
    assert numbers(agent_client.get("/")) == {
        mix[n] for n in ("urgent", "low", "maya", "sam", "sales")
    }


def test_the_pending_filter_shows_unclaimed_tickets(agent_client, mix):
    assert numbers(agent_client.get("/?status=pending")) == {
        mix["urgent"],
        mix["low"],
        mix["sales"],
    }


def test_the_mine_filter_shows_the_agents_own_tickets(agent_client, mix):
    assert numbers(agent_client.get("/?status=mine")) == {mix["maya"]}


def test_the_closed_filter_shows_closed_tickets(agent_client, mix):
    assert numbers(agent_client.get("/?status=closed")) == {mix["closed"]}


def test_the_priority_filter(agent_client, mix):
    assert numbers(agent_client.get("/?priority=urgent")) == {mix["urgent"]}
    assert numbers(agent_client.get("/?priority=medium")) == {mix["sam"], mix["sales"]}


def test_the_bot_filter(agent_client, mix):
    assert numbers(agent_client.get("/?bot=sales-bot")) == {mix["sales"]}


def test_the_assignee_filter(agent_client, mix, other_agent):
    assert numbers(agent_client.get(f"/?assignee={other_agent.pk}")) == {mix["sam"]}


def test_filters_combine_and_stay_in_the_links(agent_client, mix):
    response = agent_client.get("/?status=pending&priority=low")
    assert numbers(response) == {mix["low"]}
    html = response.content.decode()
    # The bot links keep the status and priority already chosen.
    assert "?status=pending&amp;priority=low&amp;bot=sales-bot" in html


def test_unknown_filter_values_fall_back_to_the_default(agent_client, mix):
    response = agent_client.get("/?status=nonsense&priority=extreme&assignee=x&page=zz")
    assert response.status_code == 200
    assert numbers(response) == numbers(agent_client.get("/"))


def test_the_side_bar_counts_each_filter(agent_client, mix, agent):
    html = agent_client.get("/").content.decode()
    assert 'id="count-status-pending">3<' in html
    assert 'id="count-status-mine">1<' in html
    assert 'id="count-status-open">5<' in html
    assert 'id="count-status-closed">1<' in html
    assert 'id="count-priority-medium">2<' in html  # open ones only
    assert 'id="count-bot-sales-bot">1<' in html
    assert f'id="count-assignee-{agent.pk}">1<' in html


def test_search_looks_in_titles_names_emails_and_messages(agent_client, connected_bot):
    by_title = services.start_hitl(
        bot=connected_bot, conversation_id="a", title="Refund for order"
    )[0]
    by_name = services.start_hitl(
        bot=connected_bot, conversation_id="b", user_name="Jordan Refundson"
    )[0]
    by_email = services.start_hitl(
        bot=connected_bot, conversation_id="c", user_email="refund@example.com"
    )[0]
    by_message = services.start_hitl(bot=connected_bot, conversation_id="d")[0]
    services.post_user_message(bot=connected_bot, conversation_id="d", text="I want a REFUND")
    services.start_hitl(bot=connected_bot, conversation_id="e", title="Login trouble")
    response = agent_client.get("/?q=refund")
    assert numbers(response) == {by_title.pk, by_name.pk, by_email.pk, by_message.pk}
    assert "“refund”" in response.content.decode()


def test_search_needs_every_word(agent_client, connected_bot):
    both = services.start_hitl(bot=connected_bot, conversation_id="a", title="Refund for order")[0]
    services.start_hitl(bot=connected_bot, conversation_id="b", title="Refund")
    assert numbers(agent_client.get("/?q=order+refund")) == {both.pk}


def test_search_keeps_the_status_filter(agent_client, connected_bot, agent):
    open_one = services.start_hitl(bot=connected_bot, conversation_id="a", title="Refund A")[0]
    closed = services.start_hitl(bot=connected_bot, conversation_id="b", title="Refund B")[0]
    services.ticket_close(ticket_id=closed.pk, agent=agent)
    assert numbers(agent_client.get("/?q=refund")) == {open_one.pk}
    assert numbers(agent_client.get("/?q=refund&status=closed")) == {closed.pk}


def test_a_row_shows_the_last_message_and_how_many_are_unanswered(
    agent_client, connected_bot, agent
):
    ticket = services.start_hitl(bot=connected_bot, conversation_id="a", user_name="Jordan")[0]
    services.ticket_reply(ticket_id=ticket.pk, agent=agent, text="Hello Jordan")
    services.post_user_message(bot=connected_bot, conversation_id="a", text="First question")
    services.post_user_message(bot=connected_bot, conversation_id="a", text="Second question")
    services.ticket_add_note(ticket_id=ticket.pk, agent=agent, text="secret note")
    html = agent_client.get("/").content.decode()
    assert "Second question" in html and "secret note" not in html
    assert "2 new" in html and "unread" in html
    services.ticket_reply(ticket_id=ticket.pk, agent=agent, text="Answer")
    html = agent_client.get("/").content.decode()
    assert "new</span>" not in html and "Answer" in html


def test_a_pending_row_shows_how_long_the_customer_has_waited(agent_client, connected_bot):
    make(connected_bot, "a", minutes_ago=4)
    html = agent_client.get("/").content.decode()
    assert "waiting 4 min" in html and "data-waiting" in html


def test_the_page_opens_a_socket_with_its_filters(agent_client, db):
    html = agent_client.get("/?status=pending&q=x").content.decode()
    assert 'ws-connect="/ws/desk/?inbox=1&amp;status=pending&amp;q=x"' in html


def test_the_history_a_bot_escalates_with_is_not_unread(agent_client, connected_bot):
    services.start_hitl(
        bot=connected_bot,
        conversation_id="a",
        message_history=[
            services.HistoryItem(role="user", text="Earlier question"),
        ],
    )
    html = agent_client.get("/").content.decode()
    assert "Earlier question" in html and "new</span>" not in html
    services.post_user_message(bot=connected_bot, conversation_id="a", text="Hello?")
    assert "1 new</span>" in agent_client.get("/").content.decode()


@pytest.mark.parametrize("status", ["open", "pending", "mine", "waiting", "closed"])
def test_every_list_is_in_the_order_a_live_page_sorts_its_rows(
    agent_client, connected_bot, agent, other_agent, status
):
    """The lists are ordered by indexes now, not by a CASE; the order must not change:
    pending, assigned, waiting, closed; urgent first; oldest first; then by number. A
    live page puts a pushed row by `inbox_sort_key`, so the two must agree."""
    same_time = timezone.now() - timedelta(minutes=15)
    fates = ["pending", "maya", "sam", "closed", "maya-waits", "sam-waits"]
    for i, priority in enumerate(["low", "urgent", "medium", "high", "urgent"]):
        for j, fate in enumerate(fates):
            ticket = make(connected_bot, f"{fate}-{i}", priority, minutes_ago=(i * 7 + j) % 5)
            if i % 2:  # ties on created_at fall back to the number
                Ticket.objects.filter(pk=ticket.pk).update(created_at=same_time)
            if fate in ("maya", "closed", "maya-waits"):
                services.ticket_claim(ticket_id=ticket.pk, agent=agent)
            elif fate in ("sam", "sam-waits"):
                services.ticket_claim(ticket_id=ticket.pk, agent=other_agent)
            if fate.endswith("-waits"):
                waiter = agent if fate.startswith("maya") else other_agent
                services.ticket_wait(ticket_id=ticket.pk, agent=waiter)
            if fate == "closed":
                services.ticket_close(ticket_id=ticket.pk, agent=agent)
    shown = agent_client.get(f"/?status={status}").context["tickets"]
    listed = {
        "open": Ticket.objects.exclude(status="closed"),
        "pending": Ticket.objects.filter(status="pending"),
        "mine": Ticket.objects.filter(status__in=["assigned", "waiting"], assignee=agent),
        "waiting": Ticket.objects.filter(status="waiting"),
        "closed": Ticket.objects.filter(status="closed"),
    }[status]
    expected = sorted(listed, key=lambda t: t.inbox_sort_key)
    assert len(shown) == len(expected) > 1
    assert [t.pk for t in shown] == [t.pk for t in expected]
