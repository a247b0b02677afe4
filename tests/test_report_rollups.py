"""The Reports' figures against a brute-force count of generated tickets with known timings.

Tickets go through the real service functions (startHitl, claim, reply, reassign,
priority, waiting for the customer and their answer, close, stopHitl, the unassigned
and waiting timeouts, ratings) on a clock the test sets,
in the desk's time zone America/New_York: some open seconds before local midnight
and close after it, some on the day daylight saving time starts. The brute force
knows each ticket's timings from the plan, not from the database.
"""

import math
import random
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from unittest import mock
from zoneinfo import ZoneInfo

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import override_settings

from bots.services import bot_deploy, bot_set_connected
from desk import services
from desk.models import Ticket
from reports import selectors
from reports.models import BUCKET_BOUNDS, AgentDailyRollup, DailyRollup
from reports.selectors import ReportFilter

pytestmark = pytest.mark.django_db

DESK_ZONE = "America/New_York"
NEW_YORK = ZoneInfo(DESK_ZONE)
# Sunday 2026-03-08 has 23 hours in New York (clocks go from 02:00 to 03:00).
FIRST_DAY = date(2026, 3, 6)
DAYS = 5
DELAYS = [2, 8, 25, 50, 75, 150, 400, 1000, 2500, 5000, 9000, 20000, 50000, 100000, 200000]


class Clock:
    """What timezone.now() answers while the plan runs."""

    def __init__(self) -> None:
        self.at = datetime(2026, 1, 1, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.at


@dataclass
class Plan:
    """One ticket: what happens to it and when, and so what the reports must say."""

    n: int
    bot: int  # index into the bots
    opened: datetime
    priority: str
    steps: list = field(default_factory=list)  # (moment, action, argument)
    agent: int | None = None  # the final assignee (index)
    outcome: str = "open"
    assigned: datetime | None = None
    replied: datetime | None = None
    closed: datetime | None = None
    asked: bool = False
    score: int | None = None

    @property
    def day(self) -> date:
        return self.opened.astimezone(NEW_YORK).date()


def _moment(rng: random.Random) -> datetime:
    day = FIRST_DAY + timedelta(days=rng.randrange(DAYS))
    if rng.random() < 0.3:  # seconds around local midnight
        local = datetime.combine(day, datetime.min.time(), NEW_YORK)
        return (local + timedelta(seconds=rng.randint(-180, 180))).astimezone(UTC)
    seconds = rng.randint(0, 24 * 3600 - 1)
    local = datetime.combine(day, datetime.min.time(), NEW_YORK) + timedelta(seconds=seconds)
    return local.astimezone(UTC)


def _after(rng: random.Random, moment: datetime) -> datetime:
    return moment + timedelta(seconds=rng.choice(DELAYS) * rng.uniform(0.8, 1.2))


def make_plans(rng: random.Random, count: int, agents: int) -> list[Plan]:
    plans = []
    for n in range(count):
        priority = rng.choice(["low", "medium", "high", "urgent"])
        plan = Plan(n, rng.randrange(2), _moment(rng), priority)
        t = plan.opened
        fate = rng.choices(
            ["agent", "cancel", "timeout", "expired", "assigned", "pending", "waiting", "silent"],
            weights=[50, 12, 8, 10, 12, 8, 6, 6],
        )[0]
        if rng.random() < 0.15 and fate != "expired":
            t = _after(rng, t)
            plan.priority = rng.choice(["low", "medium", "high", "urgent"])
            plan.steps.append((t, "priority", plan.priority))
        if fate in ("agent", "cancel", "timeout", "assigned", "waiting", "silent"):
            t = _after(rng, t)
            agent = rng.randrange(agents)
            if rng.random() < 0.2:  # a reply to a pending ticket claims it
                plan.steps.append((t, "reply", agent))
                plan.replied = t
            else:
                plan.steps.append((t, "claim", agent))
            plan.assigned, plan.agent = t, agent
            if rng.random() < 0.15:
                t = _after(rng, t)
                plan.agent = (agent + 1) % agents
                plan.steps.append((t, "reassign", plan.agent))
            if plan.replied is None and rng.random() < 0.85:
                t = _after(rng, t)
                plan.steps.append((t, "reply", plan.agent))
                plan.replied = t
                if rng.random() < 0.3:  # a second reply moves nothing
                    t = _after(rng, t)
                    plan.steps.append((t, "reply", plan.agent))
            answered = fate in ("agent", "assigned") and rng.random() < 0.3
            if fate in ("waiting", "silent") or answered:
                t = _after(rng, t)
                plan.steps.append((t, "wait", plan.agent))
            if answered:  # the customer writes: assigned again, nothing else moves
                t = _after(rng, t)
                plan.steps.append((t, "answer", None))
        if fate in ("agent", "cancel", "timeout", "expired", "silent"):
            t = _after(rng, t)
            plan.steps.append((t, "close", fate))
            plan.closed = t
            outcomes = {"agent": "agent", "expired": "expired", "silent": "silent"}
            plan.outcome = outcomes.get(fate, "bot")
            plan.asked = fate == "agent" and plan.bot == 0  # bot 0 asks for ratings
            if rng.random() < (0.7 if plan.asked else 0.1):
                t = _after(rng, t)
                plan.score = rng.randint(1, 5)
                plan.steps.append((t, "rate", plan.score))
                if rng.random() < 0.3:  # changed within the day
                    t += timedelta(minutes=rng.randint(1, 600))
                    plan.score = rng.randint(1, 5)
                    plan.steps.append((t, "rate", plan.score))
        plans.append(plan)
    return plans


def run(plans: list[Plan], bots: list, agents: list, clock: Clock) -> None:
    timeline = [(plan.opened, plan.n, 0, "open", None) for plan in plans]
    for plan in plans:
        timeline += [
            (t, plan.n, i + 1, action, arg) for i, (t, action, arg) in enumerate(plan.steps)
        ]
    tickets = {}
    for moment, n, _, action, arg in sorted(timeline):
        clock.at = moment
        plan = plans[n]
        bot, conversation = bots[plan.bot], f"plan-{n}"
        if action == "open":
            first = plan.priority if not any(s[1] == "priority" for s in plan.steps) else "medium"
            tickets[n], _ = services.start_hitl(
                bot=bot, conversation_id=conversation, priority=first
            )
            continue
        ticket_id = tickets[n].pk
        if action == "priority":
            services.ticket_set_priority(ticket_id=ticket_id, agent=agents[0], priority=arg)
        elif action == "claim":
            services.ticket_claim(ticket_id=ticket_id, agent=agents[arg])
        elif action == "reply":
            services.ticket_reply(ticket_id=ticket_id, agent=agents[arg], text="On it.")
        elif action == "reassign":
            services.ticket_assign(ticket_id=ticket_id, agent=agents[0], assignee=agents[arg])
        elif action == "close" and arg == "agent":
            services.ticket_close(ticket_id=ticket_id, agent=agents[plan.agent])
        elif action == "close" and arg == "expired":
            assert services.expire_unassigned(ticket_id=ticket_id) is not None
        elif action == "wait":
            services.ticket_wait(ticket_id=ticket_id, agent=agents[arg])
        elif action == "answer":
            services.post_user_message(bot=bot, conversation_id=conversation, text="Here.")
        elif action == "close" and arg == "silent":
            since = Ticket.objects.get(pk=ticket_id).waiting_started_at
            assert services.close_silent_waiting(ticket_id=ticket_id, since=since) is not None
        elif action == "close":
            services.stop_hitl(bot=bot, conversation_id=conversation, reason=arg)
        elif action == "rate":
            services.rate_conversation(bot=bot, conversation_id=conversation, score=arg)


# --- the brute force --------------------------------------------------------------------


def _bucket(seconds: float) -> int:
    for i, bound in enumerate(BUCKET_BOUNDS):
        if seconds < bound:
            return i
    return len(BUCKET_BOUNDS)


def _ms(start: datetime, end: datetime | None) -> int | None:
    return None if end is None else round((end - start).total_seconds() * 1000)


def times(plan: Plan) -> dict[str, int | None]:
    return {
        "assign": _ms(plan.opened, plan.assigned),
        "reply": _ms(plan.opened, plan.replied),
        "resolve": _ms(plan.opened, plan.closed),
    }


def expected_rows(plans: list[Plan], bots: list, agents: list) -> dict[tuple, Counter]:
    """What each rollup row must hold: ("day", day, bot, priority, outcome) for the
    daily rollup, ("agent", day, bot, agent) for the per-agent one."""
    rows: dict[tuple, Counter] = defaultdict(Counter)
    for plan in plans:
        bot = bots[plan.bot].pk
        everything = ("assign", "reply", "resolve")
        keys = [(("day", plan.day, bot, plan.priority, plan.outcome), everything)]
        if plan.agent is not None:
            keys.append((("agent", plan.day, bot, agents[plan.agent].pk), ("reply", "resolve")))
        for key, metrics in keys:
            row = rows[key]
            row["tickets"] += 1
            if key[0] == "agent":
                row["closed"] += plan.outcome == "agent"
            for metric in metrics:
                ms = times(plan)[metric]
                if ms is not None:
                    row[f"{metric}_count"] += 1
                    row[f"{metric}_ms"] += ms
                    row[f"{metric}_h{_bucket(ms / 1000)}"] += 1
            row["surveyed"] += plan.asked or plan.score is not None
            row["rated"] += plan.score is not None
            row["score_sum"] += plan.score or 0
    return {key: +row for key, row in rows.items()}


def stored_rows() -> dict[tuple, Counter]:
    found = {}
    for name, model, key_columns in (
        ("day", DailyRollup, ("day", "bot_id", "priority", "outcome")),
        ("agent", AgentDailyRollup, ("day", "bot_id", "agent_id")),
    ):
        for row in model.objects.values():
            key = (name, *(row.pop(column) for column in key_columns))
            row.pop("id")
            sums = Counter({k: v for k, v in row.items() if v})
            if sums:
                found[key] = sums
    return found


def exact_quantile(values: list[float], q: float) -> float | None:
    return sorted(values)[math.ceil(q * len(values)) - 1] if values else None


def assert_in_same_bucket(estimate: float | None, exact: float | None) -> None:
    if exact is None:
        assert estimate is None
        return
    i = _bucket(exact)
    low = BUCKET_BOUNDS[i - 1] if i else 0
    high = BUCKET_BOUNDS[i] if i < len(BUCKET_BOUNDS) else math.inf
    assert low <= estimate <= high, (estimate, exact)


@pytest.fixture
def cast(db):
    User = get_user_model()
    # Agent 0 is an admin: they may hand anyone's ticket to someone else.
    agents = [
        User.objects.create_user(f"agent{i}", first_name=f"Agent {i}", is_staff=i == 0)
        for i in range(3)
    ]
    bots = []
    for i in range(2):
        bot_deploy(bot_id=f"bot-{i}", api_key=None, name=f"Bot {i}",
                   csat_message="How did we do, 1 to 5?" if i == 0 else "")
        bots.append(bot_set_connected(bot_id=f"bot-{i}", connected=True))
    return bots, agents


@pytest.fixture
def clock():
    clock = Clock()
    with mock.patch("django.utils.timezone.now", clock):
        yield clock


@override_settings(TIME_ZONE=DESK_ZONE)
def test_the_rollups_equal_a_brute_force_count_of_known_tickets(cast, clock):
    bots, agents = cast
    plans = make_plans(random.Random(13), 160, len(agents))
    assert sum(p.opened.astimezone(NEW_YORK).date() != p.opened.date() for p in plans) > 10
    run(plans, bots, agents, clock)
    # Waiting tickets count as open; one closed by the waiting timeout is its own outcome.
    assert Ticket.objects.filter(status="waiting").count() > 3
    assert sum(p.outcome == "silent" for p in plans) > 3
    assert stored_rows() == expected_rows(plans, bots, agents)


@override_settings(TIME_ZONE=DESK_ZONE)
def test_a_rebuild_equals_the_live_rollups(cast, clock):
    bots, agents = cast
    run(make_plans(random.Random(7), 120, len(agents)), bots, agents, clock)
    live = stored_rows()
    call_command("rebuild_reports", "--check")  # compares, writes nothing
    assert stored_rows() == live
    call_command("rebuild_reports")
    assert stored_rows() == live


@override_settings(TIME_ZONE=DESK_ZONE)
def test_the_report_shows_the_brute_force_figures(cast, clock):
    bots, agents = cast
    plans = make_plans(random.Random(21), 160, len(agents))
    run(plans, bots, agents, clock)
    # Tickets opened just before the first local midnight belong to the day before.
    start, end = min(p.day for p in plans), max(p.day for p in plans)
    assert start < FIRST_DAY
    report_filter = ReportFilter("custom", start, end)
    result = selectors.report(report_filter)

    assert result.total.escalations == len(plans)
    assert dict(result.total.outcomes) == dict(Counter(p.outcome for p in plans))
    for day in report_filter.days:
        on_day = [p for p in plans if p.day == day]
        assert result.by_day[day].escalations == len(on_day)
        assert dict(result.by_day[day].outcomes) == dict(Counter(p.outcome for p in on_day))
        replies = [times(p)["reply"] / 1000 for p in on_day if p.replied]
        assert_in_same_bucket(result.by_day[day].median("reply"), exact_quantile(replies, 0.5))
        assert_in_same_bucket(result.by_day[day].p90("reply"), exact_quantile(replies, 0.9))
    for metric in ("assign", "reply", "resolve"):
        values = [times(p)[metric] / 1000 for p in plans if times(p)[metric] is not None]
        assert_in_same_bucket(result.total.median(metric), exact_quantile(values, 0.5))
        assert_in_same_bucket(result.total.p90(metric), exact_quantile(values, 0.9))
        assert result.total.mean(metric) == pytest.approx(sum(values) / len(values))
    scores = [p.score for p in plans if p.score is not None]
    surveyed = [p for p in plans if p.asked or p.score is not None]
    assert result.total.csat == pytest.approx(sum(scores) / len(scores))
    assert result.total.response_rate == pytest.approx(len(scores) / len(surveyed))

    by_bot = {line.bot.pk: line for line in result.bots}
    for i, bot in enumerate(bots):
        mine = [p for p in plans if p.bot == i]
        assert by_bot[bot.pk].figures.escalations == len(mine)
        assert dict(by_bot[bot.pk].figures.outcomes) == dict(Counter(p.outcome for p in mine))
        assert by_bot[bot.pk].deflection is None  # no bot reported its conversations
    by_agent = {line.agent.pk: line for line in result.agents}
    for i, agent in enumerate(agents):
        theirs = [p for p in plans if p.agent == i]
        figures = by_agent[agent.pk].figures
        assert figures.escalations == len(theirs)
        assert figures.closed_by_agent == sum(p.outcome == "agent" for p in theirs)
        replies = [times(p)["reply"] / 1000 for p in theirs if p.replied]
        assert_in_same_bucket(figures.median("reply"), exact_quantile(replies, 0.5))
        resolved = [times(p)["resolve"] / 1000 for p in theirs if p.closed]
        assert_in_same_bucket(figures.median("resolve"), exact_quantile(resolved, 0.5))


@override_settings(TIME_ZONE=DESK_ZONE)
def test_a_ticket_counts_on_the_local_day_it_opened_though_it_closes_after_midnight(
    admin_client, cast, clock
):
    bots, agents = cast  # (the admin logged in before the clock was set: a fresh session)
    clock.at = datetime(2026, 3, 10, 3, 59, tzinfo=UTC)  # 23:59 on March 9 in New York
    ticket, _ = services.start_hitl(bot=bots[1], conversation_id="late")
    clock.at += timedelta(minutes=2)  # 00:01 on March 10
    services.ticket_reply(ticket_id=ticket.pk, agent=agents[0], text="Hello")
    clock.at += timedelta(minutes=10)
    services.ticket_close(ticket_id=ticket.pk, agent=agents[0])
    march = {"range": "custom", "bot": "bot-1"}
    ninth = admin_client.get(
        "/reports/bots.csv", {**march, "from": "2026-03-09", "to": "2026-03-09"}
    )
    tenth = admin_client.get(
        "/reports/bots.csv", {**march, "from": "2026-03-10", "to": "2026-03-10"}
    )
    # Bot, Escalations, Conversations, Deflection, Closed by agent, …, Median first reply
    assert ninth.content.decode().splitlines()[1].split(",")[:5] == ["Bot 1", "1", "—", "—", "1"]
    assert ",2 min," in ninth.content.decode().splitlines()[1]
    assert tenth.content.decode().splitlines()[1].split(",")[:2] == ["Bot 1", "0"]
    with override_settings(TIME_ZONE="UTC"):
        call_command("rebuild_reports")  # the day moves with the desk's time zone
        utc_tenth = admin_client.get(
            "/reports/bots.csv", {**march, "from": "2026-03-10", "to": "2026-03-10"}
        )
        assert utc_tenth.content.decode().splitlines()[1].split(",")[:2] == ["Bot 1", "1"]
