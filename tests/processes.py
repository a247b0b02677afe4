"""Real Desk processes for the slow tests: servers, workers, management commands, a bot.

The browser tests and the scaled-out tests start Desk the way an operator does
(`manage.py migrate`, `manage.py serve`, `manage.py db_worker`) in child processes
with their own environment, and talk to them over HTTP and websockets only.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MANAGE = [sys.executable, str(ROOT / "manage.py")]

# Settings that must come from the test, never leak in from the shell that runs pytest.
_SCRUBBED = ("DJANGO_", "DATABASE_URL", "REDIS_URL", "SQLITE_PATH", "DESK_", "ALLOWED_HOSTS")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def desk_env(**settings: str) -> dict[str, str]:
    """The environment for a Desk process: this one's, less Desk's settings, plus `settings`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(_SCRUBBED)}
    env.update(DJANGO_SETTINGS_MODULE="desk.settings", PYTHONUNBUFFERED="1", DEBUG="true")
    env.update(settings)
    return env


def manage(env: dict[str, str], *args: str, stdin: str | None = None) -> str:
    """Run a management command to completion; its stdout, or a failure with its output."""
    done = subprocess.run(
        [*MANAGE, *args], cwd=ROOT, env=env, input=stdin, capture_output=True, text=True,
        timeout=120,
    )
    if done.returncode != 0:
        raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout


def create_agents(env: dict[str, str], cast: dict[str, tuple[str, str, str, bool]]) -> None:
    """Users with known passwords: {username: (password, first name, last name, admin)}."""
    code = (
        "import json, sys\n"
        "from django.contrib.auth import get_user_model\n"
        "for username, (password, first, last, admin) in json.loads(sys.stdin.read()).items():\n"
        "    get_user_model().objects.create_user(username, password=password, first_name=first,"
        " last_name=last, email=username + '@desk.example', is_staff=admin, is_superuser=admin)\n"
    )
    manage(env, "shell", "-c", code, stdin=json.dumps(cast))


def http(method: str, url: str, body: dict | None = None, *, key: str | None = None,
         timeout: float = 10) -> tuple[int, dict | str]:
    """One HTTP call; (status, JSON or text). HTTP errors are answers, not exceptions."""
    data = json.dumps(body).encode() if body is not None else None
    headers = {"Content-Type": "application/json"} if data is not None else {}
    if key:
        headers["Authorization"] = f"Bearer {key}"
    request = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            status, raw = response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        status, raw = exc.code, exc.read().decode()
    try:
        return status, json.loads(raw)
    except ValueError:
        return status, raw


class DeskProcess:
    """One child process (a server or a worker) with its output in a log file."""

    def __init__(self, name: str, args: list[str], env: dict[str, str], log_dir: Path) -> None:
        self.name, self.args, self.env = name, args, env
        self.log_path = log_dir / f"{name}.log"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        log = open(self.log_path, "a")
        log.write(f"\n--- start {' '.join(self.args)}\n")
        log.flush()
        self.process = subprocess.Popen(
            [*MANAGE, *self.args], cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def log_tail(self, chars: int = 4000) -> str:
        return self.log_path.read_text()[-chars:] if self.log_path.exists() else ""

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 15) -> None:
        """Signal the process group; SIGKILL it if it has not gone within `timeout`."""
        if self.process is None:
            return
        if self.process.poll() is None:
            try:
                os.killpg(self.process.pid, sig)
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
            except ProcessLookupError:
                pass
        self.process = None

    def kill(self) -> None:
        """SIGKILL: the process dies at once, as in a crash."""
        self.stop(signal.SIGKILL)


class DeskServer(DeskProcess):
    """`manage.py serve` on 127.0.0.1:port, ready once /login/ answers."""

    def __init__(self, name: str, env: dict[str, str], log_dir: Path,
                 port: int | None = None) -> None:
        self.port = port or free_port()
        super().__init__(
            name, ["serve", "--host", "127.0.0.1", "--port", str(self.port)], env, log_dir
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60) -> None:
        super().start()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.running:
                raise RuntimeError(f"{self.name} exited:\n{self.log_tail()}")
            try:
                if http("GET", f"{self.url}/login/", timeout=2)[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"{self.name} did not answer within {timeout}s:\n{self.log_tail()}")

    def restart(self) -> None:
        """Stop and start again on the same port (open websockets drop)."""
        self.stop()
        self.start()


class BotSide:
    """A bot, as Desk sees it from outside: an API key and the HTTP API."""

    def __init__(self, base_url: str, key: str, bot_id: str) -> None:
        self.base_url, self.key, self.bot_id = base_url, key, bot_id

    def call(self, method: str, path: str, body: dict | None = None,
             base_url: str | None = None) -> tuple[int, dict | str]:
        url = f"{base_url or self.base_url}/api/v1/bots/{self.bot_id}{path}"
        return http(method, url, body, key=self.key)

    def deploy(self, **fields) -> dict:
        status, body = self.call("PUT", "", fields)
        assert status in (200, 201), body
        return body

    def start_hitl(self, base_url: str | None = None, **fields) -> tuple[int, dict | str]:
        return self.call("POST", "/startHitl", fields, base_url=base_url)


def wait_for(predicate, timeout: float = 10, interval: float = 0.1, what: str = "condition"):
    """Poll `predicate` until it returns something truthy; that value, or AssertionError."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


def log_in(base_url: str, username: str, password: str):
    """An httpx client logged in through the login form, as a browser would be.
    Its `sessionid` cookie also opens websockets (the session lives in the database)."""
    import httpx

    client = httpx.Client(base_url=base_url, timeout=10, follow_redirects=False)
    client.get("/login/").raise_for_status()
    response = client.post(
        "/login/",
        data={"username": username, "password": password,
              "csrfmiddlewaretoken": client.cookies["csrftoken"]},
    )
    assert response.status_code == 302, f"login failed: {response.status_code}"
    return client


class WebhookReceiver:
    """A bot's webhook endpoint: a real HTTP server on 127.0.0.1 that keeps what it gets."""

    def __init__(self) -> None:
        import http.server
        import threading

        received = self.received = []  # (headers dict, parsed JSON body)
        lock = self.lock = threading.Lock()

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with lock:
                    received.append((dict(self.headers), json.loads(body or b"null")))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def events(self, conversation_id: str | None = None) -> list[dict]:
        with self.lock:
            bodies = [body for _, body in self.received]
        if conversation_id is None:
            return bodies
        return [b for b in bodies if b.get("conversationId") == conversation_id]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class AgentSocket:
    """An agent's tab as the server sees it: the /ws/desk/ websocket, opened with the
    session cookie and the page's Origin, reading the HTML fragments pushed to it."""

    def __init__(self, server: DeskServer, session_id: str, query: str) -> None:
        from websockets.sync.client import connect

        self.frames: list[str] = []
        self.ws = connect(
            f"{server.ws_url}/ws/desk/?{query}",
            origin=server.url,
            additional_headers={"Cookie": f"sessionid={session_id}"},
            open_timeout=10,
        )
        self.ws.__enter__()  # websockets 17.1+ wants its context; AgentSocket is that context

    def send(self, frame: dict) -> None:
        self.ws.send(json.dumps(frame))

    def wait_for(self, text: str, timeout: float = 10) -> str:
        """The first frame (seen before or arriving within `timeout`) that contains `text`."""
        from websockets.exceptions import ConnectionClosed

        for frame in self.frames:
            if text in frame:
                return frame
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            try:
                frame = self.ws.recv(timeout=left)
            except TimeoutError:
                break
            except ConnectionClosed as exc:
                raise AssertionError(f"the websocket closed while waiting for {text!r}") from exc
            frame = frame if isinstance(frame, str) else frame.decode()
            self.frames.append(frame)
            if text in frame:
                return frame
        raise AssertionError(f"no frame with {text!r} within {timeout}s")

    def close(self) -> None:
        self.ws.close()

    def __enter__(self) -> AgentSocket:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
