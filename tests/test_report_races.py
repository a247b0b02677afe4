"""Racing writers and the Reports' rollups: tickets changed at the same moment by several
threads all land in the same rollup rows, and no count is lost (also on PostgreSQL)."""

import threading

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import connection
from django.db.models import Sum

from desk import services
from reports.models import AgentDailyRollup, DailyRollup

RACERS = 6


@pytest.mark.concurrency
@pytest.mark.django_db(transaction=True)
def test_racing_tickets_in_the_same_rollup_rows_lose_no_count(connected_bot):
    agents = [
        get_user_model().objects.create_user(f"racer{n}", first_name=f"Racer {n}")
        for n in range(2)
    ]
    barrier = threading.Barrier(RACERS, timeout=20)
    errors = []

    def work(n: int) -> None:
        try:
            barrier.wait()
            ticket, _ = services.start_hitl(bot=connected_bot, conversation_id=f"race-{n}")
            barrier.wait()
            agent = agents[n % 2]
            services.ticket_reply(ticket_id=ticket.pk, agent=agent, text="Hello")
            barrier.wait()
            services.ticket_close(ticket_id=ticket.pk, agent=agent)
            services.rate_conversation(bot=connected_bot, conversation_id=f"race-{n}", score=4)
        except Exception as exc:  # surfaced below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=work, args=(n,)) for n in range(RACERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    day = DailyRollup.objects.aggregate(
        tickets=Sum("tickets"), replied=Sum("reply_count"), rated=Sum("rated"),
        scores=Sum("score_sum"),
    )
    assert day == {"tickets": RACERS, "replied": RACERS, "rated": RACERS, "scores": 4 * RACERS}
    assert DailyRollup.objects.get(outcome="agent").tickets == RACERS
    per_agent = dict(AgentDailyRollup.objects.values_list("agent_id", "closed"))
    assert per_agent == {agents[0].pk: RACERS // 2, agents[1].pk: RACERS // 2}
    call_command("rebuild_reports", "--check")
