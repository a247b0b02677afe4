"""The upload size limit (DESK_MAX_UPLOAD_BYTES), enforced before a large body is kept.

- `SizeLimitUploadHandler` (first in FILE_UPLOAD_HANDLERS): a multipart body whose
  Content-Length is over the limit is not parsed at all, and a file that grows past it
  while being read stops the upload there. Either way the request is marked
  (`request.upload_too_large`) and the view answers 413; nothing is stored.
- `BodySizeLimit` (ASGI, outermost): a request that announces a body far over any limit
  is answered 413 before a byte of it is read, so it never fills the disk.
"""

from __future__ import annotations

import json

from django.conf import settings
from django.core.files.uploadhandler import FileUploadHandler, StopUpload
from django.http import QueryDict
from django.utils.datastructures import MultiValueDict
from django.utils.formats import number_format
from django.utils.translation import gettext as _
from django.utils.translation import ngettext, pgettext_lazy

# Room for the multipart framing and the form's other fields around one file.
MULTIPART_OVERHEAD = 64 * 1024


def too_large_message() -> str:
    """In the active language (the bot API's is English)."""
    limit = settings.DESK_MAX_UPLOAD_BYTES
    return _("The file is larger than the %(size)s limit (%(bytes)s bytes).") % {
        "size": human_size(limit),
        "bytes": number_format(limit, force_grouping=True),
    }


def human_size(size: int) -> str:
    """12 bytes, 3.5 KiB, 10 MiB, in the active language's units and decimal mark."""
    if size < 1024:
        return ngettext("%(size)s byte", "%(size)s bytes", size) % {"size": size}
    units = {
        "KiB": pgettext_lazy("file size", "%(size)s KiB"),
        "MiB": pgettext_lazy("file size", "%(size)s MiB"),
        "GiB": pgettext_lazy("file size", "%(size)s GiB"),
    }
    value = float(size)
    for unit, words in units.items():
        value /= 1024
        if value < 1024 or unit == "GiB":
            rounded = round(value, 1)
            figure = number_format(rounded, 0 if rounded == int(rounded) else 1)
            return words % {"size": figure}
    raise AssertionError("unreachable")


class SizeLimitUploadHandler(FileUploadHandler):
    def handle_raw_input(self, input_data, META, content_length, boundary, encoding=None):
        self.received = 0
        limit = settings.DESK_MAX_UPLOAD_BYTES + MULTIPART_OVERHEAD
        if content_length and content_length > limit:
            self._mark()
            return QueryDict(encoding=encoding), MultiValueDict()  # nothing parsed
        return None

    def new_file(self, *args, **kwargs) -> None:
        super().new_file(*args, **kwargs)
        self.received = 0

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes:
        self.received += len(raw_data)
        if self.received > settings.DESK_MAX_UPLOAD_BYTES:
            self._mark()
            raise StopUpload(connection_reset=False)
        return raw_data

    def file_complete(self, file_size: int) -> None:
        return None

    def _mark(self) -> None:
        if self.request is not None:
            self.request.upload_too_large = True


class BodySizeLimit:
    """ASGI middleware: 413 at once for a body announced over DESK_MAX_UPLOAD_BYTES plus
    a megabyte (the largest thing any endpoint takes)."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] == "http":
            length = dict(scope.get("headers") or []).get(b"content-length", b"")
            limit = settings.DESK_MAX_UPLOAD_BYTES + 1024 * 1024
            if length.isdigit() and int(length) > limit:
                body = json.dumps({"error": "too_large", "message": too_large_message()})
                await send({
                    "type": "http.response.start",
                    "status": 413,
                    "headers": [
                        (b"content-type", b"application/json"),
                        (b"connection", b"close"),
                    ],
                })
                await send({"type": "http.response.body", "body": body.encode()})
                return
        await self.app(scope, receive, send)
