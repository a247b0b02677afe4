"""The login throttle as `manage.py serve` runs it: forged forwarded headers, rotating
addresses, and many attempts at once.

Two real servers on one SQLite database: one as `make run` starts it (no proxy
trusted) and one told that 127.0.0.1 is its reverse proxy (DESK_TRUSTED_PROXIES),
so the test plays the proxy by sending X-Forwarded-For itself. Each test uses its
own username: a throttled one stays throttled for the window.
"""

from __future__ import annotations

import threading
from collections import Counter

import httpx
import pytest
from processes import DeskServer, create_agents, desk_env, manage
from websockets.sync.client import connect

pytestmark = pytest.mark.slow

PASSWORDS = {name: f"{name}-pw-4t9w!" for name in ("ana", "ben", "cleo", "dora")}


@pytest.fixture(scope="module")
def servers(tmp_path_factory):
    var = tmp_path_factory.mktemp("desk-login")
    env = desk_env(DESK_VAR_DIR=str(var), SQLITE_PATH=str(var / "desk.sqlite3"))
    manage(env, "migrate", "--noinput")
    create_agents(env, {name: (pw, name.title(), "Agent", False) for name, pw in PASSWORDS.items()})
    direct = DeskServer("direct", env, var)
    proxied = DeskServer("proxied", {**env, "DESK_TRUSTED_PROXIES": "127.0.0.1"}, var)
    try:
        direct.start()
        proxied.start()
        yield direct, proxied
    finally:
        direct.stop()
        proxied.stop()


def log_in(server: DeskServer, username: str, password: str, forwarded_for: str | None = None,
           client: httpx.Client | None = None) -> int:
    """One attempt through the login form; its status (200 refused, 302 in, 429 throttled)."""
    client = client or httpx.Client(base_url=server.url, timeout=60)
    headers = {"X-Forwarded-For": forwarded_for} if forwarded_for else {}
    if "csrftoken" not in client.cookies:
        client.get("/login/", headers=headers).raise_for_status()
    response = client.post(
        "/login/", headers=headers,
        data={"username": username, "password": password,
              "csrfmiddlewaretoken": client.cookies["csrftoken"]},
    )
    return response.status_code


def test_a_forged_forwarded_for_does_not_escape_the_login_throttle(servers):
    direct, _ = servers
    statuses = [
        log_in(direct, "ana", "wrong", forwarded_for=f"203.0.113.{n}") for n in range(1, 41)
    ]
    assert statuses == [200] * 5 + [429] * 35
    # The real password, from yet another forged address, is throttled too.
    assert log_in(direct, "ana", PASSWORDS["ana"], forwarded_for="198.51.100.1") == 429


def test_behind_a_trusted_proxy_the_client_is_the_right_most_untrusted_address(servers):
    _, proxied = servers
    # The proxy (127.0.0.1) appends the address it saw; the left part is the client's own.
    statuses = [
        log_in(proxied, "ben", "wrong", forwarded_for=f"203.0.113.{n}, 198.51.100.7")
        for n in range(1, 8)
    ]
    assert statuses == [200] * 5 + [429] * 2
    # Another client, through the same proxy, still logs in as ben.
    client = httpx.Client(base_url=proxied.url, timeout=60)
    assert log_in(proxied, "ben", PASSWORDS["ben"], "198.51.100.8", client=client) == 302
    # The websocket sees the same client, and the access log names it.
    with connect(
        f"{proxied.ws_url}/ws/desk/?inbox=1", origin=proxied.url,
        additional_headers={"Cookie": f"sessionid={client.cookies['sessionid']}",
                            "X-Forwarded-For": "203.0.113.250, 198.51.100.9"},
        open_timeout=10,
    ):
        pass  # the handshake was accepted
    log = proxied.log_path.read_text()
    assert '198.51.100.7 - - [' in log and '"POST /login/" 429' in log
    assert '198.51.100.8 - - [' in log
    assert '198.51.100.9 - - [' in log and "WSCONNECT /ws/desk/" in log
    assert "203.0.113." not in log  # nothing the client forged reaches the log


def test_rotating_addresses_does_not_escape_the_per_user_limit(servers):
    _, proxied = servers
    statuses = [log_in(proxied, "cleo", "wrong", f"198.51.100.{n}") for n in range(20, 35)]
    assert statuses == [200] * 10 + [429] * 5
    assert log_in(proxied, "cleo", PASSWORDS["cleo"], "198.51.100.99") == 429


def test_thirty_concurrent_wrong_passwords_let_at_most_five_through(servers):
    direct, _ = servers
    clients = [httpx.Client(base_url=direct.url, timeout=120) for _ in range(30)]
    for client in clients:
        client.get("/login/").raise_for_status()
    start = threading.Barrier(len(clients))
    statuses: list[int] = []

    def attempt(client: httpx.Client) -> None:
        start.wait()
        statuses.append(log_in(direct, "dora", "wrong", client=client))

    threads = [threading.Thread(target=attempt, args=(c,)) for c in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert Counter(statuses) == {200: 5, 429: 25}
    assert log_in(direct, "dora", PASSWORDS["dora"]) == 429
