"""The benchmark report: the table in docs/perf.md (between its markers) and docs/perf.png."""

from __future__ import annotations

import os
import platform
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "perf.md"
PLOT = ROOT / "docs" / "perf.png"
START, END = "<!-- bench:table -->", "<!-- /bench:table -->"
LARGE_START, LARGE_END = "<!-- bench:large -->", "<!-- /bench:large -->"


def machine() -> str:
    cores = len(os.sched_getaffinity(0))
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    return (
        f"Python {platform.python_version()}, {cores} cores, {platform.system()}, "
        f"load average {load} when it finished"
    )


def write_docs(rows: list, table: str) -> None:
    plot(rows)
    block = (
        f"{START}\nMeasured by `make bench` {time.strftime('%Y-%m-%d %H:%M')}: {machine()}.\n\n"
        f"{table}\n\n![Desk against its baselines](perf.png)\n{END}"
    )
    text = DOC.read_text() if DOC.exists() else f"# Performance\n\n{START}\n{END}\n"
    before, rest = text.split(START, 1)
    after = rest.split(END, 1)[1]
    DOC.write_text(before + block + after)


def write_large(table: str) -> None:
    """`make bench-large`'s table, in its own block of docs/perf.md."""
    block = (
        f"{LARGE_START}\nMeasured by `make bench-large` {time.strftime('%Y-%m-%d %H:%M')}: "
        f"{machine()}.\n\n{table}\n{LARGE_END}"
    )
    text = DOC.read_text()
    if LARGE_START not in text:
        text += f"\n{LARGE_START}\n{LARGE_END}\n"
    before, rest = text.split(LARGE_START, 1)
    after = rest.split(LARGE_END, 1)[1]
    DOC.write_text(before + block + after)


def plot(rows: list) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    by = {}
    for row in rows:
        by.setdefault(row.bench, []).append(row)
    panels = [b for b in ("1", "2", "3", "4", "5") if b in by]
    fig, axes = plt.subplots(1, len(panels), figsize=(3.2 * len(panels), 3.4))
    axes = [axes] if len(panels) == 1 else list(axes)
    desk_color, base_color = "#3b6ea8", "#b0b0b0"
    for ax, bench in zip(axes, panels, strict=True):
        items = by[bench]
        if bench == "3":
            sizes = [r for r in items if r.unit == "ms"]
            xs = [int(r.name.split(",")[1].strip().split("k")[0]) * 1000 for r in sizes]
            ax.plot(xs, [r.desk for r in sizes], "o-", color=desk_color, label="Desk")
            ax.axhline(2 * sizes[0].desk, color="#c0392b", ls="--", lw=1, label="target: 2× 1k")
            ax.set_xscale("log")
            ax.set_xlabel("tickets")
            ax.set_ylabel("first page, ms")
            ax.set_title("3. inbox at scale", fontsize=10)
            ax.legend(fontsize=7)
            continue
        if bench == "2":
            items = [r for r in items if r.unit == "req/s"]
        labels = [short(r.name) for r in items]
        xs = range(len(items))
        width = 0.38
        ax.bar(
            [x - width / 2 for x in xs],
            [r.desk for r in items],
            width,
            color=desk_color,
            label="Desk",
        )
        ax.bar(
            [x + width / 2 for x in xs],
            [r.baseline or 0 for r in items],
            width,
            color=base_color,
            label="baseline",
        )
        ax.set_xticks(list(xs), labels, fontsize=8)
        ax.set_ylabel(items[0].unit)
        if bench == "4":
            ax.axhline(100, color="#c0392b", ls="--", lw=1, label="target")
        ax.set_title(
            {
                "1": "1. relay latency",
                "2": "2. startHitl, 32 clients",
                "4": "4. fan-out, 1,000 sockets",
                "5": "5. memory / 100 sockets",
            }[bench],
            fontsize=10,
        )
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(PLOT, dpi=110)
    plt.close(fig)


def short(name: str) -> str:
    for key in ("p50", "p99", "throughput", "memory"):
        if key in name:
            return {"memory": "MiB"}.get(key, key)
    return name.split(",")[0]
