"""`manage.py serve`: Desk's server, daphne on HOST:PORT (what `make run` starts)."""

from daphne.cli import CommandLineInterface
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Serve Desk (HTTP and websockets) with daphne."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)

    def handle(self, *args, host: str, port: int, **options) -> None:
        self.stdout.write(f"Desk is serving on http://{host}:{port}/ (Ctrl+C to stop)")
        CommandLineInterface().run(
            ["--bind", host, "--port", str(port), "--proxy-headers", "desk.asgi:application"]
        )
