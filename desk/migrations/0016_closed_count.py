"""The count of closed tickets kept by the database (desk.closed_count): its table, the
triggers on desk_ticket that keep it, and the count of the tickets already closed."""

from django.db import migrations, models


def forwards(apps, schema_editor):
    from desk import closed_count

    closed_count.install(schema_editor.connection)


def backwards(apps, schema_editor):
    from desk import closed_count

    closed_count.uninstall(schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [
        ("desk", "0015_presence_locale"),
    ]

    operations = [
        migrations.CreateModel(
            name="ClosedCount",
            fields=[
                ("shard", models.PositiveSmallIntegerField(primary_key=True, serialize=False)),
                ("tickets", models.BigIntegerField(default=0)),
            ],
            options={
                "db_table": "desk_closed_count",
            },
        ),
        migrations.RunPython(forwards, backwards, elidable=False),
    ]
