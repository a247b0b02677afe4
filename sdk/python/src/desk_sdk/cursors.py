"""Where `listen()` keeps its place in the bot's event log between runs.

A cursor store has two methods, `load() -> int` (0 when nothing was saved) and
`save(cursor: int) -> None`. `listen()` saves after each event the caller handled,
so a restarted bot resumes after the last handled event: delivery is at least once
(an event being handled when the process died comes again), never lost.
Write your own for a database row or Redis key; the two here cover most bots.
"""

from __future__ import annotations

import os
import tempfile
import threading
from pathlib import Path
from typing import Protocol, runtime_checkable


@runtime_checkable
class CursorStore(Protocol):
    def load(self) -> int: ...

    def save(self, cursor: int) -> None: ...


class MemoryCursorStore:
    """Kept in the process only: a restarted bot starts again from `start`."""

    def __init__(self, start: int = 0) -> None:
        self._cursor = int(start)
        self._lock = threading.Lock()

    def load(self) -> int:
        with self._lock:
            return self._cursor

    def save(self, cursor: int) -> None:
        with self._lock:
            self._cursor = int(cursor)


class FileCursorStore:
    """One small text file holding the cursor, replaced atomically on each save
    (a crash mid-save leaves the previous cursor, never a torn file)."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)

    def load(self) -> int:
        try:
            text = self.path.read_text().strip()
        except FileNotFoundError:
            return 0
        if not text.isdigit():
            raise ValueError(f"{self.path} does not hold a cursor (a whole number): {text!r}")
        return int(text)

    def save(self, cursor: int) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=f".{self.path.name}.")
        try:
            with os.fdopen(fd, "w") as file:
                file.write(f"{int(cursor)}\n")
                file.flush()
                os.fsync(file.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
