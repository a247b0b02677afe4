"""`manage.py demo_setup`: demo data for `make run`, created once and reported each time.

An admin and two agents, a connected sample bot with a few tickets, and the demo bot
behind the /demo/ webchat (deployed and enabled; it deploys itself again with its
webhook URL, over the API, on its first chat). The generated passwords are kept in
var/demo-credentials.json so the local demo can print them again; Desk itself stores
only password and key hashes.

The key printed is the demo bot's own (kept in its settings row, as a bot keeps its
key): it reaches only the bots it deployed. Earlier versions printed a workspace-wide
key, which reads every bot's webhook secret; one found in the credentials is still
printed, saying so.
"""

import json
import os
import secrets

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.core.management.base import BaseCommand
from django.db import transaction

from bots.demo.bot import BOT_NAME, HANDOFF_SETTINGS
from bots.demo.models import DemoBotConfig
from bots.models import ApiKey, Bot, hash_api_key
from bots.services import api_key_create, bot_deploy, bot_set_connected
from desk.models import Ticket
from desk.services import HistoryItem, start_hitl

CAST = [
    # username, first, last, is_staff
    ("admin", "Alex", "Admin", True),
    ("maya", "Maya", "Lopez", False),
    ("sam", "Sam", "Okafor", False),
]
# Agents who may decide the bots' approval requests (admins always may).
APPROVERS = ("maya",)

SAMPLE_TICKETS = [
    dict(conversation_id="sample-1", title="Refund for a double charge", priority="urgent",
         user_name="Jordan Lee", user_email="jordan@example.com",
         history=[("user", "I was charged twice for my order #4411."),
                  ("bot", "I'm sorry about that. Let me get a person to look at it.")]),
    dict(conversation_id="sample-2", title="Can't log in after password reset", priority="high",
         user_name="Priya Nair", user_email="priya@example.com",
         history=[("user", "The reset link says it expired."), ("user", "I need a human please")]),
    dict(conversation_id="sample-3", title="Question about the Pro plan", priority="low",
         user_name="Chen Wu", user_email="chen@example.com",
         history=[("user", "Does the Pro plan include SSO?")]),
]


class Command(BaseCommand):
    help = "Create the demo admin, agents, API key and sample tickets (once), and print the logins."

    def handle(self, *args, **options) -> None:
        path = settings.VAR_DIR / "demo-credentials.json"
        credentials = json.loads(path.read_text()) if path.exists() else {}
        with transaction.atomic():
            self._users(credentials)
            self._sample_bot()
            self._demo_bot()
        settings.VAR_DIR.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(credentials, indent=2))
        path.chmod(0o600)
        self._report(credentials)

    def _users(self, credentials: dict) -> None:
        User = get_user_model()
        for username, first, last, staff in CAST:
            if User.objects.filter(username=username).exists():
                continue
            password = secrets.token_urlsafe(9)
            user = User.objects.create_user(
                username=username, password=password, first_name=first, last_name=last,
                email=f"{username}@desk.example", is_staff=staff, is_superuser=staff,
            )
            if username in APPROVERS:
                user.user_permissions.add(
                    Permission.objects.get(
                        codename="decide_approval", content_type__app_label="approvals"
                    )
                )
            credentials.setdefault("users", {})[username] = password

    def _sample_bot(self) -> None:
        if Bot.objects.filter(bot_id="acme-support").exists():
            return
        bot, _ = bot_deploy(bot_id="acme-support", api_key=None, name="Acme Support Bot")
        bot = bot_set_connected(bot_id=bot.bot_id, connected=True)
        if Ticket.objects.exists():
            return
        for sample in SAMPLE_TICKETS:
            sample = dict(sample)  # the module's list stays whole for the next call
            history = [HistoryItem(role=r, text=t) for r, t in sample.pop("history")]
            start_hitl(bot=bot, message_history=history, **sample)

    def _demo_bot(self) -> None:
        """The webchat's bot: its own API key (kept in its own settings row), enabled."""
        config = DemoBotConfig.objects.first()
        if config is None:
            _, plain = api_key_create(name="demo webchat bot")
            config = DemoBotConfig.objects.create(api_key=plain)
        if not Bot.objects.filter(bot_id=config.bot_id).exists():
            bot_deploy(
                bot_id=config.bot_id,
                api_key=ApiKey.objects.filter(key_hash=hash_api_key(config.api_key)).first(),
                name=BOT_NAME,
                agent_assigned_message=HANDOFF_SETTINGS["agentAssignedMessage"],
                session_ended_message=HANDOFF_SETTINGS["sessionEndedMessage"],
                agent_assigned_timeout_seconds=HANDOFF_SETTINGS["agentAssignedTimeoutSeconds"],
                agent_assigned_timeout_message=HANDOFF_SETTINGS["agentAssignedTimeoutMessage"],
                csat_message=HANDOFF_SETTINGS["csatMessage"],
            )
            bot_set_connected(bot_id=config.bot_id, connected=True)

    def _report(self, credentials: dict) -> None:
        users = credentials.get("users", {})
        out = self.stdout.write
        out("")
        out("Desk demo data")
        for username, _, _, staff in CAST:
            role = "admin" if staff else "agent"
            note = "  (decides approvals)" if username in APPROVERS else ""
            password = users.get(username, "(unchanged)")
            out(f"  {role:5}  login {username:6} password {password}{note}")
        out(f"  (kept in {settings.VAR_DIR / 'demo-credentials.json'})")
        config = DemoBotConfig.objects.get()  # _demo_bot made it
        out(f"  demo bot API key: {config.api_key}")
        out("    the /demo/ webchat bot's own key: it acts only for the bots it deployed")
        out(f"    ({config.bot_id}, and any bot you deploy with it)")
        old_key = credentials.get("api_key", "")  # from an earlier demo_setup
        if ApiKey.objects.filter(
            key_hash=hash_api_key(old_key), workspace_wide=True, revoked_at__isnull=True
        ).exists():
            out(f"  workspace-wide API key: {old_key}")
            out("    acts for EVERY bot: reads and changes any bot, its webhook secret")
            out("    included, and its tickets; revoke it in Settings → API keys if unused")
        base = f"http://{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '8000')}"
        out("")
        out("Try a handoff in two browser windows:")
        out(f"  inbox (agent, log in as maya):  {base}/")
        out(f"  webchat (customer):             {base}/demo/  (type \"agent\")")
        out("An approval: in the webchat ask for \"a refund of 40 for order 991\", then")
        out(f"  approve, change or reject it:   {base}/approvals/")
        out("")
