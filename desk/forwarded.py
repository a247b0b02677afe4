"""Who is on the other end of a request or a websocket, and the access log that names them.

Desk believes no forwarded header by default: the client is the socket's peer. With
DESK_TRUSTED_PROXIES set (the reverse proxies' addresses or networks), a connection
whose peer is one of them is attributed to the right-most X-Forwarded-For address
that is not a trusted proxy. Each proxy appends the address it was reached from, so
that one was written by a proxy we trust; everything to its left is whatever the
client sent, and proves nothing.

`ClientAddressMiddleware` wraps the whole ASGI application: it sets the scope's
`client` (Django's REMOTE_ADDR, the websocket consumers' scope) and, from a trusted
proxy, its scheme from X-Forwarded-Proto. So the login throttle, the bot API and the
access log all see the same address. `manage.py serve` runs daphne without
`--proxy-headers`: daphne would believe the left-most address from anyone.
"""

from __future__ import annotations

import ipaddress
import logging
import time
from functools import lru_cache

from django.conf import settings

access_log = logging.getLogger("desk.access")

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@lru_cache(maxsize=8)
def _networks(configured: tuple[str, ...]) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(value, strict=False) for value in configured)


def trusted_proxies() -> tuple[Network, ...]:
    return _networks(tuple(settings.DESK_TRUSTED_PROXIES))


def _address(text: str) -> Address | None:
    """An IP address from a peer or an X-Forwarded-For entry (some proxies add a port)."""
    text = text.strip()
    if text.startswith("["):  # "[2001:db8::1]:443"
        text = text[1:].partition("]")[0]
    elif text.count(":") == 1:  # "203.0.113.7:51000"
        text = text.partition(":")[0]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        return address.ipv4_mapped
    return address


def _trusted(address: Address, networks: tuple[Network, ...]) -> bool:
    return any(address in network for network in networks)


def client_address(peer: str | None, forwarded_for: str, networks: tuple[Network, ...]) -> str:
    """The client's address: the peer, or behind trusted proxies the right-most
    X-Forwarded-For entry that is not a trusted proxy."""
    current = _address(peer or "")
    if current is None or not _trusted(current, networks):
        return peer or ""
    for entry in reversed([e for e in forwarded_for.split(",") if e.strip()]):
        hop = _address(entry)
        if hop is None:
            break  # not an address: nothing from here leftwards can be believed
        current = hop
        if not _trusted(hop, networks):
            break
    return str(current)


def _header(scope: dict, name: bytes) -> str:
    """All of a header's values, comma-joined in order (several lines are one list)."""
    return ",".join(v.decode("latin-1") for k, v in scope.get("headers", []) if k.lower() == name)


class ClientAddressMiddleware:
    """Sets the scope's client (and, from a trusted proxy, its scheme) for HTTP and websockets."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] in ("http", "websocket") and (networks := trusted_proxies()):
            scope = self.resolve(scope, networks)
        return await self.app(scope, receive, send)

    @staticmethod
    def resolve(scope: dict, networks: tuple[Network, ...]) -> dict:
        peer = (scope.get("client") or [None])[0]
        peer_address = _address(peer or "")
        if peer_address is None or not _trusted(peer_address, networks):
            return scope
        scope = dict(scope)
        address = client_address(peer, _header(scope, b"x-forwarded-for"), networks)
        scope["client"] = [address, 0] if address != peer else scope["client"]
        proto = _header(scope, b"x-forwarded-proto").rpartition(",")[2].strip().lower()
        if proto in ("http", "https"):
            secure = proto == "https"
            if scope["type"] == "websocket":
                scope["scheme"] = "wss" if secure else "ws"
            else:
                scope["scheme"] = proto
        return scope


class AccessLogMiddleware:
    """One log line per HTTP request and per websocket event, naming the resolved client.

    daphne's own access log would name the proxy, so `serve` turns it off and this one
    (logger `desk.access`, at INFO) takes its place, in the same NCSA-like format."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http":
            return await self._http(scope, receive, send)
        if scope["type"] == "websocket":
            return await self._websocket(scope, receive, send)
        return await self.app(scope, receive, send)

    @staticmethod
    def _line(scope: dict, request: str, status: object = "-", size: object = "-") -> None:
        if access_log.isEnabledFor(logging.INFO):
            client = (scope.get("client") or ["-"])[0]
            when = time.strftime("%d/%b/%Y:%H:%M:%S")
            access_log.info('%s - - [%s] "%s" %s %s', client, when, request, status, size)

    async def _http(self, scope, receive, send):
        response = {"status": "-", "size": 0}

        async def logged_send(message) -> None:
            if message["type"] == "http.response.start":
                response["status"] = message["status"]
            elif message["type"] == "http.response.body":
                response["size"] += len(message.get("body", b""))
                if not message.get("more_body"):
                    self._line(
                        scope, f"{scope['method']} {scope['path']}",
                        response["status"], response["size"],
                    )
            await send(message)

        return await self.app(scope, receive, logged_send)

    async def _websocket(self, scope, receive, send):
        accepted = False

        async def logged_send(message) -> None:
            nonlocal accepted
            if message["type"] == "websocket.accept":
                accepted = True
                self._line(scope, f"WSCONNECT {scope['path']}")
            elif message["type"] == "websocket.close" and not accepted:
                self._line(scope, f"WSREJECT {scope['path']}")
            await send(message)

        async def logged_receive():
            message = await receive()
            if message["type"] == "websocket.disconnect" and accepted:
                self._line(scope, f"WSDISCONNECT {scope['path']}")
            return message

        return await self.app(scope, logged_receive, logged_send)
