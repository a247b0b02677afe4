"""Django's SQLite backend, with this process's writers taking turns in the process.

SQLite lets one writer at a time hold a database file. Desk starts every transaction
with BEGIN IMMEDIATE, so a transaction that will write waits for that lock at its start;
SQLite's wait (its busy handler) sleeps in steps that grow to 100 ms and does not wake
when the lock frees. Under many concurrent requests a writer could sleep through many
commits: startHitl under 32 clients had a p99 of 4 s (docs/perf.md).

Here the transactions of one process queue on a lock of the process before BEGIN
IMMEDIATE, and the next one starts the moment the last commits or rolls back. This is
scheduling only: SQLite's own lock still decides, and a writer of another process (the
task worker, a command) meets SQLite's wait as before. A writer that has waited `timeout`
(the database's, 20 s in desk.settings) for the queue goes on to SQLite's wait, so no
transaction waits less than before, whatever holds the queue.
"""

import threading

from django.db.backends.sqlite3 import base

# One queue per database file in this process (tests use their own file).
_queues: dict[str, threading.Lock] = {}
_queues_lock = threading.Lock()


def _queue_for(name: str) -> threading.Lock:
    with _queues_lock:
        return _queues.setdefault(name, threading.Lock())


class DatabaseWrapper(base.DatabaseWrapper):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._writers = _queue_for(str(self.settings_dict["NAME"]))
        self._writers_wait = float(self.settings_dict.get("OPTIONS", {}).get("timeout", 5))
        self._writing = False  # this connection holds its turn

    def _start_transaction_under_autocommit(self) -> None:
        if not self._writing:
            self._writing = self._writers.acquire(timeout=self._writers_wait)
        try:
            super()._start_transaction_under_autocommit()
        except BaseException:
            self._end_turn()
            raise

    def _end_turn(self) -> None:
        if self._writing:
            self._writing = False
            self._writers.release()

    def _commit(self) -> None:
        try:
            super()._commit()
        finally:
            self._end_turn()

    def _rollback(self) -> None:
        try:
            super()._rollback()
        finally:
            self._end_turn()

    def _close(self) -> None:
        try:
            super()._close()
        finally:
            self._end_turn()  # SQLite rolls back a transaction its connection closes on
