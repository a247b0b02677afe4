"""Desk's outbound HTTP for webhooks: where a POST may go, and how long it may take.

- **Which addresses.** Unless DESK_WEBHOOK_ALLOW_PRIVATE is on (by default only with
  DEBUG, the embedded demo), a webhook may not reach a loopback, private, link-local,
  unspecified, multicast, reserved or otherwise non-public address, nor one of this
  server's own interfaces (IPv4 inside IPv6 counts as the IPv4 address). Networks
  listed in DESK_WEBHOOK_ALLOWED_NETWORKS are allowed all the same.
- **One lookup per attempt, and that one is used.** The host name is resolved once,
  every address it gives is checked (one refused address refuses the attempt), and the
  connection goes to a checked address: the transport's network backend connects only
  to the addresses pinned for the attempt, never resolving the name again, so a DNS
  answer that changes between the check and the connection (DNS rebinding) changes
  nothing. The URL is left as it is, so the Host header, TLS SNI and the certificate
  check are all for the bot's own host name.
- **A total deadline.** Resolving, connecting, TLS, sending and reading the whole
  answer must fit in DESK_WEBHOOK_TIMEOUT_SECONDS together: every socket operation is
  given only the time left (httpx's own timeouts are per operation, so a receiver that
  sends one byte at a time could otherwise hold a worker for ever).
- **A few KiB of any answer.** Desk needs the status code only: it reads at most
  MAX_ANSWER_BYTES of the body (so a short answer leaves the connection reusable) and
  drops the connection on anything longer, never holding a large body in memory.
"""

from __future__ import annotations

import ipaddress
import socket
import threading
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

import httpcore
import httpx
import psutil
from django.conf import settings

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

MAX_ANSWER_BYTES = 4096
DEFAULT_PORTS = {"http": 80, "https": 443}
OWN_ADDRESSES_TTL = 60.0  # seconds between re-reads of this server's interfaces

SETTINGS_HINT = (
    "webhooks to private addresses are off "
    "(DESK_WEBHOOK_ALLOW_PRIVATE, DESK_WEBHOOK_ALLOWED_NETWORKS)"
)


class Refused(Exception):
    """The webhook's address is one Desk must not connect to. The message says why."""


# --- which addresses ----------------------------------------------------------------


def _kind(ip: IPAddress) -> str | None:
    """What kind of non-public address `ip` is; None for a public one."""
    if ip.is_loopback:
        return "loopback"
    if ip.is_unspecified:
        return "unspecified"
    if ip.is_link_local:
        return "link-local"
    if ip.is_multicast:
        return "multicast"
    if ip.is_private:
        return "private"
    if ip.is_reserved:
        return "reserved"
    if not ip.is_global:
        return "non-public"
    return None


def _embedded_ipv4(ip: IPAddress) -> list[ipaddress.IPv4Address]:
    """The IPv4 addresses an IPv6 address carries (mapped, 6to4, Teredo)."""
    if ip.version != 6:
        return []
    found = [ip.ipv4_mapped, ip.sixtofour, *(ip.teredo or ())]
    return [v4 for v4 in found if v4 is not None]


_own: tuple[float, frozenset[IPAddress]] = (float("-inf"), frozenset())
_own_lock = threading.Lock()


def own_addresses() -> frozenset[IPAddress]:
    """The addresses of this server's network interfaces (re-read once a minute): a
    webhook to the server's own public address would reach whatever listens on it."""
    global _own
    with _own_lock:
        read_at, addresses = _own
        if time.monotonic() - read_at > OWN_ADDRESSES_TTL:
            found: set[IPAddress] = set()
            for interface in psutil.net_if_addrs().values():
                for entry in interface:
                    if entry.family in (socket.AF_INET, socket.AF_INET6):
                        try:
                            found.add(ipaddress.ip_address(entry.address.split("%")[0]))
                        except ValueError:
                            pass
            addresses = frozenset(found)
            _own = (time.monotonic(), addresses)
        return addresses


def why_refused(ip: IPAddress) -> str | None:
    """Why Desk must not connect to `ip` (e.g. "a loopback address"), or None if it may."""
    if settings.DESK_WEBHOOK_ALLOW_PRIVATE:
        return None
    mapped = ip.ipv4_mapped if ip.version == 6 else None
    for network in settings.DESK_WEBHOOK_ALLOWED_NETWORKS:
        if ip in network or (mapped is not None and mapped in network):
            return None
    for candidate in (ip, *_embedded_ipv4(ip)):
        if kind := _kind(candidate):
            return f"a {kind} address"
    if ip in own_addresses():
        return "this server's own address"
    return None


def literal_address_refusal(url: str) -> str | None:
    """Why a webhook URL is refused as it stands, or None: its host is an IP address
    Desk may not reach. (A host name is checked when a POST resolves it.)"""
    try:
        host = urlsplit(url).hostname or ""
        ip = ipaddress.ip_address(host)
    except ValueError:
        return None
    if reason := why_refused(ip):
        return f"{ip} is {reason}; {SETTINGS_HINT}."
    return None


# --- one lookup per attempt -------------------------------------------------------

def _resolve(host: str, port: int, timeout: float) -> list[str]:
    """getaddrinfo, waited for at most `timeout` seconds: it has no timeout of its own,
    so it runs on a thread of its own that is left behind if it hangs."""
    outcome: dict = {}
    done = threading.Event()

    def lookup() -> None:
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
            outcome["addresses"] = list(dict.fromkeys(str(info[4][0]) for info in infos))
        except Exception as exc:
            outcome["error"] = exc
        finally:
            done.set()

    threading.Thread(target=lookup, name=f"resolve {host}", daemon=True).start()
    if not done.wait(timeout):
        raise httpx.ConnectTimeout(f"could not resolve {host} in time")
    if error := outcome.get("error"):
        reason = getattr(error, "strerror", None) or str(error)
        raise httpx.ConnectError(f"could not resolve {host}: {reason}")
    return outcome["addresses"]


def checked_addresses(host: str, port: int, deadline: float) -> list[str]:
    """Resolve `host` once; its addresses if Desk may reach every one of them.

    Raises Refused naming the first refused address, httpx.ConnectError when the name
    does not resolve, httpx.ConnectTimeout when the lookup outlasts the deadline."""
    try:
        addresses = [str(ipaddress.ip_address(host))]  # an address needs no lookup
    except ValueError:
        addresses = _resolve(host, port, max(0.0, deadline - time.monotonic()))
    for address in addresses:
        ip = ipaddress.ip_address(address.split("%")[0])
        if reason := why_refused(ip):
            named = f"{host} resolves to {ip}, which is" if str(ip) != host else f"{ip} is"
            raise Refused(f"Refused: {named} {reason}; {SETTINGS_HINT}.")
    return addresses


# --- a transport that connects only to checked addresses, within the deadline -------


@dataclass
class _Attempt:
    deadline: float  # time.monotonic()
    host: str
    port: int
    addresses: list[str]


class _PinnedBackend(httpcore.NetworkBackend):
    """httpcore's sockets, with two rules: connect only to the current attempt's checked
    addresses, and give every operation at most the time left before its deadline."""

    def __init__(self) -> None:
        self._sockets = httpcore.SyncBackend()
        self.attempt: _Attempt | None = None

    def time_left(self, timeout: float | None, expired: type[Exception]) -> float:
        left = self.attempt.deadline - time.monotonic() if self.attempt else 0.0
        if left <= 0:
            raise expired("the webhook's deadline passed")
        return left if timeout is None else min(timeout, left)

    def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):
        attempt = self.attempt
        if attempt is None or (host.lower(), port) != (attempt.host, attempt.port):
            raise httpcore.ConnectError(f"{host}:{port} was not checked for this attempt")
        error: Exception = httpcore.ConnectError(f"{host} has no address")
        for address in attempt.addresses:
            try:
                stream = self._sockets.connect_tcp(
                    address, port, timeout=self.time_left(timeout, httpcore.ConnectTimeout),
                    local_address=local_address, socket_options=socket_options,
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                error = exc
                continue
            return _DeadlineStream(stream, self)
        raise error

    def connect_unix_socket(self, path, timeout=None, socket_options=None):
        raise httpcore.ConnectError("webhooks do not use unix sockets")

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


class _DeadlineStream(httpcore.NetworkStream):
    def __init__(self, stream: httpcore.NetworkStream, backend: _PinnedBackend) -> None:
        self._stream, self._backend = stream, backend

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._stream.read(max_bytes, self._backend.time_left(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._stream.write(buffer, self._backend.time_left(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._stream.close()

    def start_tls(self, ssl_context, server_hostname=None, timeout=None):
        # CPython bounds a whole TLS handshake (and each TLS read) by the socket timeout.
        left = self._backend.time_left(timeout, httpcore.ConnectTimeout)
        return _DeadlineStream(self._stream.start_tls(ssl_context, server_hostname, left),
                               self._backend)

    def get_extra_info(self, info: str):
        return self._stream.get_extra_info(info)


class WebhookClient:
    """POSTs webhooks, one at a time, each within its total deadline and only to checked
    addresses; a connection is kept alive between POSTs to the same URL.

    Environment proxies (HTTP_PROXY, …) are not used: the proxy would make the
    connection, so the address check would no longer be about the webhook's address."""

    def __init__(self) -> None:
        self._backend = _PinnedBackend()
        transport = httpx.HTTPTransport(trust_env=False)
        # httpx takes no network backend of its own; its transport wraps this one pool.
        transport._pool = httpcore.ConnectionPool(
            ssl_context=httpx.create_ssl_context(),
            max_connections=1,
            max_keepalive_connections=1,
            network_backend=self._backend,
        )
        self._client = httpx.Client(transport=transport, follow_redirects=False, trust_env=False)

    def __enter__(self) -> WebhookClient:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self._client.close()

    def post(self, url: str, *, content: bytes, headers: dict[str, str], timeout: float) -> int:
        """The answer's status code, once the whole answer (or its first
        MAX_ANSWER_BYTES) arrived within `timeout` seconds of the call.

        Raises Refused for an address Desk may not reach, and an httpx error otherwise
        (an httpx.TimeoutException when the deadline passed)."""
        deadline = time.monotonic() + timeout
        target = httpx.URL(url)
        if target.scheme not in DEFAULT_PORTS:
            raise Refused(f"Refused: {target.scheme or 'no'} scheme; use http or https.")
        host = target.raw_host.decode("ascii").lower()
        port = target.port or DEFAULT_PORTS[target.scheme]
        addresses = checked_addresses(host, port, deadline)
        self._backend.attempt = _Attempt(deadline, host, port, addresses)
        try:
            with self._client.stream(
                "POST", target, content=content, headers=headers, timeout=timeout
            ) as response:
                read = 0
                for chunk in response.iter_raw():
                    read += len(chunk)
                    if read >= MAX_ANSWER_BYTES:
                        break  # leaving the block drops the connection, unread
                return response.status_code
        finally:
            self._backend.attempt = None

    def get(self, url: str, *, timeout: float, max_bytes: int) -> bytes:
        """The body of a GET that answers 200, read within `timeout` seconds of the call,
        under the same address rules as a webhook (remote media, DESK_FETCH_REMOTE_MEDIA).
        Redirects are not followed (each hop would need the address check).

        Raises Refused for an address Desk may not reach or a body over `max_bytes`,
        httpx.HTTPStatusError for another status, an httpx error otherwise."""
        deadline = time.monotonic() + timeout
        target = httpx.URL(url)
        if target.scheme not in DEFAULT_PORTS:
            raise Refused(f"Refused: {target.scheme or 'no'} scheme; use http or https.")
        host = target.raw_host.decode("ascii").lower()
        port = target.port or DEFAULT_PORTS[target.scheme]
        addresses = checked_addresses(host, port, deadline)
        self._backend.attempt = _Attempt(deadline, host, port, addresses)
        try:
            with self._client.stream("GET", target, timeout=timeout) as response:
                response.raise_for_status()
                if response.status_code != 200:
                    raise httpx.HTTPStatusError(
                        f"{response.status_code} is not 200", request=response.request,
                        response=response,
                    )
                body = bytearray()
                for chunk in response.iter_bytes():
                    body += chunk
                    if len(body) > max_bytes:
                        raise Refused(f"Refused: the body is over {max_bytes} bytes.")
                return bytes(body)
        finally:
            self._backend.attempt = None
