"""The embedded task worker: django-tasks-db's worker loop on a thread of the server.

`manage.py serve` starts it when DESK_EMBEDDED_WORKER is on, so one command runs
everything. It claims tasks exactly as `manage.py db_worker` does (a locked row in
the queue), so it can run beside separate workers; it is woken as soon as a task is
committed instead of waiting out its polling interval.

The pool keeps one thread for the timers' queue alone: however many webhook
receivers are slow, an assignment timeout runs when it is due.
"""

import logging
import threading
from collections.abc import Sequence

from django.conf import settings
from django.db import OperationalError, close_old_connections, transaction
from django.tasks.signals import task_enqueued
from django.utils.crypto import get_random_string
from django_tasks_db.management.commands.db_worker import Worker
from django_tasks_db.models import DBTaskResult
from django_tasks_db.utils import exclusive_transaction, is_locked_database_exception

from bots.tasks import TIMERS

logger = logging.getLogger("bots.worker")


class EmbeddedWorker(Worker):
    """A worker that runs on a thread, sleeps on an Event, and stops on request.
    It runs the tasks of `queues` ("*": all of them)."""

    def __init__(self, *, interval: float | None = None, queues: Sequence[str] = ("*",)) -> None:
        super().__init__(
            queue_names=list(queues),
            interval=settings.DESK_WORKER_INTERVAL_SECONDS if interval is None else interval,
            batch=False,
            backend_name="default",
            startup_delay=False,
            max_tasks=None,
            worker_id=f"embedded-{get_random_string(12)}",
            excluded_queue_names=[],
        )
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    def wake(self, **kwargs) -> None:
        self._wake.set()

    def _on_enqueued(self, sender, task_result, **kwargs) -> None:
        # Enqueued inside a transaction: the row is visible to us only after it commits.
        transaction.on_commit(self.wake)

    def run(self) -> None:  # the db_worker loop, minus signals and sys.exit
        while self.running:
            close_old_connections()
            task_result = None
            try:
                tasks = DBTaskResult.objects.ready().filter(backend_name=self.backend_name)
                if not self.process_all_queues:
                    tasks = tasks.filter(queue_name__in=self.queue_names)
                with exclusive_transaction(tasks.db):
                    task_result = tasks.get_locked()
                    if task_result is not None:
                        task_result.claim(self.worker_id)
            except OperationalError as exc:
                if not is_locked_database_exception(exc):
                    logger.exception("the task queue could not be read")
                task_result = None
            except Exception:
                logger.exception("the task queue could not be read")
                task_result = None
            if task_result is not None:
                self.run_task(task_result)
                continue
            close_old_connections()
            self._wake.wait(self.interval)
            self._wake.clear()
        close_old_connections()

    def start(self) -> "EmbeddedWorker":
        task_enqueued.connect(self._on_enqueued, dispatch_uid=self.worker_id)
        self._thread = threading.Thread(target=self.run, name=self.worker_id, daemon=True)
        self._thread.start()
        logger.info("embedded task worker %s started", self.worker_id)
        return self

    def stop(self, timeout: float = 15) -> None:
        self.running = False
        task_enqueued.disconnect(dispatch_uid=self.worker_id)
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)


class WorkerPool:
    """`size` embedded workers for every queue, so one slow webhook receiver (held for
    up to DESK_WEBHOOK_TIMEOUT_SECONDS per try) never holds up the other bots'
    deliveries, and one more for the timers alone, so that no number of slow receivers
    delays a timeout."""

    def __init__(self, size: int, *, interval: float | None = None) -> None:
        self.workers = [EmbeddedWorker(interval=interval, queues=[TIMERS])] + [
            EmbeddedWorker(interval=interval) for _ in range(max(1, size))
        ]

    def start(self) -> "WorkerPool":
        for worker in self.workers:
            worker.start()
        return self

    def stop(self, timeout: float = 15) -> None:
        for worker in self.workers:
            worker.running = False
            worker._wake.set()
        for worker in self.workers:
            worker.stop(timeout)
