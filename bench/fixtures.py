"""Data for the benchmarks, made in a child process against one SQLite file.

    python bench/fixtures.py prepare --agents N          # users, sessions, key, connected bot
    python bench/fixtures.py inbox --tickets N           # the inbox dataset (bulk_create)
    python bench/fixtures.py probe --repeat N            # inbox queries and in-process time

The database is chosen by SQLITE_PATH (or DATABASE_URL) in the environment; each
command prints one JSON object on stdout for bench/run.py.
"""

import json
import os
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

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
from desk.models import PRIORITY_RANK, Message, Priority, Status, Ticket  # noqa: E402

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


def prepare(agent_count: int) -> dict:
    call_command("migrate", verbosity=0, interactive=False)
    with transaction.atomic():
        users = agents(agent_count)
        sessions = [session_for(user) for user in users]
        _, key = api_key_create(name="bench", workspace_wide=True)
        connected_bot()
    return {"sessions": sessions, "api_key": key, "bot_id": BOT_ID}


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
    with transaction.atomic():
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


def main() -> None:
    command = sys.argv[1]
    args = dict(zip(sys.argv[2::2], sys.argv[3::2], strict=False))
    if command == "prepare":
        result = prepare(int(args.get("--agents", "1")))
    elif command == "inbox":
        result = inbox_dataset(int(args["--tickets"]))
    elif command == "probe":
        result = probe(int(args.get("--repeat", "10")))
    else:
        raise SystemExit(f"unknown command {command!r}")
    json.dump(result, sys.stdout)


if __name__ == "__main__":
    main()
