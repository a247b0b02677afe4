from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("desk", "0014_inbox_open_facets"),
    ]

    operations = [
        migrations.AddField(
            model_name="presence",
            name="locale",
            field=models.CharField(blank=True, default="", max_length=80),
        ),
    ]
