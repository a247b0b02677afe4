"""Data for the benchmarks, made in a child process against one SQLite file.

    python bench/fixtures.py prepare --agents N [--languages en,de,fr]
                                                   # users, sessions, key, connected bot
    python bench/fixtures.py inbox --tickets N           # the inbox dataset (bulk_create)
    python bench/fixtures.py probe --repeat N            # inbox queries and in-process time
    python bench/fixtures.py reports --tickets N         # the reports dataset, rollups built
    python bench/fixtures.py reports-probe               # queries of Reports and the inbox
    python bench/fixtures.py rollup-cost --requests N    # startHitl and a reply, with/without
    python bench/fixtures.py search --tickets N --messages M   # the search dataset
    python bench/fixtures.py search-probe --dataset inbox|search --tickets N   # the searches
    python bench/fixtures.py transcript --lengths 10,2000 # tickets with long transcripts

The database is chosen by SQLITE_PATH (or DATABASE_URL) in the environment; each
command prints one JSON object on stdout for bench/run.py.
"""

import contextlib
import json
import os
import random
import statistics
import sys
import time
import uuid
from datetime import timedelta
from pathlib import Path
from unittest import mock

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "desk.settings")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.auth import (  # noqa: E402
    BACKEND_SESSION_KEY,
    HASH_SESSION_KEY,
    SESSION_KEY,
    get_user_model,
)
from django.contrib.auth.hashers import make_password  # noqa: E402
from django.contrib.sessions.backends.db import SessionStore  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection, reset_queries, transaction  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402

from bots.models import Bot  # noqa: E402
from bots.services import api_key_create, bot_deploy, bot_set_connected  # noqa: E402
from desk.models import PRIORITY_RANK, Message, Priority, Rating, Status, Ticket  # noqa: E402
from reports import rollups  # noqa: E402
from reports.models import BotDayStats  # noqa: E402

BOT_ID = "bench-bot"
PASSWORD_HASH = make_password(None)  # unusable: benchmark agents log in by session only


def agents(count: int) -> list:
    """`count` agent accounts (agent0, agent1, …), created once."""
    User = get_user_model()
    have = {u.username: u for u in User.objects.filter(username__startswith="agent")}
    missing = [f"agent{i}" for i in range(count) if f"agent{i}" not in have]
    User.objects.bulk_create(
        User(username=name, first_name="Agent", last_name=name[5:], password=PASSWORD_HASH)
        for name in missing
    )
    users = {u.username: u for u in User.objects.filter(username__startswith="agent")}
    return [users[f"agent{i}"] for i in range(count)]


def session_for(user) -> str:
    """A logged-in session key for the user, as the login view would leave it."""
    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[0]
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.create()
    return session.session_key


def connected_bot() -> Bot:
    bot = Bot.objects.filter(bot_id=BOT_ID).first()
    if bot is None:
        bot, _ = bot_deploy(bot_id=BOT_ID, api_key=None, name="Bench Bot")
    return bot_set_connected(bot_id=BOT_ID, connected=True)


def prepare(agent_count: int, languages: list[str] | None = None) -> dict:
    """With `languages`, the agents read them in turn (chosen on their profiles): their
    tabs show that many locales, each live fragment rendered once in each."""
    from desk.models import AgentProfile

    call_command("migrate", verbosity=0, interactive=False)
    with transaction.atomic():
        users = agents(agent_count)
        if languages:
            AgentProfile.objects.bulk_create(
                [AgentProfile(agent=u) for u in users], ignore_conflicts=True
            )
            for i, language in enumerate(languages):
                AgentProfile.objects.filter(agent__in=users[i :: len(languages)]).update(
                    language=language
                )
        sessions = [session_for(user) for user in users]
        _, key = api_key_create(name="bench", workspace_wide=True)
        connected_bot()
    return {"sessions": sessions, "api_key": key, "bot_id": BOT_ID}


@contextlib.contextmanager
def lines_indexed_at_the_end():
    """On SQLite, lines bulk-inserted inside skip the search indexes' per-line triggers
    (an FTS5 update per line) and every ticket's search document is written once at the
    end: what the triggers would have made (desk.search_index.rebuild, which puts the
    triggers back). PostgreSQL's trigger already runs once per INSERT statement."""
    from desk import search_index

    if connection.vendor != "sqlite":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("DROP TRIGGER IF EXISTS desk_message_search_insert")
        cursor.execute("DROP TRIGGER IF EXISTS desk_message_search_open_insert")
    yield
    search_index.rebuild(connection)


def inbox_dataset(tickets: int, messages_per_ticket: int = 3) -> dict:
    """`tickets` tickets with their transcripts, a realistic mix: most closed, some open."""
    call_command("migrate", verbosity=0, interactive=False)
    have = Ticket.objects.count()
    if have == tickets:
        return {"tickets": have, "messages": Message.objects.count(), "created": False}
    if have:
        raise SystemExit(f"{connection.settings_dict['NAME']} has {have} tickets, not {tickets}")
    started = time.perf_counter()
    bot = connected_bot()
    staff = agents(20)
    priorities = [Priority.LOW, Priority.MEDIUM, Priority.MEDIUM, Priority.HIGH, Priority.URGENT]
    now = timezone.now()
    batch = 5_000
    # auto_now_add would stamp every row "now": this dataset spreads ages over a year.
    Ticket._meta.get_field("created_at").auto_now_add = False
    with transaction.atomic(), lines_indexed_at_the_end():
        for start in range(0, tickets, batch):
            rows = []
            for i in range(start, min(start + batch, tickets)):
                # 5 % pending, 10 % assigned, 85 % closed; ages spread over a year.
                bucket = i % 20
                status = (
                    Status.PENDING
                    if bucket == 0
                    else Status.ASSIGNED
                    if bucket in (1, 2)
                    else Status.CLOSED
                )
                priority = priorities[i % len(priorities)]
                created = now - timedelta(minutes=(tickets - i) * 5)
                assignee = None if status == Status.PENDING else staff[i % len(staff)]
                rows.append(
                    Ticket(
                        bot=bot,
                        conversation_id=f"conv-{i}",
                        title=f"Question number {i}",
                        priority=priority,
                        priority_rank=PRIORITY_RANK[priority],
                        status=status,
                        user_name=f"User {i}",
                        user_email=f"user{i}@example.com",
                        assignee=assignee,
                        created_at=created,
                        assigned_at=created if assignee else None,
                        closed_at=created + timedelta(minutes=30)
                        if status == Status.CLOSED
                        else None,
                        close_reason="agent" if status == Status.CLOSED else "",
                    )
                )
            made = Ticket.objects.bulk_create(rows)
            Message.objects.bulk_create(
                Message(
                    ticket=ticket,
                    kind=Message.Kind.USER if n % 2 == 0 else Message.Kind.BOT,
                    author_name=ticket.user_name,
                    text=f"Message {n} about {ticket.title}.",
                    created_at=ticket.created_at,
                )
                for ticket in made
                for n in range(messages_per_ticket)
            )
    return {
        "tickets": Ticket.objects.count(),
        "messages": Message.objects.count(),
        "created": True,
        "seconds": round(time.perf_counter() - started, 1),
    }


def probe(repeat: int) -> dict:
    """The inbox's first page in-process: its queries, and the median time to render it."""
    user = agents(1)[0]
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(user)
    reset_queries()
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/")
    assert response.status_code == 200, response.status_code
    # Read them now: the next request's request_started signal empties the log.
    sql = [q["sql"] for q in queries.captured_queries]
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        client.get("/")
        times.append((time.perf_counter() - started) * 1000)
    return {
        "queries": len(sql),
        "sql": sql,
        "ms": statistics.median(times),
        "bytes": len(response.content),
        "session": session_for(user),
    }


# --- the reports dataset ----------------------------------------------------------------

REPORT_BOTS = 5
REPORT_AGENTS = 20
REPORT_DAYS = 365


def report_bots() -> list[Bot]:
    found = []
    for n in range(REPORT_BOTS):
        bot_id = f"report-bot-{n}"
        bot_deploy(
            bot_id=bot_id, api_key=None, name=f"Report Bot {n}",
            csat_message="How would you rate the help you received, from 1 to 5?" if n < 3 else "",
        )
        found.append(bot_set_connected(bot_id=bot_id, connected=True))
    return found


def reports_dataset(tickets: int, messages_per_ticket: int = 3) -> dict:
    """`tickets` tickets over the last year (so 30 days hold about a twelfth of them) of
    five bots and twenty agents, with their transcripts (the customer, the bot, the agent's
    reply), realistic waits, outcomes and ratings, the bots' daily conversation counts;
    then the rollups, built by `rebuild_reports`'s code. Written with bulk_create."""
    call_command("migrate", verbosity=0, interactive=False)
    have = Ticket.objects.count()
    if have == tickets:
        return {"tickets": have, "messages": Message.objects.count(), "created": False}
    if have:
        raise SystemExit(f"{connection.settings_dict['NAME']} has {have} tickets, not {tickets}")
    started = time.perf_counter()
    rng = random.Random(tickets)
    bots = report_bots()
    staff = agents(REPORT_AGENTS)
    admin = agents(REPORT_AGENTS + 1)[-1]
    get_user_model().objects.filter(pk=admin.pk).update(is_staff=True)
    priorities = [Priority.LOW, Priority.MEDIUM, Priority.MEDIUM, Priority.HIGH, Priority.URGENT]
    now = timezone.now()
    spacing = timedelta(days=REPORT_DAYS) / tickets
    batch = 5_000
    escalations: dict[tuple[int, object], int] = {}
    Ticket._meta.get_field("created_at").auto_now_add = False
    with transaction.atomic(), lines_indexed_at_the_end():
        for start in range(0, tickets, batch):
            rows, ratings = [], []
            for i in range(start, min(start + batch, tickets)):
                created = now - spacing * (tickets - i)
                bot = bots[rng.randrange(REPORT_BOTS)]
                priority = rng.choice(priorities)
                recent = now - created < timedelta(hours=2)
                fate = rng.random()
                assigned = replied = closed = None
                assignee, reason = None, ""
                if recent and fate < 0.5:
                    status = Status.PENDING
                elif fate < 0.08:  # nobody claimed it in time
                    status, reason = Status.CLOSED, "unassigned"
                    closed = created + timedelta(minutes=10)
                else:
                    assignee = staff[rng.randrange(REPORT_AGENTS)]
                    assigned = created + timedelta(seconds=rng.lognormvariate(4.5, 1.0))
                    replied = assigned + timedelta(seconds=rng.lognormvariate(3.5, 1.0))
                    closed = replied + timedelta(seconds=rng.lognormvariate(7.0, 1.0))
                    if closed > now:
                        status, closed = Status.ASSIGNED, None
                    else:
                        status = Status.CLOSED
                        reason = "agent" if fate < 0.85 else rng.choice(["cancel", "timeout"])
                rows.append(
                    Ticket(
                        bot=bot,
                        conversation_id=f"conv-{i}",
                        title=f"Question number {i}",
                        priority=priority,
                        priority_rank=PRIORITY_RANK[priority],
                        status=status,
                        user_name=f"User {i}",
                        user_email=f"user{i}@example.com",
                        assignee=assignee,
                        created_at=created,
                        assigned_at=assigned,
                        first_assigned_at=assigned,
                        first_reply_at=replied,
                        closed_at=closed,
                        closed_by=assignee if reason == "agent" else None,
                        close_reason=reason,
                    )
                )
                day = rollups.report_day(created)
                escalations[(bot.pk, day)] = escalations.get((bot.pk, day), 0) + 1
            made = Ticket.objects.bulk_create(rows)
            messages = []
            for ticket in made:
                for n in range(messages_per_ticket):
                    agent_line = n == messages_per_ticket - 1 and ticket.first_reply_at
                    messages.append(
                        Message(
                            ticket=ticket,
                            kind=Message.Kind.AGENT if agent_line else (
                                Message.Kind.USER if n % 2 == 0 else Message.Kind.BOT
                            ),
                            author=ticket.assignee if agent_line else None,
                            author_name=ticket.user_name,
                            text=f"Message {n} about {ticket.title}.",
                            created_at=ticket.first_reply_at if agent_line else ticket.created_at,
                        )
                    )
                if ticket.close_reason == "agent" and ticket.bot.csat_message:
                    rated = rng.random() < 0.6
                    ratings.append(
                        Rating(
                            ticket=ticket,
                            asked_at=ticket.closed_at,
                            score=rng.choice([2, 3, 4, 4, 5, 5]) if rated else None,
                            rated_at=ticket.closed_at + timedelta(minutes=1) if rated else None,
                            updated_at=ticket.closed_at + timedelta(minutes=1) if rated else None,
                        )
                    )
            Message.objects.bulk_create(messages)
            Rating.objects.bulk_create(ratings)
        BotDayStats.objects.bulk_create(
            BotDayStats(bot_id=bot, day=day, conversations=n * 4 + 3, reported_at=now)
            for (bot, day), n in escalations.items()
        )
    generated = time.perf_counter() - started
    built = rollups.rebuild()
    size = sum(
        os.path.getsize(f"{connection.settings_dict['NAME']}{suffix}")
        for suffix in ("", "-wal")
        if os.path.exists(f"{connection.settings_dict['NAME']}{suffix}")
    )
    return {
        "tickets": Ticket.objects.count(),
        "messages": Message.objects.count(),
        "ratings": Rating.objects.count(),
        "rollup_rows": built["rows"],
        "created": True,
        "seconds": round(generated, 1),
        "rebuild_seconds": built["seconds"],
        "mib": round(size / 2**20),
    }


def reports_probe() -> dict:
    """The Reports page (30 days) and the inbox's first page in-process, as an admin:
    their queries, and a session for the HTTP benchmark."""
    admin = agents(REPORT_AGENTS + 1)[-1]
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(admin)
    found = {"session": session_for(admin)}
    for name, path in (("reports", "/reports/?range=30d"), ("inbox", "/")):
        reset_queries()
        with CaptureQueriesContext(connection) as queries:
            response = client.get(path)
        assert response.status_code == 200, (path, response.status_code)
        found[name] = {"queries": len(queries.captured_queries), "bytes": len(response.content)}
    return found


def rollup_cost(requests: int) -> dict:
    """A startHitl and an agent's first reply, in-process (the test client, SQLite), with
    the rollup hook and with it replaced by a no-op, interleaved in blocks so load from
    elsewhere falls on both alike: the median milliseconds of each."""
    from reports import rollups as hook

    call_command("migrate", verbosity=0, interactive=False)
    user = agents(1)[0]
    _, key = api_key_create(name="rollup-cost", workspace_wide=True)
    bot = connected_bot()
    api = Client(HTTP_HOST="127.0.0.1", headers={"Authorization": f"Bearer {key}"})
    desk = Client(HTTP_HOST="127.0.0.1")
    desk.force_login(user)
    off = mock.patch.object(hook, "ticket_changed", lambda *args, **kwargs: None)
    times = {("start", True): [], ("start", False): [], ("reply", True): [],
             ("reply", False): []}
    block = 10
    run = uuid.uuid4().hex[:8]
    for round_ in range(-1, requests // block):  # round -1 warms both paths up
        for with_rollups in (True, False) if round_ % 2 else (False, True):
            if not with_rollups:
                off.start()
            made = []
            for n in range(block):
                body = {"conversationId": f"cost-{run}-{round_}-{with_rollups}-{n}",
                        "title": "Where is my parcel?", "priority": "high",
                        "messageHistory": [{"role": "user", "text": "Hello"}]}
                started = time.perf_counter()
                answer = api.post(f"/api/v1/bots/{bot.bot_id}/startHitl", body,
                                  content_type="application/json")
                elapsed = (time.perf_counter() - started) * 1000
                assert answer.status_code == 201, answer.content
                made.append(answer.json()["number"])
                if round_ >= 0:
                    times[("start", with_rollups)].append(elapsed)
            for number in made:
                desk.post(f"/tickets/{number}/actions/", {"action": "claim", "ticket": number})
            for number in made:
                started = time.perf_counter()
                answer = desk.post(
                    f"/tickets/{number}/actions/",
                    {"action": "reply", "ticket": number, "text": "Let me check that."},
                )
                elapsed = (time.perf_counter() - started) * 1000
                assert answer.status_code == 302, answer.status_code
                if round_ >= 0:
                    times[("reply", with_rollups)].append(elapsed)
            if not with_rollups:
                off.stop()
    return {
        f"{what}_{'on' if on else 'off'}": statistics.median(values)
        for (what, on), values in times.items()
    } | {"requests": len(times[("start", True)])}


def routing_mode(mode: str) -> dict:
    """Set the routing mode (manual, round_robin, least_busy) as an admin would."""
    from desk.assignment import routing_settings
    from desk.models import RoutingSettings

    routing_settings()
    RoutingSettings.objects.filter(pk=1).update(mode=mode)
    return {"mode": mode}


def assignees() -> dict:
    """Each ticket's number → its assignee's username (or "")."""
    return {
        str(number): username or ""
        for number, username in Ticket.objects.values_list("pk", "assignee__username")
    }


def queue_dataset(tickets: int, agent_count: int, capacity: int) -> dict:
    """`tickets` pending tickets of the bench bot (bulk inserted, a mix of priorities),
    least-busy routing, and `agent_count` agents with `capacity` each, none present:
    the queue a team finds when its shift starts."""
    from datetime import timedelta

    from django.utils import timezone

    from desk.models import PRIORITY_RANK, AgentProfile, Presence, Priority

    prepared = prepare(agent_count)
    bot = connected_bot()
    now = timezone.now()
    priorities = list(Priority)
    with transaction.atomic():
        Ticket.objects.bulk_create(
            Ticket(
                bot=bot, conversation_id=f"queue-{i}", title=f"Queued {i}",
                priority=priorities[i % 4], priority_rank=PRIORITY_RANK[priorities[i % 4]],
                user_name=f"User {i}",
            )
            for i in range(tickets)
        )
        Ticket.objects.filter(bot=bot).update(created_at=now - timedelta(minutes=5))
        Presence.objects.all().delete()
        users = agents(agent_count)
        AgentProfile.objects.bulk_create(
            [AgentProfile(agent=u, capacity=capacity) for u in users], ignore_conflicts=True
        )
        AgentProfile.objects.filter(agent__in=users).update(capacity=capacity)
    routing_mode("least_busy")
    return prepared


# --- the search dataset ---------------------------------------------------------------

FIRST_NAMES = (
    "Ada Alex Amara Ana Ben Bea Carla Chen Dara David Elif Emma Femi Finn Gita Hana Hugo Ines "
    "Ivan Jo Jonas Kai Kofi Lara Leo Lina Luca Maya Mei Nadia Noah Omar Priya Rosa Sam Sara "
    "Tariq Uma Vera Wei Yara Zoe"
).split()
_SYLLABLES = (
    "ka lo mi re su ta ne vo ri da fe go hu ja ki le mo nu pa qi ro sa to vu wa ye zo"
).split()
VOCABULARY = (
    "order parcel refund delivery invoice payment card account password login address "
    "shipping return exchange damaged missing late tracking number subscription plan "
    "upgrade cancel charge twice receipt warranty broken screen battery charger size colour "
    "discount coupon code email phone app crash update error page checkout basket stock "
    "please thanks hello help waiting still yesterday today tomorrow week since again "
    "the a to is it my your we you can not have was for with this that when where why how"
).split()


def _surname(n: int) -> str:
    """One of about 2,000 made-up surnames, the same for the same n."""
    rng = random.Random(n)
    return "".join(rng.choice(_SYLLABLES) for _ in range(3)).capitalize()


SURNAMES = [_surname(n) for n in range(2_000)]


def search_customer(i: int) -> tuple[str, str, str]:
    """Ticket i's customer (name, email) and order number: most customers have one
    ticket, some several (the same i // 3 for a third of them)."""
    who = i // 3 if i % 3 == 0 else i
    first, last = FIRST_NAMES[who % len(FIRST_NAMES)], SURNAMES[(who * 7) % len(SURNAMES)]
    return f"{first} {last}", f"{first.lower()}.{last.lower()}{who}@example.com", f"A-{i:07d}"


def search_dataset(tickets: int, messages_per_ticket: int) -> dict:
    """`tickets` tickets of the bench bot with `messages_per_ticket` lines each, for the
    search benchmark: the inbox dataset's mix of statuses (5 % pending, 10 % assigned,
    5 % waiting, 80 % closed) over a year, customers with names, emails and custom
    fields, and transcripts of support words in which each ticket's order number
    appears once. Written with bulk_create (see `lines_indexed_at_the_end`)."""
    call_command("migrate", verbosity=0, interactive=False)
    have = Ticket.objects.count()
    if have == tickets:
        return {"tickets": have, "messages": Message.objects.count(), "created": False}
    if have:
        raise SystemExit(f"{connection.settings_dict['NAME']} has {have} tickets, not {tickets}")
    started = time.perf_counter()
    rng = random.Random(tickets)
    bot = connected_bot()
    staff = agents(20)
    priorities = [Priority.LOW, Priority.MEDIUM, Priority.MEDIUM, Priority.HIGH, Priority.URGENT]
    plans = ["gold", "silver", "basic", "trial"]
    now = timezone.now()
    batch = 5_000
    Ticket._meta.get_field("created_at").auto_now_add = False
    sqlite = connection.vendor == "sqlite"
    with transaction.atomic(), lines_indexed_at_the_end():
        for start in range(0, tickets, batch):
            rows = []
            for i in range(start, min(start + batch, tickets)):
                bucket = i % 20
                status = (
                    Status.PENDING if bucket == 0
                    else Status.ASSIGNED if bucket in (1, 2)
                    else Status.WAITING if bucket == 3
                    else Status.CLOSED
                )
                priority = priorities[i % len(priorities)]
                created = now - timedelta(minutes=(tickets - i) * 5)
                assignee = None if status == Status.PENDING else staff[i % len(staff)]
                name, email, order = search_customer(i)
                rows.append(
                    Ticket(
                        bot=bot,
                        conversation_id=f"conv-{i}",
                        title=f"{rng.choice(VOCABULARY[:40]).capitalize()} about order {order}",
                        priority=priority,
                        priority_rank=PRIORITY_RANK[priority],
                        status=status,
                        user_name=name,
                        user_email=email,
                        user_id=f"u{i // 3 if i % 3 == 0 else i}",
                        custom_fields={"plan": plans[i % 4], "orders": i % 17, "vip": i % 9 == 0},
                        assignee=assignee,
                        created_at=created,
                        assigned_at=created if assignee else None,
                        waiting_started_at=created if status == Status.WAITING else None,
                        closed_at=created + timedelta(minutes=30)
                        if status == Status.CLOSED
                        else None,
                        close_reason="agent" if status == Status.CLOSED else "",
                    )
                )
            made = Ticket.objects.bulk_create(rows)
            lines = []
            for ticket in made:
                order = ticket.title.rsplit(" ", 1)[-1]
                for n in range(messages_per_ticket):
                    words = rng.choices(VOCABULARY, k=rng.randint(6, 18))
                    if n == 0:
                        words.insert(rng.randrange(len(words)), order)
                    lines.append(
                        Message(
                            ticket=ticket,
                            kind=(Message.Kind.USER, Message.Kind.BOT, Message.Kind.AGENT)[n % 3],
                            author_name=ticket.user_name,
                            text=" ".join(words).capitalize() + ".",
                            created_at=ticket.created_at,
                        )
                    )
            Message.objects.bulk_create(lines, batch_size=10_000)
        generated = time.perf_counter() - started
    size = sum(
        os.path.getsize(f"{connection.settings_dict['NAME']}{suffix}")
        for suffix in ("", "-wal")
        if sqlite and os.path.exists(f"{connection.settings_dict['NAME']}{suffix}")
    )
    return {
        "tickets": Ticket.objects.count(),
        "messages": Message.objects.count(),
        "created": True,
        "seconds": round(generated, 1),
        "index_seconds": round(time.perf_counter() - started - generated, 1),
        "mib": round(size / 2**20),
    }


# The row the searches look for: an assigned ticket (i % 20 == 1), so in the default
# (open) list, of the inbox and search datasets alike.
def _probe_row(tickets: int) -> int:
    return tickets // 2 + 21


def reports_probe_row() -> int:
    """The oldest open ticket of the reports dataset, or the last one if none is open
    (its numbers are its conversation's: `conv-N`, "Question number N", "User N",
    "userN@example.com")."""
    conversations = Ticket.objects.values_list("conversation_id", flat=True)
    conversation = (
        conversations.exclude(status=Status.CLOSED).order_by("id").first()
        or conversations.order_by("-id").first()
    )
    return int(conversation.removeprefix("conv-"))


def search_queries(dataset: str, tickets: int) -> dict[str, str]:
    """What agents search for: an order number, a customer's email, their name, and a
    word found in most tickets. On the search dataset also a surname with a word of the
    conversation; on the inbox dataset (uniform text: "Question number 50021", "User
    50021", "user50021@example.com"), each is a rare word beside words every ticket has."""
    i = reports_probe_row() if dataset == "reports" else _probe_row(tickets)
    if dataset in ("inbox", "reports"):
        return {
            "order number": f"number {i}",
            "email": f"user{i}@example.com",
            "name": f"User {i}",
            "common word": "question",
        }
    name, email, order = search_customer(i)
    return {
        "order number": order,
        "email": email,
        "name": name,
        "surname and word": f"{name.split()[1]} order",
        "common word": "refund",
    }


def search_probe(dataset: str, tickets: int) -> dict:
    """Each search's queries and matches in-process, and a session for the benchmark."""
    user = agents(REPORT_AGENTS + 1)[-1] if dataset == "reports" else agents(1)[0]
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(user)
    found = {"session": session_for(user), "searches": {}}
    for name, q in {"": "", **search_queries(dataset, tickets)}.items():
        with CaptureQueriesContext(connection) as queries:
            response = client.get("/", {"q": q} if q else {})
        assert response.status_code == 200, (q, response.status_code)
        from desk.selectors import InboxFilter, inbox_tickets

        found["searches"][name] = {
            "q": q,
            "queries": len(queries.captured_queries),
            "matches": InboxFilter(q=q).apply(inbox_tickets(), user).count(),
        }
    return found


def transcript_dataset(lengths: list[int]) -> dict:
    """One ticket per length, with that many transcript lines (customer, bot and agent
    lines in turn; bulk inserted), and an agent's session to open them."""
    call_command("migrate", verbosity=0, interactive=False)
    bot = connected_bot()
    (agent,) = agents(1)
    now = timezone.now()
    numbers = []
    kinds = [Message.Kind.USER, Message.Kind.BOT, Message.Kind.AGENT]
    for length in lengths:
        ticket = Ticket.objects.create(
            bot=bot,
            conversation_id=f"transcript-{length}-{uuid.uuid4().hex[:6]}",
            title=f"A conversation of {length} lines",
            status=Status.ASSIGNED,
            assignee=agent,
            user_name="Long Talker",
            priority=Priority.MEDIUM,
            priority_rank=PRIORITY_RANK[Priority.MEDIUM],
        )
        Message.objects.bulk_create(
            Message(
                ticket=ticket,
                kind=kinds[i % 3],
                author=agent if kinds[i % 3] == Message.Kind.AGENT else None,
                author_name="Agent" if kinds[i % 3] == Message.Kind.AGENT else "",
                text=f"Line {i}: where is my parcel? It was due on Tuesday and the "
                "tracking page has not moved since.",
                created_at=now - timedelta(seconds=length - i),
            )
            for i in range(length)
        )
        numbers.append(ticket.pk)
    return {"tickets": numbers, "session": session_for(agent)}


def main() -> None:
    command = sys.argv[1]
    args = dict(zip(sys.argv[2::2], sys.argv[3::2], strict=False))
    if command == "prepare":
        languages = [x for x in args.get("--languages", "").split(",") if x]
        result = prepare(int(args.get("--agents", "1")), languages)
    elif command == "inbox":
        result = inbox_dataset(int(args["--tickets"]))
    elif command == "probe":
        result = probe(int(args.get("--repeat", "10")))
    elif command == "reports":
        result = reports_dataset(int(args["--tickets"]))
    elif command == "reports-probe":
        result = reports_probe()
    elif command == "routing-mode":
        result = routing_mode(args["--mode"])
    elif command == "assignees":
        result = assignees()
    elif command == "queue":
        result = queue_dataset(
            int(args["--tickets"]), int(args["--agents"]), int(args["--capacity"])
        )
    elif command == "search":
        result = search_dataset(int(args["--tickets"]), int(args.get("--messages", "10")))
    elif command == "search-probe":
        result = search_probe(args.get("--dataset", "search"), int(args["--tickets"]))
    elif command == "transcript":
        result = transcript_dataset([int(n) for n in args["--lengths"].split(",")])
    elif command == "rollup-cost":
        result = rollup_cost(int(args.get("--requests", "200")))
    else:
        raise SystemExit(f"unknown command {command!r}")
    json.dump(result, sys.stdout)


if __name__ == "__main__":
    main()
