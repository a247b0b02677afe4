"""`manage.py create_api_key NAME`: a new bot API key, printed once."""

from django.core.management.base import BaseCommand

from bots.services import api_key_create


class Command(BaseCommand):
    help = "Create an API key for the bot API and print it (it is shown only this once)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("name", help="What the key is for, e.g. 'support-bot production'.")

    def handle(self, *args, name: str, **options) -> None:
        key, plain = api_key_create(name=name)
        self.stderr.write(f"Created API key {key.name!r} ({key.prefix}…). Store it now:")
        self.stdout.write(plain)
