"""A real Desk server for a benchmark: daphne in a child process on a free local port."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
VAR = ROOT / "var" / "bench"

# Desk's settings come from the benchmark, never from the shell that runs it.
_SCRUBBED = (
    "DJANGO_",
    "DATABASE_URL",
    "REDIS_URL",
    "SQLITE_PATH",
    "DESK_",
    "ALLOWED_HOSTS",
    "DEBUG",
    "SECRET_KEY",
    "SECURE_",
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def bench_env(database: Path, **extra: str) -> dict[str, str]:
    """Production-like settings (DEBUG off), on the given SQLite file."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(_SCRUBBED)}
    env.update(
        DJANGO_SETTINGS_MODULE="desk.settings",
        PYTHONUNBUFFERED="1",
        DEBUG="false",
        SECRET_KEY="bench-only-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz",
        ALLOWED_HOSTS="127.0.0.1,localhost",
        SECURE_SSL_REDIRECT="false",
        SECURE_HSTS_SECONDS="0",
        DESK_API_RATE_LIMIT="",  # the load generator is one key; measure Desk, not the limiter
        SQLITE_PATH=str(database),
        DESK_VAR_DIR=str(VAR),
        LOG_LEVEL="WARNING",
    )
    env.update(extra)
    return env


class Server:
    """`with Server(env) as server:` serves Desk plus the /bench/ baselines."""

    def __init__(self, env: dict[str, str], name: str = "server") -> None:
        self.env = env
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.ws_url = f"ws://127.0.0.1:{self.port}"
        self.log_path = VAR / f"{name}.log"
        self.process: subprocess.Popen | None = None

    def __enter__(self) -> Server:
        VAR.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("w")
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "daphne",
                "--bind",
                "127.0.0.1",
                "--port",
                str(self.port),
                "-v",  # as `manage.py serve` runs it: Desk's own access log, no proxy headers
                "0",
                "bench.baseline_asgi:application",
            ],
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the server exited: see {self.log_path}")
            try:
                if httpx.get(self.url + "/bench/ping/", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        self.__exit__(None, None, None)
        raise RuntimeError(f"the server did not answer in 30 s: see {self.log_path}")

    def __exit__(self, *exc: object) -> None:
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(5)

    def rss_kib(self) -> int:
        """The server process's resident memory, in KiB."""
        assert self.process is not None
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        raise RuntimeError("no VmRSS")


def fixtures(env: dict[str, str], *args: str, timeout: float = 600) -> dict:
    """Run bench/fixtures.py against the env's database; its JSON answer."""
    import json

    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "fixtures.py"), *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if done.returncode != 0:
        raise RuntimeError(f"fixtures {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return json.loads(done.stdout)
