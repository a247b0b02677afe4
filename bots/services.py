"""Changes to bots and API keys: deploy, connect, handoff messages, key lifecycle.

The settings pages, the management commands and the bot API all call these.
"""

import secrets
import time

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, connection, transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.formats import number_format
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy, ngettext

from bots import delivery, egress
from bots.models import (
    API_KEY_NAME_MAX_LENGTH,
    API_KEY_PREFIX,
    HANDOFF_MESSAGE_MAX_LENGTH,
    ApiKey,
    Bot,
    hash_api_key,
)
from bots.text import TextProblem, text_problem
from desk.exceptions import InvalidInput, NotFound

# What an admin typed that cannot be stored or shown (`bots.text`), in the admin's
# language; `what` names the field as the page does.
TEXT_PROBLEMS = {
    TextProblem.NUL: gettext_lazy("%(what)s must not contain the NUL character (\\u0000)."),
    TextProblem.SURROGATE: gettext_lazy(
        "%(what)s must be valid Unicode (no unpaired surrogates)."
    ),
    TextProblem.INVISIBLE: gettext_lazy(
        "%(what)s must have visible characters, not only zero-width or other invisible ones."
    ),
}


def _check_text(value: str, limit: int, *, field: str, what: Promise) -> None:
    """At most `limit` characters, and text Desk can store and show (bots.text): no NUL
    character, not only zero-width or other invisible characters."""
    if (problem := text_problem(value)) and problem != TextProblem.BLANK:
        raise InvalidInput(str(TEXT_PROBLEMS[problem]) % {"what": what}, field=field)
    if len(value) > limit:
        too_long = ngettext(
            "%(what)s is limited to %(most)s character; this one has %(count)s.",
            "%(what)s is limited to %(most)s characters; this one has %(count)s.",
            limit,
        )
        raise InvalidInput(
            too_long % {
                "what": what,
                "most": number_format(limit, force_grouping=True),
                "count": number_format(len(value), force_grouping=True),
            },
            field=field,
        )


def api_key_create(
    *, name: str, created_by: AbstractBaseUser | None = None, workspace_wide: bool = False
) -> tuple[ApiKey, str]:
    """A new key. The plain key is returned once, here, and never stored.

    By default a key reaches only the bots it deploys; a workspace-wide key (an explicit
    admin choice) acts for every bot. InvalidInput for a name over the model's limit."""
    name = name.strip()
    _check_text(name, API_KEY_NAME_MAX_LENGTH, field="name", what=gettext_lazy("A key's name"))
    plain = API_KEY_PREFIX + secrets.token_urlsafe(32)
    key = ApiKey.objects.create(
        name=name or "API key",
        prefix=plain[: len(API_KEY_PREFIX) + 6],
        key_hash=hash_api_key(plain),
        created_by=created_by,
        workspace_wide=workspace_wide,
    )
    return key, plain


def api_key_revoke(*, key_id: int) -> ApiKey:
    key = ApiKey.objects.filter(pk=key_id).first()
    if key is None:
        raise NotFound("No such API key.")
    if key.revoked_at is None:
        key.revoked_at = timezone.now()
        key.save(update_fields=["revoked_at"])
    _verified.clear()
    return key


# Keys verified recently, in this process (hash → (until, key)): a bot's calls do not
# read their key from the database every time. A revoked key stops working at once in
# the process that revoked it (the settings page's) and within
# DESK_API_KEY_CACHE_SECONDS in the others (0: no cache).
_verified: dict[str, tuple[float, ApiKey]] = {}
_VERIFIED_MAX = 1_000


def api_key_authenticate(plain: str) -> ApiKey | None:
    """The active key matching a bearer token, noting when it was last used."""
    if not plain or not plain.startswith(API_KEY_PREFIX):
        return None
    key_hash = hash_api_key(plain)
    now_s = time.monotonic()
    cached = _verified.get(key_hash)
    if cached and cached[0] > now_s:
        key = cached[1]
    else:
        key = ApiKey.objects.filter(key_hash=key_hash, revoked_at__isnull=True).first()
        if key is None:
            _verified.pop(key_hash, None)
            return None
        if settings.DESK_API_KEY_CACHE_SECONDS > 0:
            if len(_verified) >= _VERIFIED_MAX:
                _verified.clear()
            _verified[key_hash] = (now_s + settings.DESK_API_KEY_CACHE_SECONDS, key)
    now = timezone.now()
    # Write at most once a minute: this runs on every API call.
    if key.last_used_at is None or (now - key.last_used_at).total_seconds() > 60:
        ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
        key.last_used_at = now
    return key


def bots_for_key(api_key: ApiKey) -> QuerySet[Bot]:
    """The bots an API key may read and act for."""
    if api_key.workspace_wide:
        return Bot.objects.all()
    return Bot.objects.filter(api_keys=api_key)


def bots_for_key_sql(api_key: ApiKey, bot_id_column: str) -> tuple[str, list]:
    """`bots_for_key` as an SQL condition on a column holding a bot's primary key, for a
    read written in plain SQL: (sql, params)."""
    if api_key.workspace_wide:
        return "1 = 1", []
    field = Bot.api_keys.field
    table = connection.ops.quote_name(field.remote_field.through._meta.db_table)
    bot = connection.ops.quote_name(field.m2m_column_name())
    key = connection.ops.quote_name(field.m2m_reverse_name())
    return (
        f"EXISTS (SELECT 1 FROM {table} WHERE {table}.{bot} = {bot_id_column} "
        f"AND {table}.{key} = %s)",
        [api_key.pk],
    )


def bot_for_key(api_key: ApiKey, bot_id: str) -> Bot:
    """The bot an API call is about, as the caller's key may see it; NotFound otherwise
    (a key restricted to its own bots never learns that another bot exists)."""
    # Plain SQL: every bot API call reads it first, and the ORM's build of the scoped
    # query cost several times the read (docs/perf.md, "startHitl's CPU").
    table = connection.ops.quote_name(Bot._meta.db_table)
    scope, params = bots_for_key_sql(api_key, f"{table}.{connection.ops.quote_name('id')}")
    found = Bot.objects.raw(
        f"SELECT * FROM {table} WHERE {table}.{connection.ops.quote_name('bot_id')} = %s "
        f"AND {scope} LIMIT 1",
        [bot_id, *params],
    )
    bot = next(iter(found), None)
    if bot is None:
        raise NotFound(f"No bot with id {bot_id!r}. Deploy it first: PUT /api/v1/bots/{bot_id}.")
    return bot


def bot_deploy(*, bot_id: str, api_key: ApiKey | None, **fields: object) -> tuple[Bot, bool]:
    """Create or update a bot from its own deploy call. (bot, created).

    `fields` are model field names (name, webhook_url, agent_assigned_message, …);
    the ones left out keep their current (or default) value. A webhook URL whose host
    is an address Desk may not reach is refused (InvalidInput). A key that is not
    workspace-wide cannot take over a bot another key deployed: NotFound, as if the
    bot did not exist.
    """
    url = str(fields.get("webhook_url") or "")
    if refusal := egress.literal_address_refusal(url):
        raise InvalidInput(f"Desk does not send webhooks there: {refusal}", field="webhookUrl")
    now = timezone.now()
    for attempt in range(2):
        try:
            with transaction.atomic():
                bot = Bot.objects.select_for_update().filter(bot_id=bot_id).first()
                created = bot is None
                previous_url = "" if created else bot.webhook_url
                if not created and api_key is not None and not api_key.workspace_wide:
                    if not bot.api_keys.filter(pk=api_key.pk).exists():
                        raise NotFound(f"No bot with id {bot_id!r} that this API key may use.")
                if created:
                    bot = Bot(bot_id=bot_id, first_deployed_at=now)
                for name, value in fields.items():
                    setattr(bot, name, value)
                if not bot.name:
                    bot.name = bot_id
                bot.last_deployed_at = now
                bot.deployed_with = api_key
                bot.save()
                if api_key is not None:
                    bot.api_keys.add(api_key)
                delivery.webhook_configured(bot, previous_url=previous_url)
                return bot, created
        except IntegrityError:
            if attempt:  # a concurrent first deploy won; the retry updates it
                raise
    raise AssertionError("unreachable")


def bot_set_connected(*, bot_id: str, connected: bool) -> Bot:
    """Enable (or disable) a deployed bot as a deflecting bot."""
    bot = Bot.objects.filter(bot_id=bot_id).first()
    if bot is None:
        raise NotFound(f"No deployed bot with id {bot_id!r}. A bot appears after its first deploy.")
    if bot.connected != connected:
        bot.connected = connected
        bot.save(update_fields=["connected"])
    return bot


# The handoff messages an admin may reword on the Deflecting Bots page, as it labels them.
EDITABLE_MESSAGES = {
    "agent_assigned_message": gettext_lazy("The message when an agent joins"),
    "agent_transferred_message": gettext_lazy("The message when another agent takes over"),
    "queued_message": gettext_lazy("The message while the customer waits in line"),
    "outside_hours_message": gettext_lazy("The message outside business hours"),
    "session_ended_message": gettext_lazy("The message when the session ends"),
}


def bot_update_messages(*, bot_id: str, **messages: str) -> Bot:
    """The admin's own wording for the handoff messages (the EDITABLE_MESSAGES given),
    each at most the API's limit (InvalidInput naming the field otherwise; nothing is
    saved). Messages left out keep their wording."""
    bot = Bot.objects.filter(bot_id=bot_id).first()
    if bot is None:
        raise NotFound(f"No deployed bot with id {bot_id!r}.")
    cleaned = {}
    for field, value in messages.items():
        if field not in EDITABLE_MESSAGES:
            raise InvalidInput("Not a message an admin can edit.", field=field)
        cleaned[field] = value.strip()
        _check_text(
            cleaned[field], HANDOFF_MESSAGE_MAX_LENGTH, field=field, what=EDITABLE_MESSAGES[field]
        )
    for field, value in cleaned.items():
        setattr(bot, field, value)
    bot.save(update_fields=list(cleaned))
    return bot
