"""A minimal websocket client for the benchmarks: many sockets, little overhead.

Each frame is time-stamped when its bytes reach the process (in `data_received`),
so with a thousand sockets the client's own parsing adds as little as possible to
the measured delivery time. Frames are searched for benchmark tokens (`BT<n>x`)
as raw bytes; nothing is decoded or rendered. Only what the benchmarks need:
no extensions, no client frames but pong and close.
"""

from __future__ import annotations

import asyncio
import base64
import os
import re
import struct
import time

TOKEN = re.compile(rb"BT(\d+)x")


def token(n: int) -> str:
    return f"BT{n}x"


class Socket(asyncio.Protocol):
    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buffer = b""
        self.open: asyncio.Future = asyncio.get_running_loop().create_future()
        self.closed = asyncio.get_running_loop().create_future()
        self.seen: dict[int, float] = {}  # token -> when its first frame arrived
        self.frames = 0
        self.frame_bytes = 0
        self._partial = b""

    # --- asyncio.Protocol -------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.open.done():
            self.open.set_exception(ConnectionError("closed during the handshake"))
        if not self.closed.done():
            self.closed.set_result(None)

    def data_received(self, data: bytes) -> None:
        now = time.perf_counter()
        self.buffer += data
        if not self.open.done():
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            head, self.buffer = self.buffer[:end], self.buffer[end + 4 :]
            status = head.split(b"\r\n", 1)[0]
            if b" 101 " not in status + b" ":
                self.open.set_exception(ConnectionError(status.decode("latin-1")))
                self.transport.close()
                return
            self.open.set_result(None)
        self._frames(now)

    # --- frames ------------------------------------------------------------------------

    def _frames(self, now: float) -> None:
        buf = self.buffer
        while len(buf) >= 2:
            fin, opcode = buf[0] & 0x80, buf[0] & 0x0F
            length, at = buf[1] & 0x7F, 2
            if length == 126:
                if len(buf) < 4:
                    break
                length, at = struct.unpack("!H", buf[2:4])[0], 4
            elif length == 127:
                if len(buf) < 10:
                    break
                length, at = struct.unpack("!Q", buf[2:10])[0], 10
            if len(buf) < at + length:
                break
            payload, buf = buf[at : at + length], buf[at + length :]
            if opcode in (0, 1, 2):
                self._partial += payload
                if fin:
                    self._message(self._partial, now)
                    self._partial = b""
            elif opcode == 9:  # ping
                self._send(0xA, payload)
            elif opcode == 8:  # close
                self.transport.close()
        self.buffer = buf

    def _message(self, payload: bytes, now: float) -> None:
        self.frames += 1
        self.frame_bytes += len(payload)
        for match in TOKEN.finditer(payload):
            self.seen.setdefault(int(match.group(1)), now)

    def _send(self, opcode: int, payload: bytes) -> None:
        mask = os.urandom(4)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        assert len(payload) < 126
        self.transport.write(bytes([0x80 | opcode, 0x80 | len(payload)]) + mask + masked)

    def close(self) -> None:
        if self.transport and not self.transport.is_closing():
            self._send(0x8, struct.pack("!H", 1000))
            self.transport.close()


async def connect(port: int, path: str, *, cookie: str = "", timeout: float = 30) -> Socket:
    """Open a websocket to 127.0.0.1:port/path, as a browser tab of that session would."""
    loop = asyncio.get_running_loop()
    _, sock = await loop.create_connection(Socket, "127.0.0.1", port)
    key = base64.b64encode(os.urandom(16)).decode()
    request = (
        f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
        f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
        f"Origin: http://127.0.0.1:{port}\r\n"
        + (f"Cookie: sessionid={cookie}\r\n" if cookie else "")
        + "\r\n"
    )
    sock.transport.write(request.encode())
    await asyncio.wait_for(sock.open, timeout)
    return sock


async def connect_many(
    port: int,
    paths_and_cookies: list[tuple[str, str]],
    *,
    parallel: int = 25,
    timeout: float = 120,
) -> list[Socket]:
    """Open many sockets, `parallel` handshakes at a time, within `timeout` seconds."""
    gate = asyncio.Semaphore(parallel)

    async def one(path: str, cookie: str) -> Socket:
        async with gate:
            return await connect(port, path, cookie=cookie)

    return await asyncio.wait_for(
        asyncio.gather(*(one(p, c) for p, c in paths_and_cookies)), timeout
    )


async def wait_for_tokens(sockets: list[Socket], wanted: int, *, timeout: float) -> bool:
    """Until every socket has seen token `wanted`, or `timeout` seconds."""
    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        if all(wanted in s.seen for s in sockets):
            return True
        await asyncio.sleep(0.005)
    return False
