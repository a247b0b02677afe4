"""Customer satisfaction and the bot's daily numbers: rate() after HitlStopped.csat asks
for it, and report_stats() for Desk's deflection rate, against a real Desk."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from desk_sdk import (
    AsyncDesk,
    BotStats,
    Csat,
    HitlStopped,
    MemoryCursorStore,
    NoRecentTicket,
    Rating,
    ValidationFailed,
)

pytestmark = pytest.mark.slow

ASK = "{agentName} would love to know: how did we do, from 1 to 5?"


def test_a_bot_asks_for_the_rating_desk_requests_and_rates(desk_server):
    desk = desk_server.connected_bot(csat_message=ASK)
    assert desk.get_bot().csat_message == ASK
    desk.start_hitl("conv-rate", user_name="Jo")
    desk_server.agent.claim(desk.bot_id, "conv-rate")
    desk_server.agent.close(desk.bot_id, "conv-rate")
    stopped = [
        e for e in _take(desk.listen(cursor_store=MemoryCursorStore(), wait=5), 2)
        if isinstance(e, HitlStopped)
    ][0]
    assert stopped.csat == Csat(message="Maya Lopez would love to know: how did we do, "
                                        "from 1 to 5?", scale=5)

    rating = desk.rate("conv-rate", 4, comment="Quick")
    assert isinstance(rating, Rating)
    assert (rating.score, rating.comment, rating.replaced) == (4, "Quick", False)
    again = desk.rate("conv-rate", 5)
    assert (again.score, again.replaced, again.rated_at) == (5, True, rating.rated_at)
    assert desk_server.agent.ticket(desk.bot_id, "conv-rate")["rating"] == {
        "score": 5, "comment": ""
    }


def test_without_a_recently_closed_ticket_rate_raises_no_recent_ticket(desk_server):
    desk = desk_server.connected_bot()
    desk.start_hitl("conv-open")
    with pytest.raises(NoRecentTicket) as refused:
        desk.rate("conv-open", 5)
    assert (refused.value.status, refused.value.code) == (409, "no_recent_ticket")
    with pytest.raises(ValidationFailed) as refused:
        desk.rate("conv-open", 9)
    assert "score" in refused.value.fields


def test_a_bot_reports_its_conversations_per_day(desk_server):
    desk = desk_server.connected_bot()
    yesterday = date.today() - timedelta(days=1)
    first = desk.report_stats(yesterday, 120)
    assert isinstance(first, BotStats) and first.created
    assert (first.date, first.conversations, first.bot_id) == (yesterday, 120, desk.bot_id)
    again = desk.report_stats(yesterday.isoformat(), 125)
    assert not again.created and again.conversations == 125
    with pytest.raises(ValidationFailed) as refused:
        desk.report_stats(date.today() + timedelta(days=2), 3)
    assert "date" in refused.value.fields
    with pytest.raises(ValidationFailed) as refused:
        desk.report_stats(yesterday, -1)
    assert "conversations" in refused.value.fields


async def test_the_async_client_rates_and_reports(desk_server):
    sync = desk_server.connected_bot()
    async with AsyncDesk(desk_server.url, desk_server.api_key, sync.bot_id) as desk:
        await desk.start_hitl("conv-async-rate")
        await desk.stop_hitl("conv-async-rate")
        rating = await desk.rate("conv-async-rate", 3)
        assert rating.score == 3 and not rating.replaced
        stats = await desk.report_stats(date.today() - timedelta(days=1), 7)
        assert stats.created and stats.conversations == 7


def _take(iterator, count: int) -> list:
    return [next(iterator) for _ in range(count)]
