"""Files and rich messages with the SDK against a real Desk: upload, send as what the file
is, refusals as exceptions naming the field; an agent's file in an AgentMessage, fetched
with download_file; the agent's avatar."""

from __future__ import annotations

import struct
import zlib

import pytest
from conftest import start_desk, stop_desk

from desk_sdk import AgentMessage, AsyncDesk, DeskFile, PayloadTooLarge, ValidationFailed

pytestmark = pytest.mark.slow
PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\n%%EOF\n"


def png(width: int = 4, height: int = 3) -> bytes:
    """A tiny valid PNG, made without an imaging library."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    rows = b"".join(b"\x00" + b"\xff\x00\x00" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows))
            + chunk(b"IEND", b""))


def test_files_and_rich_messages_both_ways(desk_server, tmp_path):
    desk = desk_server.connected_bot()
    history = [
        {"source": {"type": "bot"}, "type": "card", "payload": {
            "title": "Kettle", "actions": [{"action": "say", "label": "Buy", "value": "buy"}]}},
        {"role": "user", "text": "It broke"},
    ]
    desk.start_hitl("conv-f", message_history=history)

    uploaded = desk.upload_file(png(), name="kettle.png")
    assert isinstance(uploaded, DeskFile)
    assert (uploaded.content_type, uploaded.message_type, uploaded.name) == (
        "image/png", "image", "kettle.png")
    sent = desk.send_message("conv-f", type="image", image_url=uploaded.url)
    assert (sent.type, sent.text) == ("image", "[Image] kettle.png")

    path = tmp_path / "invoice.pdf"
    path.write_bytes(PDF)
    bloc = desk.send_file("conv-f", path, text="My invoice")
    assert bloc.type == "bloc" and bloc.text == "My invoice\n[File] invoice.pdf"
    located = desk.send_message("conv-f", type="location", latitude=48.85, longitude=2.29,
                                title="Shop")
    assert located.payload == {"latitude": 48.85, "longitude": 2.29, "title": "Shop"}

    pdf = desk.upload_file(PDF, name="photo.png")
    with pytest.raises(ValidationFailed) as refused:
        desk.send_message("conv-f", type="image", image_url=pdf.url)
    assert "imageUrl" in refused.value.fields
    with pytest.raises(ValidationFailed) as refused:
        desk.send_message("conv-f", type="image", image_url="javascript:alert(1)")
    assert "imageUrl" in refused.value.fields

    # The agent answers with a file: the event carries it; the SDK fetches it.
    desk_server.agent.claim(desk.bot_id, "conv-f")
    desk_server.agent.reply_with_file(desk.bot_id, "conv-f", "Your refund", "refund.pdf", PDF)
    events = desk.listen(wait=1)
    message = next(event for event in events if isinstance(event, AgentMessage))
    assert message.message_type == "bloc"
    assert [item["type"] for item in message.items] == ["text", "file"]
    url = message.items[1]["payload"]["fileUrl"]
    assert message.text == f"Your refund\n[File] refund.pdf {url}"
    assert desk.download_file(url) == PDF
    assert message.agent_id and message.agent_name == "Maya Lopez"
    assert desk.download_file(message.agent_avatar_url).startswith(b"\x89PNG")


async def test_the_async_client_uploads_too(desk_server):
    sync = desk_server.connected_bot()
    sync.start_hitl("conv-a")
    async with AsyncDesk(desk_server.url, api_key=desk_server.api_key,
                         bot_id=sync.bot_id) as desk:
        stored = await desk.send_file("conv-a", png(), name="shot.png")
        assert stored.type == "image"


def test_an_upload_over_the_limit_raises_payload_too_large(tmp_path_factory, migrated_db):
    small = start_desk(tmp_path_factory, migrated_db, DESK_MAX_UPLOAD_BYTES="1000")
    try:
        desk = small.connected_bot()
        with pytest.raises(PayloadTooLarge) as refused:
            desk.upload_file(b"x" * 1001, name="big.bin")
        assert "limit" in refused.value.message
    finally:
        stop_desk(small)
