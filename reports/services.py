"""Changes the reports own: the conversation counts bots report."""

from datetime import date

from django.db import IntegrityError, transaction
from django.utils import timezone

from bots.models import Bot
from desk.exceptions import InvalidInput
from reports.models import BotDayStats


def bot_stats_report(*, bot: Bot, day: date, conversations: int) -> tuple[BotDayStats, bool]:
    """Set how many conversations the bot handled on `day` (desk time zone); reporting the
    same day again replaces the figure. (stats, created). A day after today, or a negative
    count, is InvalidInput and changes nothing."""
    if day > timezone.localdate(timezone=timezone.get_default_timezone()):
        raise InvalidInput(
            "The date is in the future (days are counted in the desk's time zone).",
            field="date",
        )
    if conversations < 0:
        raise InvalidInput("The count cannot be negative.", field="conversations")
    now = timezone.now()
    for attempt in range(2):
        try:
            with transaction.atomic():
                stats, created = BotDayStats.objects.select_for_update().get_or_create(
                    bot=bot,
                    day=day,
                    defaults={"conversations": conversations, "reported_at": now},
                )
                if not created:
                    stats.conversations = conversations
                    stats.reported_at = now
                    stats.save(update_fields=["conversations", "reported_at"])
                return stats, created
        except IntegrityError:
            if attempt:  # a concurrent first report won; the retry updates it
                raise
    raise AssertionError("unreachable")
