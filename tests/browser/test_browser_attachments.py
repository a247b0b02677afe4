"""Pictures and files both ways in Chromium: the customer sends a photo from the demo
webchat, the agent sees its thumbnail and opens it full size, pastes a screenshot and
attaches a PDF in the composer (a third file removed before sending), sends them, and the
webchat shows both; a script-carrying SVG dropped on the conversation is only ever a
download and runs nothing."""

from __future__ import annotations

import base64
import io
import time
import uuid

import pytest
from PIL import Image
from playwright.sync_api import expect

pytestmark = pytest.mark.slow
DESK_DEMO = True  # the demo bot and its customer webchat at /demo/

PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
SCRIPT_SVG = (
    b'<svg xmlns="http://www.w3.org/2000/svg" width="20" height="20" onload="alert(\'svg\')">'
    b'<script>alert("script")</script><rect width="20" height="20"/></svg>'
)


def png(width: int, height: int, color: tuple[int, int, int]) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), color).save(out, "PNG")
    return out.getvalue()


def live(page) -> None:
    expect(page.locator("#live-state")).to_have_attribute("data-state", "live")


def loaded(locator) -> None:
    """The picture was fetched and decoded (a broken one has no natural width)."""
    expect(locator).to_be_visible()
    locator.evaluate("img => img.complete || new Promise(r => img.onload = img.onerror = r)")
    assert locator.evaluate("img => img.naturalWidth") > 0


def paste_image(page, data: bytes, name: str) -> None:
    """What Ctrl+V of a screenshot does: a paste event carrying the file."""
    page.locator("#composer textarea").focus()
    page.evaluate(
        """([b64, name]) => {
            const bytes = Uint8Array.from(atob(b64), c => c.charCodeAt(0));
            const data = new DataTransfer();
            data.items.add(new File([bytes], name, {type: "image/png"}));
            const paste = new ClipboardEvent(
                "paste", {clipboardData: data, bubbles: true, cancelable: true});
            document.querySelector("#composer textarea").dispatchEvent(paste);
        }""",
        [base64.b64encode(data).decode(), name],
    )


def drop_file(page, data: bytes, name: str, mime: str) -> None:
    """What dragging a file from the desktop onto the conversation does."""
    page.evaluate(
        """([b64, name, mime]) => {
            const bytes = Uint8Array.from(atob(b64), c => c.charCodeAt(0));
            const data = new DataTransfer();
            data.items.add(new File([bytes], name, {type: mime}));
            const target = document.querySelector("#message-list");
            for (const type of ["dragenter", "dragover", "drop"]) {
                target.dispatchEvent(new DragEvent(
                    type, {dataTransfer: data, bubbles: true, cancelable: true}));
            }
        }""",
        [base64.b64encode(data).decode(), name, mime],
    )


def test_a_photo_in_and_a_pasted_screenshot_and_a_pdf_out(open_page, desk):
    maya = open_page("maya")
    live(maya)
    customer = open_page()
    customer.goto("/demo/")
    name = f"Jo {uuid.uuid4().hex[:6]}"
    customer.get_by_label("Your name").fill(name)
    customer.get_by_role("button", name="Start chatting").click()
    chat = customer.locator("#lines")
    # The greeting's card and choice, with buttons.
    expect(chat.get_by_role("button", name="Talk to a person")).to_be_visible()
    expect(chat.get_by_role("button", name="Returns")).to_be_visible()

    # The customer sends a photo: the bot hands it over to a person.
    photo = png(800, 600, (200, 40, 40))
    customer.locator("#file").set_input_files(
        {"name": "kettle.png", "mimeType": "image/png", "buffer": photo}
    )
    expect(chat).to_contain_text("passing it to a support agent")
    loaded(chat.locator("li.user img.shared"))

    row = maya.get_by_role("row").filter(has_text=name)
    expect(row).to_contain_text("pending")
    row.get_by_role("link").first.click()
    live(maya)
    transcript = maya.locator("#message-list")
    expect(transcript.locator(".part-card")).to_contain_text("Acme Kettle 2000")
    expect(transcript.get_by_role("button", name="Talk to a person")).to_be_disabled()
    thumbnail = transcript.locator(".part-image img")
    loaded(thumbnail)
    src = thumbnail.get_attribute("src")
    assert src.endswith("/thumbnail/")
    # The media worker makes the thumbnail once; then it is a small WebP.
    deadline = time.monotonic() + 15
    while maya.request.get(src).headers["content-type"] != "image/webp":
        assert time.monotonic() < deadline, "no thumbnail was made"
        time.sleep(0.3)
    # A click opens the full size.
    with maya.context.expect_page() as opened:
        transcript.locator(".part-image").click()
    full = opened.value
    full.wait_for_load_state()
    assert "/files/" in full.url and full.url.endswith("/kettle.png")
    assert full.evaluate("document.images[0].naturalWidth") == 800

    # The agent pastes a screenshot, attaches a PDF and a file they then remove, sends.
    maya.get_by_role("button", name="Assign to me").click()
    expect(maya.locator("#assignee-name")).to_have_text("Maya Lopez")
    paste_image(maya, png(320, 200, (30, 90, 220)), "screenshot.png")
    attachments = maya.locator("#composer .attachments")
    loaded(attachments.locator("img.attachment-thumb"))
    maya.locator("#composer .attach-input").set_input_files([
        {"name": "refund.pdf", "mimeType": "application/pdf", "buffer": PDF},
        {"name": "oops.txt", "mimeType": "text/plain", "buffer": b"not this one"},
    ])
    expect(attachments.locator("input[name=files]")).to_have_count(3)
    maya.get_by_role("button", name="Remove oops.txt").click()
    expect(attachments).not_to_contain_text("oops.txt")
    composer = maya.get_by_role("textbox", name="Message")
    composer.fill("Here is what I see, and your refund note.")
    composer.press("Enter")
    sent = transcript.locator(".msg-agent").last
    expect(sent).to_contain_text("Here is what I see, and your refund note.")
    loaded(sent.locator(".part-image img"))
    expect(sent.locator(".part-file")).to_contain_text("refund.pdf")
    expect(sent).not_to_contain_text("oops.txt")
    expect(attachments.locator("li")).to_have_count(0)

    # The webchat shows the agent's picture and file.
    agent_line = chat.locator("li.agent").last
    expect(agent_line).to_contain_text("Here is what I see, and your refund note.")
    loaded(agent_line.locator("img.shared"))
    expect(agent_line.get_by_role("link", name="refund.pdf")).to_be_visible()
    href = agent_line.get_by_role("link", name="refund.pdf").get_attribute("href")
    assert customer.request.get(href).body() == PDF
    assert maya.dialogs.seen == [] and customer.dialogs.seen == []


def test_a_dropped_script_carrying_svg_is_only_a_download_and_runs_nothing(open_page, desk):
    conversation_id = f"svg-{uuid.uuid4().hex[:8]}"
    title = f"Logo {conversation_id}"
    assert desk.bot.start_hitl(conversationId=conversation_id, title=title)[0] == 201
    maya = open_page("maya")
    maya.get_by_role("link", name=title).click()
    live(maya)
    maya.get_by_role("radio", name="Internal note").check()
    drop_file(maya, SCRIPT_SVG, "logo.svg", "image/svg+xml")
    expect(maya.locator("#composer .attachments input[name=files]")).to_have_count(1)
    maya.get_by_role("button", name="Send").click()
    chip = maya.locator("#message-list .part-file.risky")
    expect(chip).to_contain_text("logo.svg")
    assert maya.locator("#message-list .part-image").count() == 0  # never drawn as a picture
    url = chip.get_attribute("href")
    answer = maya.request.get(url)
    assert answer.headers["content-type"] == "application/octet-stream"
    assert answer.headers["content-disposition"].startswith("attachment")
    assert "sandbox" in answer.headers["content-security-policy"]
    assert answer.headers["x-content-type-options"] == "nosniff"
    # Opened directly, it downloads; nothing in it runs.
    with maya.expect_download() as download:
        maya.evaluate("url => { window.location.href = url; }", url)
    assert download.value.suggested_filename == "logo.svg"
    maya.wait_for_timeout(500)
    assert maya.dialogs.seen == []
