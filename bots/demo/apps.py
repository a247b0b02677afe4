from django.apps import AppConfig


class DemoConfig(AppConfig):
    name = "bots.demo"
    label = "demo"
    verbose_name = "Demo bot and webchat"
    default_auto_field = "django.db.models.BigAutoField"
