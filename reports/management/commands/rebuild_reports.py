"""`manage.py rebuild_reports`: recompute the Reports' per-day rollups from the tickets.

The rollups are kept up to date as tickets change; run this after changing TIME_ZONE
(days are counted in it), after restoring or importing tickets outside Desk, or to
check the live figures (`--check` compares without writing).
"""

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from reports import rollups


def rollup_rows() -> dict[tuple, tuple]:
    """Every rollup row with a figure: (table, key) → sums."""
    found = {}
    for model, key_columns, sum_columns in rollups.ROLLUPS:
        for row in model.objects.values_list(*key_columns, *sum_columns):
            key, sums = row[: len(key_columns)], row[len(key_columns) :]
            if any(sums):
                found[(model.__name__, *key)] = sums
    return found


class Command(BaseCommand):
    help = "Recompute the Reports' per-day rollups from the tickets and their ratings."

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--check", action="store_true",
            help="Compare the live rollups with a rebuild, change nothing; exit 1 if they differ.",
        )

    def handle(self, *args, check: bool = False, **options) -> None:
        if check:
            with transaction.atomic():
                live = rollup_rows()
                rollups.rebuild()
                rebuilt = rollup_rows()
                transaction.set_rollback(True)
            differing = set(live.items()) ^ set(rebuilt.items())
            keys = sorted({key for key, _ in differing})
            if keys:
                raise CommandError(
                    f"{len(keys)} rollup rows differ from a rebuild, e.g. {keys[:3]}; "
                    "run rebuild_reports without --check to fix them."
                )
            self.stdout.write(f"The rollups match a rebuild ({len(live)} rows).")
            return
        done = rollups.rebuild()
        self.stdout.write(
            f"Rebuilt the reports from {done['tickets']:,} tickets: "
            f"{done['rows']:,} rollup rows in {done['seconds']} s."
        )
