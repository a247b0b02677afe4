"""`manage.py serve`: Desk's server, daphne on HOST:PORT (what `make run` starts).

With DESK_EMBEDDED_WORKER on (the default) the task worker — webhook delivery, the
agent-assignment timeouts — runs on a thread of this process, so one command is the
whole of Desk. Scaled out, turn it off and run `manage.py db_worker` processes.
"""

from daphne.cli import CommandLineInterface
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError


class Command(BaseCommand):
    help = "Serve Desk (HTTP and websockets) with daphne, and its task worker when embedded."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)

    def handle(self, *args, host: str, port: int, **options) -> None:
        from bots.delivery import sweep

        # Whatever was in flight when Desk last stopped (a worker killed mid-send) is
        # queued again; the workers, embedded or not, pick it up.
        try:
            if queued := sweep():
                self.stdout.write(f"Webhook delivery re-queued for {queued} bot(s)")
        except DatabaseError as exc:
            raise CommandError(
                f"The database is not ready ({exc}). Run `manage.py migrate`."
            ) from exc
        worker = None
        if settings.DESK_EMBEDDED_WORKER:
            from bots.worker import WorkerPool

            size = settings.DESK_EMBEDDED_WORKER_THREADS
            worker = WorkerPool(size).start()
            self.stdout.write(
                f"Task worker: embedded, {size} threads (webhooks and timeouts run in this process)"
            )
        else:
            self.stdout.write("Task worker: external (run `manage.py db_worker`)")
        self.stdout.write(f"Desk is serving on http://{host}:{port}/ (Ctrl+C to stop)")
        self.stdout.write(f"  inbox (agents):     http://{host}:{port}/")
        self.stdout.write(f"  webchat (customer): http://{host}:{port}/demo/")
        self.stdout.flush()
        try:
            CommandLineInterface().run(
                ["--bind", host, "--port", str(port), "--proxy-headers", "desk.asgi:application"]
            )
        finally:
            if worker is not None:
                worker.stop()
