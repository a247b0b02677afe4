"""The inbox's count of closed tickets is exact whatever closes, reopens or deletes a
ticket: an agent, the bot, a queryset `.update()`, a `bulk_create`, a delete, writers
racing on separate connections. The database keeps it (desk.closed_count) so the page
never counts the closed history. Marked `postgres`: make test also runs these on
PostgreSQL, whose triggers are its own."""

import re
import threading

import pytest
from django.core.management import call_command
from django.db import connection
from django.test import Client

from desk import closed_count, services
from desk.assignment import assign
from desk.models import Ticket

pytestmark = pytest.mark.postgres

CLOSED = re.compile(r'id="count-status-closed">(\d+)<')
OPEN = re.compile(r'id="count-status-open">(\d+)<')


def side_bar(agent) -> tuple[int, int]:
    """The open and closed counts the inbox page shows."""
    client = Client()
    client.force_login(agent)
    page = client.get("/").content.decode()
    return int(OPEN.search(page).group(1)), int(CLOSED.search(page).group(1))


def truth() -> tuple[int, int]:
    closed = Ticket.objects.filter(status="closed").count()
    return Ticket.objects.count() - closed, closed


def escalate(bot, n: int) -> Ticket:
    return services.start_hitl(bot=bot, conversation_id=f"conv-{n}", title=f"Order {n}")[0]


@pytest.mark.django_db
def test_the_closed_count_follows_every_way_a_ticket_changes(agent, connected_bot):
    tickets = [escalate(connected_bot, n) for n in range(8)]
    assert side_bar(agent) == (8, 0)

    services.ticket_claim(ticket_id=tickets[0].pk, agent=agent)
    assign(tickets[1], assignee=agent, by=agent)
    services.ticket_wait(ticket_id=tickets[1].pk, agent=agent)
    assert side_bar(agent) == (8, 0)

    services.ticket_close(ticket_id=tickets[0].pk, agent=agent)  # an agent closes
    services.stop_hitl(bot=connected_bot, conversation_id="conv-2")  # the bot does
    assert side_bar(agent) == (6, 2)

    # A queryset update, several rows at once, including one already closed.
    Ticket.objects.filter(pk__in=[t.pk for t in tickets[:5]]).update(status="closed")
    assert side_bar(agent) == (3, 5) == truth()

    # Reopened by an update; an update that leaves the status as it was.
    Ticket.objects.filter(pk__in=[tickets[0].pk, tickets[3].pk]).update(status="pending")
    Ticket.objects.filter(status="closed").update(status="closed", close_reason="agent")
    assert side_bar(agent) == (5, 3) == truth()

    # Deleted: a closed ticket, then a mix of closed and open.
    Ticket.objects.get(pk=tickets[1].pk).delete()
    assert side_bar(agent) == (5, 2) == truth()
    Ticket.objects.filter(pk__in=[tickets[2].pk, tickets[5].pk]).delete()
    assert side_bar(agent) == (4, 1) == truth()

    # Written closed in bulk (an import), and saved closed one by one.
    Ticket.objects.bulk_create(
        Ticket(bot=connected_bot, conversation_id=f"old-{n}", status="closed") for n in range(7)
    )
    reopened = Ticket.objects.get(pk=tickets[0].pk)
    reopened.status = "closed"
    reopened.save()
    assert side_bar(agent) == (3, 9) == truth()


@pytest.mark.django_db
def test_the_tickets_closed_before_the_count_existed_are_counted(agent, connected_bot):
    """The migration counts what is already closed; so does a reinstall."""
    tickets = [escalate(connected_bot, n) for n in range(4)]
    closed_count.uninstall(connection)
    Ticket.objects.filter(pk__in=[t.pk for t in tickets[:3]]).update(status="closed")
    closed_count.install(connection)
    assert side_bar(agent) == (1, 3)
    Ticket.objects.filter(pk=tickets[0].pk).update(status="pending")
    assert side_bar(agent) == (2, 2)


@pytest.mark.django_db
def test_triggers_a_migration_dropped_are_put_back_and_the_count_redone(agent, connected_bot):
    """SQLite drops a table's triggers when a migration rebuilds the table; `migrate`
    puts them back (desk.apps) and counts what changed while they were gone."""
    if connection.vendor != "sqlite":
        pytest.skip("PostgreSQL keeps a table's triggers")
    tickets = [escalate(connected_bot, n) for n in range(3)]
    with connection.cursor() as cursor:
        for name in closed_count.SQLITE_TRIGGERS:
            cursor.execute(f"DROP TRIGGER {name}")
    Ticket.objects.filter(pk__in=[t.pk for t in tickets[:2]]).update(status="closed")
    call_command("migrate", verbosity=0)
    assert side_bar(agent) == (1, 2)
    Ticket.objects.filter(pk=tickets[2].pk).update(status="closed")
    assert side_bar(agent) == (0, 3)


@pytest.mark.concurrency
@pytest.mark.django_db(transaction=True)
def test_closes_and_reopens_racing_on_separate_connections_are_all_counted(
    agent, connected_bot
):
    """Writers on their own connections (their own counter rows on PostgreSQL), each
    closing and reopening its tickets in transactions of several rows at once."""
    tickets = [escalate(connected_bot, n) for n in range(40)]
    ids = [t.pk for t in tickets]
    writers = 4
    barrier = threading.Barrier(writers, timeout=20)
    errors: list[Exception] = []

    def run(n: int) -> None:
        mine = ids[n::writers]
        try:
            barrier.wait()
            for _ in range(5):
                Ticket.objects.filter(pk__in=mine).update(status="closed")
                Ticket.objects.filter(pk__in=mine[::2]).update(status="pending")
        except Exception as error:  # noqa: BLE001 — reported by the assertion below
            errors.append(error)
        finally:
            connection.close()

    pool = [threading.Thread(target=run, args=(n,)) for n in range(writers)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    assert errors == []
    assert side_bar(agent) == (20, 20) == truth()


@pytest.mark.django_db
def test_rebuild_search_counts_the_closed_tickets_afresh(agent, connected_bot):
    """After restoring data without the triggers (a count left wrong), the command that
    rebuilds the search index counts them again."""
    tickets = [escalate(connected_bot, n) for n in range(3)]
    Ticket.objects.filter(pk=tickets[0].pk).update(status="closed")
    with connection.cursor() as cursor:  # one row or several (PostgreSQL): 99 in all
        cursor.execute(f"DELETE FROM {closed_count.TABLE}")
        cursor.execute(f"INSERT INTO {closed_count.TABLE} (shard, tickets) VALUES (0, 99)")
    assert side_bar(agent) == (2, 99)
    call_command("rebuild_search", stdout=open("/dev/null", "w"))  # noqa: SIM115
    assert side_bar(agent) == (2, 1)
