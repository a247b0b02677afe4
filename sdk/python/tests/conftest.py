"""A real Desk for the SDK's tests: `manage.py serve` from the Desk checkout around this
package, run with Desk's own interpreter (`DESK_PYTHON`, default `.venv/bin/python`
of the checkout), on its own SQLite file and a free port; plus an agent (`desk_agent.py`)
who claims, replies and closes, and an API key the SDK uses as a bot would.

The SDK's tests run in their own virtualenv (no Desk inside it): they reach Desk only
over HTTP, as a bot does.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
HERE = Path(__file__).resolve().parent
EXAMPLES = HERE.parent / "examples"
sys.path.insert(0, str(EXAMPLES))

# Desk's settings must come from the test, never leak in from the shell that runs pytest.
_SCRUBBED = ("DJANGO_", "DATABASE_URL", "REDIS_URL", "SQLITE_PATH", "DESK_", "ALLOWED_HOSTS")


def desk_python() -> str:
    python = os.environ.get("DESK_PYTHON") or str(ROOT / ".venv" / "bin" / "python")
    if not Path(python).exists() or not (ROOT / "manage.py").exists():
        message = (
            f"No Desk to test against: {python} or {ROOT / 'manage.py'} is missing "
            "(run the SDK's tests with `make test` in the Desk checkout, or set DESK_PYTHON)"
        )
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return python


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class DeskServer:
    """One `manage.py serve` process; `stop()` and `start()` again on the same port."""

    def __init__(self, python: str, env: dict[str, str], log: Path) -> None:
        self.python, self.env, self.log = python, env, log
        self.port = free_port()
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60) -> DeskServer:
        with open(self.log, "a") as log:
            self.process = subprocess.Popen(
                [self.python, "manage.py", "serve", "--host", "127.0.0.1", "--port",
                 str(self.port)],
                cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"Desk exited:\n{self.log.read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(f"{self.url}/login/", timeout=2) as answer:
                    if answer.status == 200:
                        return self
            except OSError:
                time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"Desk did not answer in {timeout}s:\n{self.log.read_text()[-3000:]}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
        self.process = None


class Agent:
    """Maya, an agent in Desk's inbox (and the admin who enables bots)."""

    def __init__(self, python: str, env: dict[str, str]) -> None:
        self.process = subprocess.Popen(
            [python, str(HERE / "desk_agent.py")], cwd=ROOT, env=env, text=True,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        )

    def _do(self, op: str, **fields: object) -> object:
        assert self.process.stdin and self.process.stdout
        self.process.stdin.write(json.dumps({"op": op, **fields}) + "\n")
        self.process.stdin.flush()
        answer = json.loads(self.process.stdout.readline())
        if "error" in answer:
            raise AssertionError(f"the agent could not {op}:\n{answer['error']}")
        return answer["ok"]

    def create_key(self, name: str) -> str:
        return self._do("create_key", name=name)

    def label(self, name: str | None = None, *, bots_create_labels: bool | None = None) -> None:
        """Alex (an admin) defines a label, or lets bots create labels (or not)."""
        fields: dict[str, object] = {} if name is None else {"name": name}
        if bots_create_labels is not None:
            fields["bots_create_labels"] = bots_create_labels
        self._do("label", **fields)

    def connect(self, bot_id: str, connected: bool = True) -> None:
        self._do("connect", bot_id=bot_id, connected=connected)

    def claim(self, bot_id: str, conversation_id: str) -> None:
        self._do("claim", bot_id=bot_id, conversation_id=conversation_id)

    def reply(self, bot_id: str, conversation_id: str, text: str) -> None:
        self._do("reply", bot_id=bot_id, conversation_id=conversation_id, text=text)

    def reply_with_file(self, bot_id: str, conversation_id: str, text: str, name: str,
                        data: bytes) -> None:
        """Maya attaches a file to her reply."""
        self._do("reply_file", bot_id=bot_id, conversation_id=conversation_id, text=text,
                 name=name, data=base64.b64encode(data).decode())

    def close(self, bot_id: str, conversation_id: str) -> None:
        self._do("close", bot_id=bot_id, conversation_id=conversation_id)

    def transfer(self, bot_id: str, conversation_id: str, to: str) -> None:
        """Whoever has the ticket hands it to Alex (`to` "alex") or back to the queue."""
        self._do("transfer", bot_id=bot_id, conversation_id=conversation_id, to=to)

    def decide(self, approval_id: str, approve: bool, arguments: dict | None = None,
               reason: str = "") -> None:
        """Alex (an admin) approves, possibly with edited arguments, or rejects."""
        self._do("decide", approval_id=approval_id, approve=approve, arguments=arguments,
                 reason=reason)

    def wait(self, bot_id: str, conversation_id: str) -> None:
        self._do("wait", bot_id=bot_id, conversation_id=conversation_id)

    def ticket(self, bot_id: str, conversation_id: str) -> dict:
        return self._do("ticket", bot_id=bot_id, conversation_id=conversation_id)

    def stop(self) -> None:
        if self.process.stdin:
            self.process.stdin.close()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()


class DeskFixture:
    """The running Desk as the tests see it: its URL, an agent, and a fresh bot id."""

    def __init__(self, server: DeskServer, agent: Agent, api_key: str, var: Path) -> None:
        self.server, self.agent, self.api_key, self.var = server, agent, api_key, var

    @property
    def url(self) -> str:
        return self.server.url

    def new_bot_id(self, prefix: str = "sdk-bot") -> str:
        return f"{prefix}-{uuid.uuid4().hex[:8]}"

    def connected_bot(self, prefix: str = "sdk-bot", **deploy: object):
        """A Desk client for a new bot, deployed and enabled by the admin."""
        from desk_sdk import Desk

        desk = Desk(self.url, api_key=self.api_key, bot_id=self.new_bot_id(prefix))
        desk.deploy(name=f"Test bot {desk.bot_id}", **deploy)
        self.agent.connect(desk.bot_id)
        return desk


def desk_env(var: Path, **settings: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(_SCRUBBED)}
    env.update(
        DJANGO_SETTINGS_MODULE="desk.settings", PYTHONUNBUFFERED="1", DEBUG="true",
        DESK_VAR_DIR=str(var), SQLITE_PATH=str(var / "desk.sqlite3"),
        DESK_EMBEDDED_WORKER="true", DESK_WEBHOOK_ALLOW_PRIVATE="true",
        # Events recorded by the agent's process reach a waiting long-poll within a second.
        DESK_LONG_POLL_RECHECK_SECONDS="1", DESK_WORKER_INTERVAL_SECONDS="1",
        DESK_WEBHOOK_RETRY_BASE_SECONDS="1", DESK_WEBHOOK_RETRY_MAX_SECONDS="2",
    )
    env.update(settings)
    return env


@pytest.fixture(scope="session")
def migrated_db(tmp_path_factory) -> Path:
    """A migrated SQLite file; each server starts from a copy."""
    python = desk_python()
    var = tmp_path_factory.mktemp("desk-template")
    done = subprocess.run(
        [python, "manage.py", "migrate", "--noinput"], cwd=ROOT, env=desk_env(var),
        capture_output=True, text=True, timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return var / "desk.sqlite3"


def start_desk(tmp_path_factory, migrated_db: Path, **settings: str) -> DeskFixture:
    python = desk_python()
    var = tmp_path_factory.mktemp("desk-var")
    shutil.copy(migrated_db, var / "desk.sqlite3")
    env = desk_env(var, **settings)
    server = DeskServer(python, env, var / "serve.log")
    # The agent's process records events too: their file URLs must name the server.
    env.setdefault("DESK_PUBLIC_URL", server.url)
    agent = Agent(python, env)
    api_key = agent.create_key("sdk tests")
    server.start()
    return DeskFixture(server, agent, api_key, var)


def stop_desk(desk: DeskFixture) -> None:
    desk.server.stop()
    desk.agent.stop()
    if keep := os.environ.get("DESK_KEEP_LOGS"):
        shutil.copytree(desk.var, Path(keep) / desk.var.name, dirs_exist_ok=True)


@pytest.fixture(scope="session")
def desk_server(tmp_path_factory, migrated_db) -> Iterator[DeskFixture]:
    """The Desk most tests share (each uses bots of its own)."""
    desk = start_desk(tmp_path_factory, migrated_db)
    yield desk
    stop_desk(desk)


@pytest.fixture
def own_desk(tmp_path_factory, migrated_db) -> Iterator[DeskFixture]:
    """A Desk for this test alone (it may be stopped and restarted)."""
    desk = start_desk(tmp_path_factory, migrated_db)
    yield desk
    stop_desk(desk)


def wait_for(predicate, timeout: float = 15, interval: float = 0.05, what: str = "it"):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)
