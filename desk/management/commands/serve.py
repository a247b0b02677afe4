"""`manage.py serve`: Desk's server, daphne on HOST:PORT (what `make run` starts).

With DESK_EMBEDDED_WORKER on (the default) the task worker — webhook delivery, the
agent-assignment timeouts — runs on threads of this process (one of them for the
timeouts alone), so one command is the whole of Desk. Scaled out, turn it off and
run `manage.py db_worker` processes (docs/deploy.md: one for the timers' queue).

daphne runs without `--proxy-headers` (it would believe the left-most X-Forwarded-For
address from anyone) and without its access log (it would name the proxy): Desk's
ASGI application does both itself, trusting only DESK_TRUSTED_PROXIES (desk/forwarded.py).
"""

from daphne.cli import CommandLineInterface
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError


def local_address(host: str) -> str:
    """How a client on this machine reaches a server bound to `host` (URL form)."""
    if host in ("", "0.0.0.0"):
        return "127.0.0.1"
    if host == "::":
        return "[::1]"
    return f"[{host}]" if ":" in host else host


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
                f"Task worker: embedded, {size} threads for webhooks and media, 1 for timeouts"
                " (they run in this process)"
            )
        else:
            self.stdout.write("Task worker: external (run `manage.py db_worker`)")
        if not settings.DESK_PUBLIC_URL:
            # File and avatar URLs given to bots point here (DESK_PUBLIC_URL overrides).
            settings.DESK_PUBLIC_URL = f"http://{local_address(host)}:{port}"
        if not settings.DESK_DEMO_DESK_URL:
            # The demo bot calls Desk's API here, never at a request's Host header.
            settings.DESK_DEMO_DESK_URL = f"http://{local_address(host)}:{port}/"
        self.stdout.write(f"Desk is serving on http://{host}:{port}/ (Ctrl+C to stop)")
        self.stdout.write(f"  inbox (agents):     http://{host}:{port}/")
        self.stdout.write(f"  webchat (customer): http://{host}:{port}/demo/")
        self.stdout.flush()
        try:
            CommandLineInterface().run(
                ["--bind", host, "--port", str(port), "-v", "0", "desk.asgi:application"]
            )
        finally:
            if worker is not None:
                worker.stop()
