"""Desk scaled out for real: two server processes and two delivery workers on PostgreSQL and Redis.

One set of processes per test module (they take a few seconds to start):
a fresh PostgreSQL database `desk_scaled_<pid>` (dropped afterwards), a Redis
database number of its own (flushed before and after, nothing else touched),
`manage.py migrate`, then servers A and B (`manage.py serve`, DESK_EMBEDDED_WORKER
off) and two `manage.py db_worker` processes competing for the one queue. Outside CI
the tests skip, saying why, when PostgreSQL or Redis does not answer; under CI
(CI=true) that fails the run.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest
from processes import (
    AgentSocket,
    BotSide,
    DeskProcess,
    DeskServer,
    WebhookReceiver,
    create_agents,
    desk_env,
    log_in,
    manage,
)

POSTGRES = os.environ.get("DESK_TEST_POSTGRES", "postgres://postgres@127.0.0.1:5432/postgres")
REDIS_HOST, REDIS_PORT = "127.0.0.1", 6379


def _redis_db() -> int:
    """A Redis database number of this run's own (1-14: 0 is everyone's default, and other
    tests use 15), so a flush never touches anyone else's keys. Under pytest-xdist the
    workers of one run (children of one process) each take a different one."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    if worker.startswith("gw"):
        return 1 + (os.getppid() + int(worker[2:])) % 14
    return 1 + os.getpid() % 14


REDIS_DB = _redis_db()

AGENT = ("maya", "maya-pw-7q2v!", "Maya", "Lopez")  # username, password, first, last
BOT_ID = "scaled-bot"
AGENT_ASSIGNED = "You're now talking to {agentName}."
SESSION_ENDED = "The agent closed the chat."


def require(condition: bool, reason: str) -> None:
    if not condition:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{reason} (CI must not skip the scaled-out tests)")
        pytest.skip(reason)


def postgres_answers() -> bool:
    import psycopg

    try:
        psycopg.connect(POSTGRES, connect_timeout=3).close()
        return True
    except psycopg.Error:
        return False


def redis_client():
    import redis

    client = redis.Redis(host=REDIS_HOST, port=REDIS_PORT, db=REDIS_DB, socket_timeout=3)
    try:
        client.ping()
    except redis.RedisError:
        return None
    return client


def admin_sql(sql: str) -> None:
    import psycopg

    with psycopg.connect(POSTGRES, autocommit=True) as conn:
        conn.execute(sql)


class Cluster:
    """Everything a scaled-out test talks to."""

    def __init__(self, *, env, database_url, a, b, workers, bot, webhook, agent) -> None:
        self.env, self.database_url = env, database_url
        self.a: DeskServer = a
        self.b: DeskServer = b
        self.workers: list[DeskProcess] = workers
        self.bot: BotSide = bot
        self.webhook: WebhookReceiver = webhook  # the bot's webhook endpoint
        self.agent = agent  # (username, password, first, last)
        self._session_id: str | None = None

    @property
    def session_id(self) -> str:
        """The agent's session cookie, from logging in once on A (sessions live in the
        database, so it opens pages and websockets on every server)."""
        if self._session_id is None:
            username, password, *_ = self.agent
            client = log_in(self.a.url, username, password)
            self._session_id = client.cookies["sessionid"]
            client.close()
        return self._session_id

    def agent_socket(self, server: DeskServer, query: str) -> AgentSocket:
        return AgentSocket(server, self.session_id, query)

    def sql(self, query: str, *params) -> list[tuple]:
        """Read the database directly: the truth about what was stored."""
        import psycopg

        with psycopg.connect(self.database_url) as conn:
            return conn.execute(query, params).fetchall()

    def group_size(self, group: str) -> int:
        """How many channels the Redis channel layer holds in `group` (channels_redis keeps
        each group as a sorted set under "asgi:group:NAME")."""
        client = redis_client()
        assert client is not None, "Redis went away"
        with closing(client):
            return client.zcard(f"asgi:group:{group}")

    def ensure_running(self) -> None:
        """Bring back a server that a test killed, on its own port."""
        for server in (self.a, self.b):
            if not server.running:
                server.start()


@pytest.fixture(scope="module")
def cluster(tmp_path_factory) -> Iterator[Cluster]:
    require(postgres_answers(), f"PostgreSQL does not answer at {POSTGRES}")
    redis = redis_client()
    require(redis is not None, f"Redis does not answer at {REDIS_HOST}:{REDIS_PORT}")

    var = tmp_path_factory.mktemp("desk-scaled")
    name = f"desk_scaled_{os.getpid()}"
    database_url = POSTGRES.rsplit("/", 1)[0] + f"/{name}"
    admin_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin_sql(f'CREATE DATABASE "{name}"')
    redis.flushdb()
    env = desk_env(
        DATABASE_URL=database_url,
        REDIS_URL=f"redis://{REDIS_HOST}:{REDIS_PORT}/{REDIS_DB}",
        DESK_EMBEDDED_WORKER="false",
        DESK_VAR_DIR=str(var),
    )
    processes: list[DeskProcess] = []
    webhook = WebhookReceiver()
    try:
        manage(env, "migrate", "--noinput")
        username, password, first, last = AGENT
        create_agents(env, {username: (password, first, last, False)})
        key = manage(env, "create_api_key", "scaled-out tests").strip()
        a, b = DeskServer("server-a", env, var), DeskServer("server-b", env, var)
        workers = [
            DeskProcess(
                f"worker-{n}",
                ["db_worker", "--queue-name", "*", "--interval", "0.2", "--no-reload",
                 "--no-startup-delay", "--worker-id", f"scaled-{os.getpid()}-{n}"],
                env, var,
            )
            for n in (1, 2)
        ]
        processes = [a, b, *workers]
        for process in processes:
            process.start()
        bot = BotSide(a.url, key, BOT_ID)
        bot.deploy(
            name="Scaled Bot", webhookUrl=webhook.url, agentAssignedMessage=AGENT_ASSIGNED,
            sessionEndedMessage=SESSION_ENDED,
        )
        manage(env, "connect_bot", BOT_ID)
        yield Cluster(env=env, database_url=database_url, a=a, b=b, workers=workers, bot=bot,
                      webhook=webhook, agent=AGENT)
    finally:
        for process in processes:
            process.stop()
        webhook.close()
        if keep := os.environ.get("DESK_KEEP_LOGS"):
            shutil.copytree(var, Path(keep) / var.name, dirs_exist_ok=True)
        admin_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        redis.flushdb()
