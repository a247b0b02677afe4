"""`make bench`: Desk's benchmarks, each against a baseline measured in the same run.

    python bench/run.py [--only 2,3] [--no-docs]

Every benchmark starts real daphne processes (bench.baseline_asgi: Desk plus the
/bench/ baseline routes, DEBUG off, a SQLite file under var/bench/) on free local
ports and drives them from this process with asyncio clients. Every loop is bounded
in count and time. The table is printed, saved to var/bench/results.json, and
written into docs/perf.md with a plot (docs/perf.png).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import sys
import time
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx  # noqa: E402

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
        return json.dumps({
            "conversationId": f"{run}-{i}",
            "title": f"Help with order {i}",
            "priority": priorities[i % 4],
            "userName": f"User {i}",
            "userEmail": f"user{i}@example.com",
            "messageHistory": [
                {"role": "user", "text": "My parcel has not arrived."},
                {"role": "bot", "text": "Let me find a person to help you."},
            ],
        }).encode()

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
                server.url + path, start_hitl_body(f"{tag}-{uuid.uuid4().hex[:8]}"),
                headers=headers, clients=HITL_CLIENTS, seconds=seconds,
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
        Row("2", "startHitl throughput, 32 clients", desk_rps, base_rps, "req/s", share,
            "≥ 60 %", share >= 0.60, "baseline: trivial JSON view"),
        Row("2", "startHitl p99, 32 clients", desk_p99, base_p99, "ms", desk_p99 / base_p99,
            "", None),
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
        log(f"  made {made['tickets']} tickets, {made['messages']} messages "
            f"in {made['seconds']} s")
    marker.touch()
    return path


async def bench_inbox() -> list[Row]:
    figures = {}
    for tickets in INBOX_SIZES:
        path = inbox_database(tickets)
        env = bench_env(path)
        probe = fixtures(env, "probe", "--repeat", "5")
        cookies = {"sessionid": probe["session"]}
        times: list[float] = []
        with Server(env, f"inbox-{tickets}") as server:
            async with httpx.AsyncClient(base_url=server.url, cookies=cookies,
                                         timeout=30) as client:
                for _ in range(3):  # warm up: connections, template loading, caches
                    response = await client.get("/")
                    assert response.status_code == 200, response.status_code
                deadline = time.perf_counter() + INBOX_SECONDS
                for _ in range(INBOX_REQUESTS):
                    if time.perf_counter() > deadline:
                        break
                    started = time.perf_counter()
                    response = await client.get("/")
                    times.append((time.perf_counter() - started) * 1000)
        figures[tickets] = {"ms": median(times), "p90": percentile(times, 90),
                            "queries": probe["queries"], "sql": probe["sql"]}
        log(f"  inbox {tickets}: {figures[tickets]['ms']:.1f} ms, {probe['queries']} queries")
    (VAR / "inbox-queries.json").write_text(json.dumps(figures, indent=2))
    small = figures[INBOX_SIZES[0]]
    rows = []
    for tickets in INBOX_SIZES:
        fig = figures[tickets]
        ratio = fig["ms"] / small["ms"]
        last = tickets == INBOX_SIZES[-1]
        rows.append(Row(
            "3", f"inbox first page, {tickets // 1000}k tickets", fig["ms"], small["ms"], "ms",
            ratio, "≤ 2× the 1k time" if last else "",
            (ratio <= 2.0) if last else None, f"{fig['queries']} queries",
        ))
    counts = {figures[t]["queries"] for t in INBOX_SIZES}
    rows.append(Row(
        "3", "inbox queries at 1k / 10k / 100k", figures[INBOX_SIZES[-1]]["queries"],
        small["queries"], "queries", None, "same at every size", len(counts) == 1,
        " / ".join(str(figures[t]["queries"]) for t in INBOX_SIZES),
    ))
    return rows


# --- the table ----------------------------------------------------------------------------

BENCHMARKS = {
    "2": ("startHitl throughput", bench_start_hitl),
    "3": ("inbox at scale", bench_inbox),
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
    lines = [[r.bench, r.name, fmt(r.desk, r.unit), fmt(r.baseline, r.unit), fmt_ratio(r),
              r.target or "—", {True: "yes", False: "NO", None: "—"}[r.met], r.note]
             for r in rows]
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
    args = parser.parse_args()
    chosen = args.only.split(",") if args.only else list(BENCHMARKS)
    started = time.perf_counter()
    rows: list[Row] = []
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
