"""What a file is, read from its bytes: never from the name or Content-Type its sender gave.

Binary formats are recognised by their magic numbers (`filetype`, pure Python); pictures
are then opened with Pillow, which must agree (and tells their size); text is told apart
with the rules browsers use to sniff HTML (WHATWG MIME Sniffing), and SVG is read for
anything that could run or reach out.

The result says how Desk may show the file:
- `kind`: image (shown inline, thumbnailed), audio or video (native players), or file
  (a download chip);
- `active`: HTML, XML, SVG with scripts or external references, executables and scripts
  (by their bytes or by their extension): served only as a download, as
  application/octet-stream, never shown.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass

import filetype
from PIL import Image, UnidentifiedImageError

# Shown inline by every current browser: the formats Desk calls pictures.
IMAGE_TYPES = {
    "image/png", "image/jpeg", "image/gif", "image/webp", "image/avif", "image/bmp",
    "image/apng",
}
AUDIO_TYPES = {
    "audio/mpeg": "audio/mpeg", "audio/ogg": "audio/ogg", "audio/x-wav": "audio/wav",
    "audio/mp4": "audio/mp4", "audio/aac": "audio/aac", "audio/x-flac": "audio/flac",
}
VIDEO_TYPES = {"video/mp4", "video/webm", "video/quicktime", "video/x-m4v"}
EXECUTABLE_TYPES = {
    "application/x-msdownload", "application/x-executable", "application/x-shockwave-flash",
    "application/wasm", "application/x-google-chrome-extension", "application/x-deb",
    "application/x-rpm",
}
# Mach-O and Java class files, which `filetype` does not know.
_EXECUTABLE_MAGIC = (
    b"\xfe\xed\xfa\xce", b"\xfe\xed\xfa\xcf", b"\xce\xfa\xed\xfe", b"\xcf\xfa\xed\xfe",
    b"\xca\xfe\xba\xbe",
)
# Whatever their bytes, files with these extensions run or render when opened.
ACTIVE_EXTENSIONS = {
    "exe", "dll", "com", "bat", "cmd", "scr", "msi", "msp", "pif", "cpl", "ps1", "psm1",
    "vbs", "vbe", "js", "jse", "mjs", "wsf", "wsh", "hta", "jar", "app", "sh", "bash",
    "command", "apk", "lnk", "reg", "html", "htm", "xhtml", "shtml", "mht", "mhtml",
    "xml", "xsl", "xslt", "swf", "url", "desktop", "appimage", "dmg", "pkg", "iso",
}
# Plain text, named more precisely by its extension.
TEXT_EXTENSIONS = {
    "csv": "text/csv", "json": "application/json", "md": "text/markdown",
    "ics": "text/calendar", "vcf": "text/vcard",
}

# WHATWG MIME Sniffing: the tags that make a browser take text for HTML.
_HTML_START = re.compile(
    rb"^\s*(<!doctype html|<html|<head|<script|<iframe|<h1|<div|<font|<table|<a|<style|"
    rb"<title|<b|<body|<br|<p|<!--)[\s>]",
    re.IGNORECASE,
)
_SVG_START = re.compile(rb"^\s*(<\?xml[^>]*>\s*)?(<!--.*?-->\s*|<!doctype[^>]*>\s*)*<svg[\s>]",
                        re.IGNORECASE | re.DOTALL)
_SVG_RISKS = re.compile(
    r"<script|<foreignobject|<iframe|<embed|<object|<handler|<listener|<!entity|"
    r"javascript:|vbscript:|data:text/html|@import|\son[a-z]+\s*=|"
    r"href\s*=\s*[\"']?\s*(?!#|data:image/)[^\s\"'>]",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Sniffed:
    content_type: str
    kind: str  # image, audio, video, file
    active: bool = False
    width: int | None = None
    height: int | None = None


def extension(name: str) -> str:
    return name.rsplit(".", 1)[-1].lower() if "." in name else ""


def sniff(data: bytes, name: str = "") -> Sniffed:
    """What `data` is. `name` only refines plain text and flags risky extensions."""
    found = _sniff(data, extension(name))
    if extension(name) in ACTIVE_EXTENSIONS and not found.active:
        return Sniffed(found.content_type, "file", active=True)
    return found


def _sniff(data: bytes, ext: str) -> Sniffed:
    head = data[:8192]
    if head.startswith(_EXECUTABLE_MAGIC) or head.startswith(b"#!"):
        return Sniffed("application/octet-stream", "file", active=True)
    guess = filetype.guess(head)
    if guess is not None:
        mime = guess.mime
        if mime in IMAGE_TYPES:
            return _picture(data, mime)
        if mime in AUDIO_TYPES:
            return Sniffed(AUDIO_TYPES[mime], "audio")
        if mime in VIDEO_TYPES:
            return Sniffed("video/mp4" if mime == "video/x-m4v" else mime, "video")
        if mime == "audio/ogg" or mime == "video/webm":
            return Sniffed(mime, "audio" if mime.startswith("audio") else "video")
        return Sniffed(mime, "file", active=mime in EXECUTABLE_TYPES)
    text = _as_text(data)
    if text is None:
        return Sniffed("application/octet-stream", "file")
    if _SVG_START.match(head):
        if _SVG_RISKS.search(text):
            return Sniffed("image/svg+xml", "file", active=True)
        return Sniffed("image/svg+xml", "image")
    if _HTML_START.match(head):
        return Sniffed("text/html", "file", active=True)
    if head.lstrip().lower().startswith(b"<?xml"):
        return Sniffed("application/xml", "file", active=True)
    return Sniffed(TEXT_EXTENSIONS.get(ext, "text/plain"), "file")


def _as_text(data: bytes) -> str | None:
    """The bytes as UTF-8 text (a BOM allowed), or None for binary data."""
    if b"\x00" in data[:65536]:
        return None
    for cut in range(4):  # a character cut at the end of a long file is still text
        try:
            return data[: len(data) - cut].decode("utf-8-sig")
        except UnicodeDecodeError:
            if len(data) - cut <= 0:
                break
    return None


_PIL_TYPES = {
    "PNG": {"image/png", "image/apng"}, "JPEG": {"image/jpeg"}, "GIF": {"image/gif"},
    "WEBP": {"image/webp"}, "BMP": {"image/bmp"}, "AVIF": {"image/avif"},
}


def _picture(data: bytes, mime: str) -> Sniffed:
    """A picture only if Pillow reads its header as that format (a PNG signature followed
    by anything else is a file)."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            if mime not in _PIL_TYPES.get(image.format or "", set()):
                return Sniffed(mime, "file")
            width, height = image.size
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError):
        # AVIF without the plugin, a truncated header: still served, as a download.
        return Sniffed(mime, "image" if mime == "image/avif" else "file")
    return Sniffed(mime, "image", width=width, height=height)
