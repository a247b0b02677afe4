"""The client address Desk believes: the socket's peer, or behind DESK_TRUSTED_PROXIES the
right-most X-Forwarded-For address that is not a trusted proxy.

Requests go through the project's ASGI application from a given peer; the access log
line (what an operator reads) shows the address Desk settled on.
"""

import logging
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from desk.asgi import application

ROOT = Path(__file__).resolve().parent.parent


async def client_seen(peer: str, forwarded_for: str | None, caplog) -> str:
    transport = httpx.ASGITransport(app=application, client=(peer, 40000))
    headers = {"X-Forwarded-For": forwarded_for} if forwarded_for is not None else {}
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="desk.access"):
        async with httpx.AsyncClient(transport=transport, base_url="http://localhost") as http:
            assert (await http.get("/login/", headers=headers)).status_code == 200
    [line] = [r.getMessage() for r in caplog.records if r.name == "desk.access"]
    return line.split(" ", 1)[0]


async def test_by_default_no_forwarded_header_is_believed(settings, caplog):
    settings.DESK_TRUSTED_PROXIES = []
    assert await client_seen("198.51.100.20", "203.0.113.1", caplog) == "198.51.100.20"


@pytest.mark.parametrize(
    "peer, forwarded_for, client",
    [
        # one proxy: what it appended
        ("10.0.0.2", "203.0.113.1", "203.0.113.1"),
        # the client's own (forged) entries are left of it, and ignored
        ("10.0.0.2", "1.2.3.4, 9.9.9.9, 203.0.113.1", "203.0.113.1"),
        # a chain of trusted proxies: the right-most address that is not one of them
        ("10.0.0.2", "1.2.3.4, 203.0.113.1, 10.0.0.7", "203.0.113.1"),
        # ports some proxies add, IPv6
        ("10.0.0.2", "203.0.113.1:51000", "203.0.113.1"),
        ("10.0.0.2", "[2001:db8::5]:443", "2001:db8::5"),
        ("10.0.0.2", "2001:db8::5", "2001:db8::5"),
        # garbage stops the walk at the last address a trusted proxy vouched for
        ("10.0.0.2", "203.0.113.1, not-an-ip, 10.0.0.7", "10.0.0.7"),
        # nothing forwarded: the proxy itself
        ("10.0.0.2", None, "10.0.0.2"),
        # a peer that is not a trusted proxy is the client, whatever it says
        ("198.51.100.20", "203.0.113.1", "198.51.100.20"),
    ],
)
async def test_behind_trusted_proxies_the_right_most_untrusted_address_is_the_client(
    settings, caplog, peer, forwarded_for, client
):
    settings.DESK_TRUSTED_PROXIES = ["10.0.0.0/8"]
    assert await client_seen(peer, forwarded_for, caplog) == client


def test_a_bad_trusted_proxy_value_names_the_variable(tmp_path):
    env = {**os.environ, "DESK_TRUSTED_PROXIES": "10.0.0.1, proxy.internal",
           "DESK_VAR_DIR": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert result.returncode != 0
    assert "DESK_TRUSTED_PROXIES must list IP addresses or networks" in result.stderr
