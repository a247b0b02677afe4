"""`make bench`: Desk's benchmarks, each against a baseline measured in the same run.

    python bench/run.py [--only 2,3] [--no-docs]
    python bench/run.py --large      # Reports at 1M tickets, search at 1M lines (make bench-large)
    python bench/run.py --large --only 3 --no-docs   # just the inbox and its searches at 1M

Every benchmark starts real daphne processes (bench.baseline_asgi: Desk plus the
/bench/ baseline routes, DEBUG off, a SQLite file under var/bench/) on free local
ports and drives them from this process with asyncio clients. Every loop is bounded
in count and time. The table is printed, saved to var/bench/results.json, and
written into docs/perf.md with a plot (docs/perf.png).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import sqlite3
import subprocess
import sys
import time
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx  # noqa: E402

from bench import wsclient  # noqa: E402
from bench.measure import http_load, median, percentile  # noqa: E402
from bench.server import VAR, Server, bench_env, fixtures  # noqa: E402


@dataclass
class Row:
    bench: str  # "1".."5"
    name: str
    desk: float
    baseline: float | None
    unit: str
    ratio: float | None  # desk / baseline (or desk / the 1k figure for the inbox)
    target: str
    met: bool | None  # None: no target
    note: str = ""


def fresh_database(name: str) -> Path:
    VAR.mkdir(parents=True, exist_ok=True)
    path = VAR / f"{name}.sqlite3"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    return path


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# --- 2. startHitl throughput ------------------------------------------------------------

HITL_CLIENTS = 32
HITL_SECONDS = 5.0
HITL_MAX_REQUESTS = 4_000
HITL_ROUNDS = 2  # alternate baseline and Desk, take medians


def start_hitl_body(run: str) -> callable:
    priorities = ["low", "medium", "high", "urgent"]

    def body(i: int) -> bytes:
        return json.dumps(
            {
                "conversationId": f"{run}-{i}",
                "title": f"Help with order {i}",
                "priority": priorities[i % 4],
                "userName": f"User {i}",
                "userEmail": f"user{i}@example.com",
                "messageHistory": [
                    {"role": "user", "text": "My parcel has not arrived."},
                    {"role": "bot", "text": "Let me find a person to help you."},
                ],
            }
        ).encode()

    return body


async def bench_start_hitl() -> list[Row]:
    database = fresh_database("start-hitl")
    env = bench_env(database)
    setup = fixtures(env, "prepare", "--agents", "1")
    api = f"/api/v1/bots/{setup['bot_id']}/startHitl"
    auth = {"Authorization": f"Bearer {setup['api_key']}", "Content-Type": "application/json"}
    plain = {"Content-Type": "application/json"}
    desk_runs, base_runs = [], []
    with Server(env, "start-hitl") as server:

        async def run(path: str, headers: dict, seconds: float, tag: str):
            return await http_load(
                server.url + path,
                start_hitl_body(f"{tag}-{uuid.uuid4().hex[:8]}"),
                headers=headers,
                clients=HITL_CLIENTS,
                seconds=seconds,
                max_requests=HITL_MAX_REQUESTS,
            )

        await run("/bench/json/", plain, 1.0, "warm")
        await run(api, auth, 1.0, "warm")
        for _ in range(HITL_ROUNDS):
            base_runs.append(await run("/bench/json/", plain, HITL_SECONDS, "base"))
            desk_runs.append(await run(api, auth, HITL_SECONDS, "desk"))
    for result in desk_runs:
        bad = {s: n for s, n in result.statuses.items() if s != 201}
        if bad:
            raise RuntimeError(f"startHitl answered {bad}: see {VAR / 'start-hitl.log'}")
    desk_rps = median([r.rps for r in desk_runs])
    base_rps = median([r.rps for r in base_runs])
    desk_p99 = median([r.p99 for r in desk_runs])
    base_p99 = median([r.p99 for r in base_runs])
    share = desk_rps / base_rps
    return [
        Row(
            "2",
            "startHitl throughput, 32 clients",
            desk_rps,
            base_rps,
            "req/s",
            share,
            "≥ 60 %",
            share >= 0.60,
            "baseline: trivial JSON view",
        ),
        Row(
            "2",
            "startHitl p99, 32 clients",
            desk_p99,
            base_p99,
            "ms",
            desk_p99 / base_p99,
            "",
            None,
        ),
    ]


# The scaled-out mode (docs/deploy.md): PostgreSQL, Redis, several server processes.
BENCH_POSTGRES = "postgres://postgres@127.0.0.1:5432"
BENCH_PG_DATABASE = "desk_bench"
BENCH_REDIS = "redis://127.0.0.1:6379/12"
SCALED_PROCESSES = 2


def scaled_out_env() -> dict[str, str] | None:
    """A fresh PostgreSQL database and the Redis layer, as docs/deploy.md sets them up
    (persistent connections: DB_CONN_MAX_AGE=60); None when either is not running."""
    try:
        import psycopg
        import redis

        with psycopg.connect(f"{BENCH_POSTGRES}/postgres", autocommit=True) as db:
            db.execute(f'DROP DATABASE IF EXISTS "{BENCH_PG_DATABASE}" WITH (FORCE)')
            db.execute(f'CREATE DATABASE "{BENCH_PG_DATABASE}"')
        redis.Redis.from_url(BENCH_REDIS).flushdb()
    except Exception as error:  # noqa: BLE001 - any reason means "not here"
        log(f"  scaled-out mode not measured: {error}")
        return None
    return bench_env(
        VAR / "unused.sqlite3",
        DATABASE_URL=f"{BENCH_POSTGRES}/{BENCH_PG_DATABASE}",
        REDIS_URL=BENCH_REDIS,
        DB_CONN_MAX_AGE="0",
    )


async def bench_start_hitl_scaled() -> list[Row]:
    """Benchmark 2 in the scaled-out mode: two server processes on one PostgreSQL
    database and the Redis layer, the clients shared out between them; the baseline is
    the trivial JSON view on the same two processes, rounds alternating."""
    env = scaled_out_env()
    if env is None:
        return []
    setup = fixtures(env, "prepare", "--agents", "1")
    api = f"/api/v1/bots/{setup['bot_id']}/startHitl"
    auth = {"Authorization": f"Bearer {setup['api_key']}", "Content-Type": "application/json"}
    plain = {"Content-Type": "application/json"}
    desk_runs, base_runs = [], []
    with contextlib.ExitStack() as stack:
        servers = [
            stack.enter_context(Server(env, f"start-hitl-pg-{n}")) for n in range(SCALED_PROCESSES)
        ]

        async def run(path: str, headers: dict, seconds: float, tag: str):
            return await http_load(
                [server.url + path for server in servers],
                start_hitl_body(f"{tag}-{uuid.uuid4().hex[:8]}"),
                headers=headers,
                clients=HITL_CLIENTS,
                seconds=seconds,
                max_requests=HITL_MAX_REQUESTS,
            )

        await run("/bench/json/", plain, 1.0, "warm")
        await run(api, auth, 1.0, "warm")
        for _ in range(HITL_ROUNDS):
            base_runs.append(await run("/bench/json/", plain, HITL_SECONDS, "base"))
            desk_runs.append(await run(api, auth, HITL_SECONDS, "desk"))
    for result in desk_runs:
        bad = {s: n for s, n in result.statuses.items() if s != 201}
        if bad:
            raise RuntimeError(f"startHitl answered {bad}: see {VAR / 'start-hitl-pg-0.log'}")
    desk_rps = median([r.rps for r in desk_runs])
    base_rps = median([r.rps for r in base_runs])
    share = desk_rps / base_rps
    desk_p99 = median([r.p99 for r in desk_runs])
    base_p99 = median([r.p99 for r in base_runs])
    return [
        Row(
            "2",
            f"startHitl throughput, PostgreSQL, {SCALED_PROCESSES} processes",
            desk_rps,
            base_rps,
            "req/s",
            share,
            "≥ 60 %",
            share >= 0.60,
            f"baseline: trivial JSON view on the same processes; p99 {desk_p99:,.0f} "
            f"vs {base_p99:,.0f} ms",
        )
    ]


# --- 3. inbox at scale --------------------------------------------------------------------

INBOX_SIZES = (1_000, 10_000, 100_000)
INBOX_REQUESTS = 30
INBOX_SECONDS = 20.0


def inbox_database(tickets: int) -> Path:
    """The dataset, made once and reused while it is complete (a marker file says so)."""
    VAR.mkdir(parents=True, exist_ok=True)
    path = VAR / f"inbox-{tickets}.sqlite3"
    marker = Path(f"{path}.complete")
    if not marker.exists():
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
    made = fixtures(bench_env(path), "inbox", "--tickets", str(tickets))
    if made.get("created"):
        log(f"  made {made['tickets']} tickets, {made['messages']} messages in {made['seconds']} s")
    marker.touch()
    return path


async def bench_inbox() -> list[Row]:
    """One server per dataset, all up at once; requests go round the sizes in turn, so
    load from elsewhere on the machine falls on every size alike."""
    figures: dict[int, dict] = {}
    probes, envs = {}, {}
    for tickets in INBOX_SIZES:
        envs[tickets] = bench_env(inbox_database(tickets))
        probes[tickets] = fixtures(envs[tickets], "probe", "--repeat", "3")
    with contextlib.ExitStack() as stack:
        servers = {t: stack.enter_context(Server(envs[t], f"inbox-{t}")) for t in INBOX_SIZES}
        times: dict[int, list[float]] = {t: [] for t in INBOX_SIZES}
        async with httpx.AsyncClient(timeout=30) as client:

            async def get(tickets: int) -> float:
                started = time.perf_counter()
                response = await client.get(
                    servers[tickets].url + "/", cookies={"sessionid": probes[tickets]["session"]}
                )
                assert response.status_code == 200, response.status_code
                return (time.perf_counter() - started) * 1000

            for tickets in INBOX_SIZES:  # warm up: connections, templates, caches
                for _ in range(3):
                    await get(tickets)
            deadline = time.perf_counter() + INBOX_SECONDS
            for _ in range(INBOX_REQUESTS):
                if time.perf_counter() > deadline:
                    break
                for tickets in INBOX_SIZES:
                    times[tickets].append(await get(tickets))
    for tickets in INBOX_SIZES:
        probe = probes[tickets]
        figures[tickets] = {
            "ms": median(times[tickets]),
            "p90": percentile(times[tickets], 90),
            "queries": probe["queries"],
            "sql": probe["sql"],
        }
        log(f"  inbox {tickets}: {figures[tickets]['ms']:.1f} ms, {probe['queries']} queries")
    (VAR / "inbox-queries.json").write_text(json.dumps(figures, indent=2))
    small = figures[INBOX_SIZES[0]]
    rows = []
    for tickets in INBOX_SIZES:
        fig = figures[tickets]
        ratio = fig["ms"] / small["ms"]
        last = tickets == INBOX_SIZES[-1]
        rows.append(
            Row(
                "3",
                f"inbox first page, {tickets // 1000}k tickets",
                fig["ms"],
                small["ms"],
                "ms",
                ratio,
                "≤ 2× the 1k time" if last else "",
                (ratio <= 2.0) if last else None,
                f"{fig['queries']} queries",
            )
        )
    counts = {figures[t]["queries"] for t in INBOX_SIZES}
    rows.append(
        Row(
            "3",
            "inbox queries at 1k / 10k / 100k",
            figures[INBOX_SIZES[-1]]["queries"],
            small["queries"],
            "queries",
            None,
            "same at every size",
            len(counts) == 1,
            " / ".join(str(figures[t]["queries"]) for t in INBOX_SIZES),
        )
    )
    return rows


# --- 1. relay latency --------------------------------------------------------------------

RELAY_TICKETS = 200
RELAY_AGENTS = 100
RELAY_ROUNDS = 3  # each round: one message to every ticket; alternating Desk and baseline
RELAY_PARALLEL = 4  # the bot's concurrent requests
RELAY_TIMEOUT = 30.0


async def relay_round(
    server: Server, sockets: list, posts: list[tuple[str, dict, dict]], first_token: int
) -> list[float]:
    """POST every message (RELAY_PARALLEL at a time); ms from each POST to its frame."""
    limits = httpx.Limits(max_connections=RELAY_PARALLEL)
    sent: dict[int, float] = {}
    gate = asyncio.Semaphore(RELAY_PARALLEL)
    async with httpx.AsyncClient(base_url=server.url, limits=limits, timeout=30) as client:

        async def post(n: int, path: str, body: dict, headers: dict) -> None:
            async with gate:
                sent[n] = time.perf_counter()
                response = await client.post(path, json=body, headers=headers)
                if response.status_code >= 300:
                    raise RuntimeError(
                        f"{path} answered {response.status_code}: {response.text[:200]}"
                    )

        await asyncio.wait_for(
            asyncio.gather(
                *(
                    post(first_token + i, path, body, headers)
                    for i, (path, body, headers) in enumerate(posts)
                )
            ),
            RELAY_TIMEOUT,
        )
    deadline = time.perf_counter() + 5
    latencies = []
    for i, sock in enumerate(sockets):
        n = first_token + i
        while n not in sock.seen and time.perf_counter() < deadline:
            await asyncio.sleep(0.01)
        if n in sock.seen:
            latencies.append((sock.seen[n] - sent[n]) * 1000)
    missing = len(sockets) - len(latencies)
    if missing:
        raise RuntimeError(f"{missing} of {len(sockets)} frames never arrived")
    return latencies


async def bench_relay() -> list[Row]:
    database = fresh_database("relay")
    env = bench_env(database)
    setup = fixtures(env, "prepare", "--agents", str(RELAY_AGENTS))
    bot = setup["bot_id"]
    auth = {"Authorization": f"Bearer {setup['api_key']}"}
    desk_ms: list[float] = []
    base_ms: list[float] = []
    with Server(env, "relay") as server:
        async with httpx.AsyncClient(base_url=server.url, headers=auth, timeout=30) as client:
            numbers = []
            for i in range(RELAY_TICKETS):
                response = await client.post(
                    f"/api/v1/bots/{bot}/startHitl",
                    json={
                        "conversationId": f"relay-{i}",
                        "title": f"Relay {i}",
                        "userName": "U",
                    },
                )
                assert response.status_code == 201, response.text
                numbers.append(response.json()["number"])
        sessions = setup["sessions"]
        desk_sockets = await wsclient.connect_many(
            server.port,
            [
                (f"/ws/desk/?ticket={number}&after=0", sessions[i % len(sessions)])
                for i, number in enumerate(numbers)
            ],
        )
        base_sockets = await wsclient.connect_many(
            server.port,
            [(f"/bench/ws/relay/t{i}/", sessions[i % len(sessions)]) for i in range(RELAY_TICKETS)],
        )
        await asyncio.sleep(1.0)  # let the join and presence frames settle
        token = 1
        for round_ in range(RELAY_ROUNDS + 1):  # round 0 warms both paths up
            desk_posts = [
                (
                    f"/api/v1/bots/{bot}/conversations/relay-{i}/messages",
                    {
                        "text": f"Where is my parcel? {wsclient.token(token + i)}",
                        "messageId": f"m-{round_}-{i}",
                    },
                    auth,
                )
                for i in range(RELAY_TICKETS)
            ]
            got = await relay_round(server, desk_sockets, desk_posts, token)
            token += RELAY_TICKETS
            if round_:
                desk_ms += got
            base_posts = [
                (
                    f"/bench/relay/t{i}/",
                    {"text": f"Where is my parcel? {wsclient.token(token + i)}"},
                    {},
                )
                for i in range(RELAY_TICKETS)
            ]
            got = await relay_round(server, base_sockets, base_posts, token)
            token += RELAY_TICKETS
            if round_:
                base_ms += got
        for sock in desk_sockets + base_sockets:
            sock.close()
    p50, p99 = percentile(desk_ms, 50), percentile(desk_ms, 99)
    b50, b99 = percentile(base_ms, 50), percentile(base_ms, 99)
    note = f"{len(desk_ms)} messages, {RELAY_PARALLEL} concurrent POSTs"
    return [
        Row(
            "1",
            "relay latency p50, POST to frame",
            p50,
            b50,
            "ms",
            p50 / b50,
            "≤ 1.5×",
            p50 / b50 <= 1.5,
            note,
        ),
        Row(
            "1",
            "relay latency p99, POST to frame",
            p99,
            b99,
            "ms",
            p99 / b99,
            "≤ 2×",
            p99 / b99 <= 2.0,
            "baseline: view that group_sends to a bare consumer",
        ),
    ]


# --- 8. routing: a new ticket reaches its agent; a shift drains the queue ---------------

ROUTING_AGENTS = 50
ROUTING_ESCALATIONS = 30
DRAIN_TICKETS = 1_000
DRAIN_AGENTS = 20


async def _escalate_and_time(
    client: httpx.AsyncClient, server: Server, setup: dict, n: int
) -> tuple[int, float]:
    started = time.perf_counter()
    response = await client.post(
        f"{server.url}/api/v1/bots/{setup['bot_id']}/startHitl",
        headers={"Authorization": f"Bearer {setup['api_key']}"},
        json={"conversationId": f"route-{n}", "title": f"Routed {wsclient.token(n)}",
              "userName": "U"},
    )
    assert response.status_code == 201, response.text
    return response.json()["number"], started


async def _seen(socket, n: int, timeout: float = 10) -> float:
    deadline = time.perf_counter() + timeout
    while n not in socket.seen:
        if time.perf_counter() > deadline:
            raise RuntimeError(f"token {n} never reached the socket")
        await asyncio.sleep(0.002)
    return socket.seen[n]


async def bench_routing() -> list[Row]:
    """(a) startHitl → the assigned agent's inbox socket shows the ticket, with 50 agents
    online and least-busy routing, against startHitl → an inbox socket with manual
    routing (the same server and sockets). (b) 1,000 queued tickets and 20 agents with
    room for all of them: the time from their tabs connecting to the queue being empty
    (a `db_worker` drains what the requests leave), against 1,000 trivial view requests."""
    env = bench_env(fresh_database("routing"))
    setup = fixtures(env, "prepare", "--agents", str(ROUTING_AGENTS))
    routed, manual = [], []
    with Server(env, "routing") as server:
        sockets = await wsclient.connect_many(
            server.port, [("/ws/desk/?inbox=1", s) for s in setup["sessions"]]
        )
        await asyncio.sleep(1.0)
        async with httpx.AsyncClient(timeout=30) as client:
            n = 1
            for mode, into in (("manual", manual), ("least_busy", routed), ("manual", manual),
                               ("least_busy", routed)):
                fixtures(env, "routing-mode", "--mode", mode)
                sent = []
                for _ in range(ROUTING_ESCALATIONS // 2):
                    number, started = await _escalate_and_time(client, server, setup, n)
                    sent.append((n, number, started))
                    await _seen(sockets[0], n)  # every tab shows the new row
                    n += 1
                owners = fixtures(env, "assignees")
                for token, number, started in sent:
                    owner = owners[str(number)]
                    if mode == "manual":
                        assert owner == "", owner
                        into.append((sockets[0].seen[token] - started) * 1000)
                    else:
                        socket = sockets[int(owner.removeprefix("agent"))]
                        into.append((await _seen(socket, token) - started) * 1000)
        for sock in sockets:
            sock.close()
    p50, b50 = median(routed), median(manual)

    env = bench_env(fresh_database("drain"))
    setup = fixtures(
        env, "queue", "--tickets", str(DRAIN_TICKETS), "--agents", str(DRAIN_AGENTS),
        "--capacity", str(DRAIN_TICKETS // DRAIN_AGENTS),
    )
    database = env["SQLITE_PATH"]
    worker = subprocess.Popen(
        [sys.executable, "manage.py", "db_worker", "--queue-name", "default",
         "--interval", "0.1", "--no-reload", "--no-startup-delay"],
        cwd=Path(__file__).resolve().parent.parent, env=env,
        stdout=subprocess.DEVNULL, stderr=(VAR / "drain-worker.log").open("w"),
    )
    try:
        with Server(env, "drain") as server:
            async with httpx.AsyncClient(timeout=30) as client:
                base_started = time.perf_counter()
                for _ in range(DRAIN_TICKETS):
                    await client.get(f"{server.url}/bench/json/")
                base_s = time.perf_counter() - base_started
            started = time.perf_counter()
            sockets = await wsclient.connect_many(
                server.port, [("/ws/desk/?inbox=1", s) for s in setup["sessions"]]
            )
            drain_s = None
            while time.perf_counter() - started < 300:
                with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as db:
                    left = db.execute(
                        "SELECT count(*) FROM desk_ticket WHERE status = 'pending'"
                    ).fetchone()[0]
                if not left:
                    drain_s = time.perf_counter() - started
                    break
                await asyncio.sleep(0.05)
            for sock in sockets:
                sock.close()
    finally:
        worker.terminate()
        worker.wait(10)
    if drain_s is None:
        raise RuntimeError(f"the queue did not drain in 300 s: see {VAR / 'drain-worker.log'}")
    return [
        Row("8", "startHitl → assigned agent's socket, 50 agents", p50, b50, "ms", p50 / b50,
            "", None, f"median of {len(routed)}; baseline: startHitl → inbox, manual routing"),
        Row("8", f"drain {DRAIN_TICKETS:,} queued tickets, {DRAIN_AGENTS} agents arrive",
            drain_s * 1000, base_s * 1000, "ms", drain_s / base_s, "", None,
            f"baseline: {DRAIN_TICKETS:,} trivial view requests in a row"),
    ]


# --- 4. fan-out and 5. memory per idle socket ----------------------------------------------

FANOUT_SOCKETS = 1_000
FANOUT_AGENTS = 100
FANOUT_BROADCASTS = 5
# The languages the fan-out's agents read, in turn (`--languages`; none chosen: all the
# browser's default, one locale). Each broadcast renders once per locale present.
FANOUT_LANGUAGES: list[str] = []


class FanoutTarget:
    """Fresh servers (one, or several on PostgreSQL and Redis) with `sockets` idle
    sockets shared out among them: Desk's inbox tabs, or bare ones."""

    def __init__(self, desk: bool, env: dict[str, str] | None = None) -> None:
        self.desk = desk
        self.name = "desk" if desk else "baseline"
        self.env = env or bench_env(fresh_database(f"fanout-{self.name}"))
        languages = ["--languages", ",".join(FANOUT_LANGUAGES)] if desk and FANOUT_LANGUAGES else []
        self.setup = fixtures(self.env, "prepare", "--agents", str(FANOUT_AGENTS), *languages)
        self.path = "/ws/desk/?inbox=1" if desk else f"/bench/ws/relay/all-{uuid.uuid4().hex[:6]}/"
        self.frame_size = 0
        self.p99s: list[float] = []
        self.spreads: list[float] = []

    async def broadcast(self, client: httpx.AsyncClient, server: Server, n: int) -> float:
        started = time.perf_counter()
        if self.desk:
            response = await client.post(
                f"{server.url}/api/v1/bots/{self.setup['bot_id']}/startHitl",
                headers={"Authorization": f"Bearer {self.setup['api_key']}"},
                json={
                    "conversationId": f"fan-{uuid.uuid4().hex[:8]}-{n}",
                    "title": f"Fan-out {wsclient.token(n)}",
                    "userName": "U",
                    "priority": "high",
                },
            )
        else:
            text = f"{wsclient.token(n)} ".ljust(self.frame_size, ".")
            group = self.path.rstrip("/").rsplit("/", 1)[1]
            response = await client.post(f"{server.url}/bench/relay/{group}/", json={"text": text})
        assert response.status_code == 201, response.text
        return started


async def bench_fanout(
    sockets_total: int = FANOUT_SOCKETS, processes: int = 1, target_ms: float = 100
) -> list[Row]:
    """Desk and the baseline on fresh servers side by side: each one's memory before
    and after its idle sockets connect, then broadcasts to them in turn, each timed from
    the POST (to the first process) to every socket's frame. With several processes the
    sockets are shared out among them and the frames cross Redis."""
    if processes > 1:
        env = scaled_out_env()
        if env is None:
            return []
        targets = [FanoutTarget(True, env), FanoutTarget(False, env)]
    else:
        targets = [FanoutTarget(True), FanoutTarget(False)]
    with contextlib.ExitStack() as stack:
        servers = [
            [
                stack.enter_context(Server(t.env, f"fanout-{t.name}-{k}"))
                for k in range(processes)
            ]
            for t in targets
        ]
        async with httpx.AsyncClient(timeout=30) as client:
            # Warm every code path once with one socket, before measuring memory; the
            # baseline's frames are padded to the size of Desk's.
            for target, group in zip(targets, servers, strict=True):
                target.frame_size = targets[0].frame_size
                warm = [
                    await wsclient.connect(s.port, target.path, cookie=target.setup["sessions"][0])
                    for s in group
                ]
                await target.broadcast(client, group[0], 0)
                await wsclient.wait_for_tokens(warm, 0, timeout=10)
                target.frame_size = int(warm[0].frame_bytes / max(1, warm[0].frames))
                for sock in warm:
                    sock.close()
            await asyncio.sleep(0.5)
            rss_before = [sum(s.rss_kib() for s in group) for group in servers]
            sockets = []
            connect_seconds = []
            for target, group in zip(targets, servers, strict=True):
                sessions = target.setup["sessions"]
                mine = []
                connect_started = time.perf_counter()
                for k, server in enumerate(group):
                    share = sockets_total // processes
                    # Ten handshakes at a time: Desk's take about 50 ms each of the
                    # process's one sync thread on PostgreSQL (the session, the locale,
                    # the arrival), and daphne drops a handshake not done in 5 s.
                    mine += await wsclient.connect_many(
                        server.port,
                        [(target.path, sessions[(k * share + i) % len(sessions)])
                         for i in range(share)],
                        parallel=10,
                        timeout=300,
                    )
                connect_seconds.append(time.perf_counter() - connect_started)
                sockets.append(mine)
            await asyncio.sleep(2.0)  # idle
            rss_after = [sum(s.rss_kib() for s in group) for group in servers]
            for n in range(1, FANOUT_BROADCASTS + 1):
                for target, group, socks in zip(targets, servers, sockets, strict=True):
                    started = await target.broadcast(client, group[0], n)
                    if not await wsclient.wait_for_tokens(socks, n, timeout=30):
                        raise RuntimeError(
                            f"a broadcast did not reach every {target.name} socket in 30 s"
                        )
                    delays = [(s.seen[n] - started) * 1000 for s in socks]
                    target.p99s.append(percentile(delays, 99))
                    target.spreads.append(percentile(delays, 99) - min(delays))
                    await asyncio.sleep(0.3)
            desk_frames = sum(s.frames for s in sockets[0])
            frame = sum(s.frame_bytes for s in sockets[0]) / max(1, desk_frames)
            for sock in sockets[0] + sockets[1]:
                sock.close()
    desk, base = targets
    per100 = [
        (after - before) / (sockets_total / 100) / 1024
        for before, after in zip(rss_before, rss_after, strict=True)
    ]
    d99, b99 = median(desk.p99s), median(base.p99s)
    log(
        f"  fan-out p99 Desk {[round(x) for x in desk.p99s]}, "
        f"baseline {[round(x) for x in base.p99s]}; spread Desk {median(desk.spreads):.0f} ms, "
        f"baseline {median(base.spreads):.0f} ms"
    )
    where = (
        f"{processes} × {sockets_total // processes:,} sockets, Redis"
        if processes > 1
        else f"{sockets_total:,} sockets"
    )
    rows = [
        Row(
            "4",
            f"fan-out p99, {where}, one broadcast",
            d99,
            b99,
            "ms",
            d99 / b99,
            f"≤ {target_ms:.0f} ms",
            d99 <= target_ms,
            f"median of {FANOUT_BROADCASTS}, POST to frame; spread (p99 − first) "
            f"{median(desk.spreads):.0f} vs {median(base.spreads):.0f} ms; "
            f"frame {frame / 1024:.1f} KiB"
            + (f"; {len(FANOUT_LANGUAGES)} locales" if FANOUT_LANGUAGES else ""),
        ),
    ]
    # What a reconnect storm costs (every tab of a restarted server at once): the
    # handshakes, ten at a time, per socket.
    per_socket = [seconds * 1000 / sockets_total for seconds in connect_seconds]
    log(f"  handshakes: Desk {connect_seconds[0]:.1f} s, baseline {connect_seconds[1]:.1f} s")
    rows.append(
        Row(
            "4c",
            f"handshake, {where}, ten at a time",
            per_socket[0],
            per_socket[1],
            "ms",
            per_socket[0] / per_socket[1],
            "—",
            None,
            f"{sockets_total:,} inbox tabs connected in {connect_seconds[0]:.1f} s "
            f"(bare: {connect_seconds[1]:.1f} s); per socket",
        )
    )
    if processes == 1:
        rows.append(
            Row(
                "5",
                f"memory per 100 idle agent sockets ({sockets_total:,})",
                per100[0],
                per100[1],
                "MiB",
                per100[0] / per100[1],
                "≤ 1.2×",
                per100[0] / per100[1] <= 1.2,
                f"RSS {rss_before[0] / 1024:.0f} → {rss_after[0] / 1024:.0f} MiB "
                f"with {sockets_total:,} sockets",
            )
        )
    return rows


async def bench_fanout_redis() -> list[Row]:
    """2 × 1,000 sockets on two processes, the frames through Redis (target 150 ms)."""
    return await bench_fanout(2 * FANOUT_SOCKETS, processes=2, target_ms=150)


async def bench_fanout_large() -> list[Row]:
    """5,000 sockets on one process (target 250 ms): `make bench-large`."""
    return await bench_fanout(5 * FANOUT_SOCKETS, target_ms=250)


# --- 6. the Reports at scale ---------------------------------------------------------------

REPORT_SIZES = (100_000,)
REPORT_SIZES_LARGE = (100_000, 1_000_000)
REPORT_REQUESTS = 20
REPORT_SECONDS = 40.0
REPORT_PATH = "/reports/?range=30d"


def reports_database(tickets: int) -> tuple[Path, dict]:
    """The reports dataset (tickets over a year, their messages and ratings, the rollups),
    made once and reused while it is complete; what making it took is kept beside it."""
    VAR.mkdir(parents=True, exist_ok=True)
    path = VAR / f"reports-{tickets}.sqlite3"
    marker, facts = Path(f"{path}.complete"), Path(f"{path}.json")
    if not marker.exists():
        for suffix in ("", "-wal", "-shm", ".json"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
    made = fixtures(bench_env(path), "reports", "--tickets", str(tickets), timeout=3600)
    if made.get("created"):
        facts.write_text(json.dumps(made))
        log(
            f"  made {made['tickets']:,} tickets, {made['messages']:,} messages, "
            f"{made['ratings']:,} ratings in {made['seconds']} s, rollups in "
            f"{made['rebuild_seconds']} s ({made['rollup_rows']:,} rows), {made['mib']} MiB"
        )
    marker.touch()
    return path, json.loads(facts.read_text()) if facts.exists() else made


def _thousands(tickets: int) -> str:
    return f"{tickets // 1_000_000}M" if tickets >= 1_000_000 else f"{tickets // 1000}k"


async def bench_reports(sizes: tuple[int, ...] = REPORT_SIZES) -> list[Row]:
    """The Reports page (30 days, as an admin) against the inbox's first page on the same
    database, for each size; the servers run side by side and requests go round them."""
    envs, facts, probes = {}, {}, {}
    for tickets in sizes:
        path, facts[tickets] = reports_database(tickets)
        envs[tickets] = bench_env(path)
        probes[tickets] = fixtures(envs[tickets], "reports-probe")
    times = {(t, page): [] for t in sizes for page in ("reports", "inbox")}
    with contextlib.ExitStack() as stack:
        servers = {t: stack.enter_context(Server(envs[t], f"reports-{t}")) for t in sizes}
        async with httpx.AsyncClient(timeout=60) as client:

            async def get(tickets: int, path: str) -> float:
                started = time.perf_counter()
                response = await client.get(
                    servers[tickets].url + path, cookies={"sessionid": probes[tickets]["session"]}
                )
                assert response.status_code == 200, (path, response.status_code)
                return (time.perf_counter() - started) * 1000

            for tickets in sizes:  # warm up
                for _ in range(3):
                    await get(tickets, REPORT_PATH)
                    await get(tickets, "/")
            deadline = time.perf_counter() + REPORT_SECONDS
            for _ in range(REPORT_REQUESTS):
                if time.perf_counter() > deadline:
                    break
                for tickets in sizes:
                    times[(tickets, "reports")].append(await get(tickets, REPORT_PATH))
                    times[(tickets, "inbox")].append(await get(tickets, "/"))
    rows = []
    for tickets in sizes:
        reports_ms = median(times[(tickets, "reports")])
        inbox_ms = median(times[(tickets, "inbox")])
        made, probe = facts[tickets], probes[tickets]
        log(f"  reports {tickets}: {reports_ms:.1f} ms, inbox {inbox_ms:.1f} ms")
        rows.append(
            Row(
                "6",
                f"Reports page, 30 days, {_thousands(tickets)} tickets",
                reports_ms,
                inbox_ms,
                "ms",
                reports_ms / inbox_ms,
                "≤ 3× the inbox page",
                reports_ms / inbox_ms <= 3.0,
                f"{probe['reports']['queries']} queries (inbox {probe['inbox']['queries']}); "
                f"{made['tickets']:,} tickets, {made['messages']:,} messages, {made['mib']} MiB, "
                f"made in {made['seconds']:.0f} s + rollups {made['rebuild_seconds']:.0f} s",
            )
        )
    if len(sizes) > 1:
        small, large = sizes[0], sizes[-1]
        small_ms, large_ms = median(times[(small, "reports")]), median(times[(large, "reports")])
        rows.append(
            Row(
                "6",
                f"Reports page, {_thousands(small)} → {_thousands(large)} tickets",
                large_ms,
                small_ms,
                "ms",
                large_ms / small_ms,
                f"≤ 1.5× the {_thousands(small)} time",
                large_ms / small_ms <= 1.5,
                f"inbox {median(times[(small, 'inbox')]):.1f} → "
                f"{median(times[(large, 'inbox')]):.1f} ms",
            )
        )
    return rows


# --- 7. the rollup's cost on the write path --------------------------------------------------

ROLLUP_REQUESTS = 120


async def bench_rollup_cost() -> list[Row]:
    """startHitl and an agent's first reply, in-process (Django's test client, SQLite):
    with the rollup hook, and with it replaced by a no-op, interleaved."""
    database = fresh_database("rollup-cost")
    got = fixtures(bench_env(database), "rollup-cost", "--requests", str(ROLLUP_REQUESTS))
    rows = []
    for key, name in (("start", "startHitl"), ("reply", "an agent's first reply")):
        on, off = got[f"{key}_on"], got[f"{key}_off"]
        rows.append(
            Row(
                "7",
                f"rollup upkeep on {name}",
                on,
                off,
                "ms",
                on / off,
                "≤ 1.10×",
                on / off <= 1.10,
                f"in-process median of {got['requests']} each; baseline: the hook a no-op",
            )
        )
    return rows


# --- 9. the inbox search at scale --------------------------------------------------------------

SEARCH_TICKETS = 100_000
SEARCH_LINES_LARGE = 10  # per ticket: 1M lines at 100k tickets (make bench-large)
SEARCH_ROUNDS = 12
SEARCH_SECONDS = 40.0
SELECTIVE = ("order number", "email", "name", "surname and word")


def search_database(tickets: int, lines: int) -> tuple[Path, dict]:
    """The search dataset (customers, custom fields, transcripts of support words), made
    once and reused while it is complete; what making it took is kept beside it."""
    VAR.mkdir(parents=True, exist_ok=True)
    path = VAR / f"search-{tickets}x{lines}.sqlite3"
    marker, facts = Path(f"{path}.complete"), Path(f"{path}.json")
    if not marker.exists():
        for suffix in ("", "-wal", "-shm", ".json"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
    made = fixtures(
        bench_env(path), "search", "--tickets", str(tickets), "--messages", str(lines),
        timeout=3600,
    )
    if made.get("created"):
        facts.write_text(json.dumps(made))
        log(
            f"  made {made['tickets']:,} tickets, {made['messages']:,} lines in "
            f"{made['seconds']} s, their search documents in {made['index_seconds']} s, "
            f"{made['mib']} MiB"
        )
    marker.touch()
    return path, json.loads(facts.read_text()) if facts.exists() else made


async def bench_search(large: bool = False) -> list[Row]:
    """GET /?q=… (the inbox's first page, default filter, with a search) against GET /
    (the same page unfiltered), as a logged-in agent, on one server; the searches and
    the plain page take turns, so load from elsewhere falls on all alike.

    make bench: the inbox dataset of benchmark 3 at 100k tickets (300k lines of uniform
    text); make bench-large: the search dataset, 100k tickets and 1M lines."""
    if large:
        path, made = search_database(SEARCH_TICKETS, SEARCH_LINES_LARGE)
        dataset = "search"
        size = f"{made['tickets'] // 1000}k tickets, {made['messages'] / 1e6:g}M lines"
    else:
        path, dataset = inbox_database(SEARCH_TICKETS), "inbox"
        size = "100k tickets, 300k lines"
    env = bench_env(path)
    probe = fixtures(env, "search-probe", "--dataset", dataset, "--tickets", str(SEARCH_TICKETS))
    searches = probe["searches"]
    times: dict[str, list[float]] = {name: [] for name in searches}
    with Server(env, f"search-{dataset}") as server:
        async with httpx.AsyncClient(timeout=60) as client:

            async def get(q: str) -> float:
                started = time.perf_counter()
                response = await client.get(
                    server.url + "/", params={"q": q} if q else None,
                    cookies={"sessionid": probe["session"]},
                )
                assert response.status_code == 200, (q, response.status_code)
                return (time.perf_counter() - started) * 1000

            for search in searches.values():  # warm up
                await get(search["q"])
                await get(search["q"])
            deadline = time.perf_counter() + SEARCH_SECONDS
            for _ in range(SEARCH_ROUNDS):
                if time.perf_counter() > deadline:
                    break
                for name, search in searches.items():
                    times[name].append(await get(search["q"]))
    page = median(times[""])
    for name, search in searches.items():
        log(f"  {name or 'first page'} ({search['q']!r}, {search['matches']:,} open): "
            f"{median(times[name]):.1f} ms")
    selective = [name for name in SELECTIVE if name in searches]
    picked = median([median(times[name]) for name in selective])
    worst = max(selective, key=lambda name: median(times[name]))
    common = searches["common word"]
    common_ms = median(times["common word"])
    return [
        Row(
            "9",
            f"inbox search, {size}",
            picked,
            page,
            "ms",
            picked / page,
            "≤ 2× the first page",
            picked / page <= 2.0,
            f"median of {', '.join(selective)} (slowest: {worst}, "
            f"{median(times[worst]):.1f} ms); {searches[worst]['queries']} queries "
            f"(unfiltered {searches['']['queries']}); baseline: the first page unfiltered",
        ),
        Row(
            "9",
            f"inbox search for a word most tickets have, {size}",
            common_ms,
            page,
            "ms",
            common_ms / page,
            "≤ 2× the first page",
            common_ms / page <= 2.0,
            f"“{common['q']}”: {common['matches']:,} open tickets match",
        ),
    ]


# --- 3 and 9 at a million tickets ------------------------------------------------------------

MILLION_ROUNDS = 15
MILLION_SECONDS = 90.0


async def bench_million(sizes: tuple[int, ...] = REPORT_SIZES_LARGE) -> list[Row]:
    """The inbox's first page and its searches (order number, email, name, a word every
    ticket has) at 1M tickets against the same at 100k: the Reports datasets (a year of
    tickets, 3 lines each; made once, reused), one server each, side by side, requests
    going round the sizes and the searches, so load from elsewhere falls on all alike."""
    envs, probes = {}, {}
    for tickets in sizes:
        path, _ = reports_database(tickets)
        envs[tickets] = bench_env(path)
        probes[tickets] = fixtures(
            envs[tickets], "search-probe", "--dataset", "reports", "--tickets", str(tickets)
        )
    names = list(probes[sizes[0]]["searches"])
    times = {(t, name): [] for t in sizes for name in names}
    with contextlib.ExitStack() as stack:
        servers = {t: stack.enter_context(Server(envs[t], f"million-{t}")) for t in sizes}
        async with httpx.AsyncClient(timeout=60) as client:

            async def get(tickets: int, q: str) -> float:
                started = time.perf_counter()
                response = await client.get(
                    servers[tickets].url + "/", params={"q": q} if q else None,
                    cookies={"sessionid": probes[tickets]["session"]},
                )
                assert response.status_code == 200, (q, response.status_code)
                return (time.perf_counter() - started) * 1000

            for tickets in sizes:  # warm up
                for search in probes[tickets]["searches"].values():
                    await get(tickets, search["q"])
                    await get(tickets, search["q"])
            deadline = time.perf_counter() + MILLION_SECONDS
            for _ in range(MILLION_ROUNDS):
                if time.perf_counter() > deadline:
                    break
                for name in names:
                    for tickets in sizes:
                        q = probes[tickets]["searches"][name]["q"]
                        times[(tickets, name)].append(await get(tickets, q))
    small, large = sizes[0], sizes[-1]
    ms = {key: median(values) for key, values in times.items()}
    for tickets in sizes:
        for name in names:
            search = probes[tickets]["searches"][name]
            log(f"  {_thousands(tickets)} {name or 'first page'} ({search['q']!r}, "
                f"{search['matches']:,} open, {search['queries']} queries): "
                f"{ms[(tickets, name)]:.1f} ms")
    selective = [name for name in SELECTIVE if name in names]
    picked = {t: median([ms[(t, name)] for name in selective]) for t in sizes}
    rows = []
    span = f"{_thousands(small)} → {_thousands(large)} tickets"
    for label, desk, base, note in (
        ("inbox first page", ms[(large, "")], ms[(small, "")],
         f"{probes[small]['searches']['']['queries']} / "
         f"{probes[large]['searches']['']['queries']} queries; open tickets "
         f"{probes[small]['searches']['']['matches']:,} / "
         f"{probes[large]['searches']['']['matches']:,}"),
        ("inbox search", picked[large], picked[small],
         f"median of {', '.join(selective)}: "
         + ", ".join(f"{ms[(small, n)]:.0f} → {ms[(large, n)]:.0f} ms" for n in selective)),
        ("inbox search, a word every ticket has", ms[(large, "common word")],
         ms[(small, "common word")],
         f"“{probes[large]['searches']['common word']['q']}”: "
         f"{probes[small]['searches']['common word']['matches']:,} / "
         f"{probes[large]['searches']['common word']['matches']:,} open tickets match"),
    ):
        rows.append(
            Row("3" if label == "inbox first page" else "9", f"{label}, {span}", desk, base,
                "ms", desk / base, f"≤ 1.5× the {_thousands(small)} time", desk / base <= 1.5,
                note)
        )
    return rows


# --- 10. a long transcript -----------------------------------------------------------------

TRANSCRIPT_SHORT, TRANSCRIPT_LONG = 10, 2_000
TRANSCRIPT_REQUESTS = 40


async def bench_transcript() -> list[Row]:
    """The ticket page of a 2,000-line conversation against one of 10 lines, same server,
    requests alternating: time to the response's first byte, as an agent."""
    env = bench_env(fresh_database("transcript"))
    made = fixtures(
        env, "transcript", "--lengths", f"{TRANSCRIPT_SHORT},{TRANSCRIPT_LONG}"
    )
    short, long_ = made["tickets"]
    times: dict[int, list[float]] = {short: [], long_: []}
    sizes: dict[int, int] = {}
    with Server(env, "transcript") as server:
        async with httpx.AsyncClient(
            base_url=server.url, cookies={"sessionid": made["session"]}, timeout=30
        ) as client:

            async def first_byte(number: int) -> float:
                started = time.perf_counter()
                async with client.stream("GET", f"/tickets/{number}/") as response:
                    assert response.status_code == 200, response.status_code
                    chunks = response.aiter_bytes()
                    await chunks.__anext__()
                    took = (time.perf_counter() - started) * 1000
                    async for _ in chunks:
                        pass
                return took

            for number in (short, long_):  # warm up
                for _ in range(3):
                    await first_byte(number)
                page = await client.get(f"/tickets/{number}/")
                sizes[number] = len(page.content)
            for _ in range(TRANSCRIPT_REQUESTS):
                for number in (short, long_):
                    times[number].append(await first_byte(number))
    long_ms, short_ms = median(times[long_]), median(times[short])
    return [
        Row(
            "10",
            f"ticket page, {TRANSCRIPT_LONG:,}-line transcript, first byte",
            long_ms,
            short_ms,
            "ms",
            long_ms / short_ms,
            "≤ 2×",
            long_ms / short_ms <= 2.0,
            f"median of {TRANSCRIPT_REQUESTS}; baseline: a {TRANSCRIPT_SHORT}-line ticket; "
            f"pages of {sizes[long_] // 1024} vs {sizes[short] // 1024} KiB",
        )
    ]


# --- the table ----------------------------------------------------------------------------

BENCHMARKS = {
    "1": ("relay latency", bench_relay),
    "2": ("startHitl throughput", bench_start_hitl),
    "2s": ("startHitl throughput, scaled-out mode", bench_start_hitl_scaled),
    "3": ("inbox at scale", bench_inbox),
    "4": ("fan-out and memory per socket", bench_fanout),
    "6": ("the Reports at scale", bench_reports),
    "7": ("the rollup's cost on startHitl and a reply", bench_rollup_cost),
    "8": ("routing: a new ticket to its agent, a queue drained", bench_routing),
    "9": ("the inbox search at 100k tickets", bench_search),
    "10": ("a ticket page with a long transcript", bench_transcript),
}


def fmt(value: float | None, unit: str) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    if unit in ("queries", "req/s"):
        return f"{value:,.0f} {unit}"
    return f"{value:,.1f} {unit}"


def fmt_ratio(row: Row) -> str:
    if row.ratio is None:
        return "—"
    if row.target.endswith("%"):
        return f"{row.ratio:.0%}"
    return f"{row.ratio:.2f}×"


def table(rows: list[Row]) -> str:
    header = ["#", "benchmark", "Desk", "baseline", "ratio", "target", "met", "notes"]
    lines = [
        [
            r.bench,
            r.name,
            fmt(r.desk, r.unit),
            fmt(r.baseline, r.unit),
            fmt_ratio(r),
            r.target or "—",
            {True: "yes", False: "NO", None: "—"}[r.met],
            r.note,
        ]
        for r in rows
    ]
    widths = [max(len(str(x)) for x in col) for col in zip(header, *lines, strict=True)]

    def line(cells: list[str]) -> str:
        return "| " + " | ".join(str(c).ljust(w) for c, w in zip(cells, widths, strict=True)) + " |"

    out = [line(header), "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    out += [line(cells) for cells in lines]
    return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", help="comma-separated benchmark numbers, e.g. 2,3")
    parser.add_argument("--no-docs", action="store_true", help="do not rewrite docs/perf.md")
    parser.add_argument(
        "--large", action="store_true",
        help="the largest sizes: the Reports at 100k and 1M tickets (6), the inbox and its "
        "searches at 100k and 1M tickets (3), the search at 1M lines (9), fan-out to 5,000 "
        "sockets on one process and 2 × 1,000 through Redis (4); --only picks among them "
        "(its table goes in its own block, rewritten only by a run of them all)",
    )
    parser.add_argument(
        "--languages",
        help="fan-out (4): the agents read these languages in turn, e.g. en,de,fr "
        "(a locale each: every broadcast renders once per locale)",
    )
    args = parser.parse_args()
    if args.languages:
        FANOUT_LANGUAGES[:] = args.languages.split(",")
    chosen = args.only.split(",") if args.only else list(BENCHMARKS)
    started = time.perf_counter()
    rows: list[Row] = []
    if args.large:  # --only picks among 6, 3 (the inbox and its searches at 1M), 9, 4
        chosen = args.only.split(",") if args.only else ["6", "3", "9", "4"]
        if "6" in chosen:
            log("[6] the Reports at 100k and 1M tickets …")
            rows += asyncio.run(bench_reports(REPORT_SIZES_LARGE))
        if "3" in chosen:
            log("[3, 9] the inbox and its searches at 100k and 1M tickets …")
            rows += asyncio.run(bench_million())
        if "9" in chosen:
            log("[9] the inbox search at 100k tickets and 1M lines …")
            rows += asyncio.run(bench_search(large=True))
        if "4" in chosen:
            log("[4] fan-out to 5,000 sockets on one process …")
            rows += asyncio.run(bench_fanout_large())
            log("[4] fan-out to 2 × 1,000 sockets on two processes through Redis …")
            rows += asyncio.run(bench_fanout_redis())
        print(table(rows))
        print(f"\n{len(rows)} figures in {time.perf_counter() - started:.0f} s")
        if not args.no_docs and not args.only:
            from bench.report import write_large

            write_large(table(rows))
        return
    for number in chosen:
        title, bench = BENCHMARKS[number]
        log(f"[{number}] {title} …")
        t0 = time.perf_counter()
        rows += asyncio.run(bench())
        log(f"[{number}] done in {time.perf_counter() - t0:.0f} s")
    print(table(rows))
    print(f"\n{len(rows)} figures in {time.perf_counter() - started:.0f} s")
    results = {"rows": [asdict(r) for r in rows], "when": time.strftime("%Y-%m-%d %H:%M")}
    (VAR / "results.json").write_text(json.dumps(results, indent=2))
    if not args.no_docs and not args.only:
        from bench.report import write_docs

        write_docs(rows, table(rows))


if __name__ == "__main__":
    main()
