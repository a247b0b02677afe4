"""`manage.py connect_bot BOT_ID [--disconnect]`: enable or disable a deflecting bot."""

from django.core.management.base import BaseCommand, CommandError

from bots.services import bot_set_connected
from desk.exceptions import NotFound


class Command(BaseCommand):
    help = "Enable a deployed bot as a deflecting bot (or disable it with --disconnect)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("bot_id")
        parser.add_argument("--disconnect", action="store_true", help="Disable the bot instead.")

    def handle(self, *args, bot_id: str, disconnect: bool, **options) -> None:
        try:
            bot = bot_set_connected(bot_id=bot_id, connected=not disconnect)
        except NotFound as exc:
            raise CommandError(exc.message) from None
        state = "connected" if bot.connected else "not connected"
        self.stdout.write(f"{bot.bot_id}: {state}")
