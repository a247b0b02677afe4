"""`manage.py create_api_key NAME`: a new bot API key, printed once."""

from django.core.management.base import BaseCommand, CommandError

from bots.services import api_key_create
from desk.exceptions import InvalidInput


class Command(BaseCommand):
    help = "Create an API key for the bot API and print it (it is shown only this once)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("name", help="What the key is for, e.g. 'support-bot production'.")
        parser.add_argument(
            "--workspace-wide",
            action="store_true",
            help="Let the key act for every bot (default: only the bots it deploys).",
        )

    def handle(self, *args, name: str, workspace_wide: bool, **options) -> None:
        try:
            key, plain = api_key_create(name=name, workspace_wide=workspace_wide)
        except InvalidInput as exc:
            raise CommandError(exc.message) from None
        self.stderr.write(f"Created API key {key.name!r} ({key.prefix}…). Store it now:")
        self.stdout.write(plain)
