"""Concurrent writers on SQLite (the embedded mode): a server's request threads each
write in their own transaction; they take turns in the process (desk/sqlite/base.py),
and none is lost, fails on the lock, or waits for SQLite's sleeping busy handler."""

import sqlite3
import threading
import time

import pytest
from django.db import OperationalError, connection, transaction

from desk.models import Label

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's write lock"),
]


def writers(count: int, transactions: int, work) -> list[BaseException]:
    """`count` threads, each running `transactions` write transactions (`work(n, i)`) on
    its own connection, all starting together, with SQLite's own wait turned off: a
    writer that met the lock taken would fail at once ("database is locked"). The
    errors they met."""
    errors: list[BaseException] = []
    start = threading.Barrier(count)

    def run(n: int) -> None:
        try:
            with connection.cursor() as cursor:
                cursor.execute("PRAGMA busy_timeout = 0")
            start.wait()
            for i in range(transactions):
                try:
                    with transaction.atomic():
                        work(n, i)
                except RuntimeError:
                    pass  # the transaction that gave up rolled back; the next goes on
        except BaseException as error:  # noqa: BLE001 - reported to the test
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return errors


def test_concurrent_writers_all_commit_taking_turns():
    """None fails on the lock, none is lost; one that rolls back lets the next go on."""

    def work(n: int, i: int) -> None:
        Label.objects.create(name=f"w{n}-{i}")
        time.sleep(0.002)  # the lock stays taken a moment: the others must wait
        if i == 2:
            raise RuntimeError("gives up: rolled back")

    errors = writers(8, 6, work)
    assert errors == []
    names = set(Label.objects.values_list("name", flat=True))
    assert names == {f"w{n}-{i}" for n in range(8) for i in range(6) if i != 2}


def test_a_lock_another_process_holds_is_met_as_before():
    """The queue is the process's own: another connection's lock (another process, the
    task worker) is met with SQLite's wait as before (here none: it fails at once), and
    the writer that failed leaves the queue free."""
    other = sqlite3.connect(connection.settings_dict["NAME"], isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA busy_timeout = 0")
        with pytest.raises(OperationalError), transaction.atomic():
            Label.objects.create(name="blocked")
    finally:
        other.execute("ROLLBACK")
        other.close()
        with connection.cursor() as cursor:
            cursor.execute(f"PRAGMA busy_timeout = {20 * 1000}")
    started = time.monotonic()
    Label.objects.create(name="after")
    with transaction.atomic():
        Label.objects.create(name="again")
    assert time.monotonic() - started < 5  # not the queue's 20 s wait
    assert set(Label.objects.values_list("name", flat=True)) == {"after", "again"}
