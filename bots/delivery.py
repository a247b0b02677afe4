"""Webhook delivery: each bot's event log POSTed, in order, signed, at least once.

How it holds together:

- The cursor (`WebhookState.delivered_through`) moves past an event only after the
  bot's endpoint answered 2xx, so a crash at any point re-sends, never skips.
- One sender per bot at a time: a worker takes the bot's lease with one conditional
  UPDATE, renews it before every POST, and the lease outlives a POST's deadline. Two
  workers (threads or processes) therefore never send the same bot's events at once,
  and a worker that died mid-send loses the lease when it runs out.
- One event at a time per bot, oldest first, so events arrive in order per bot (and
  so per conversation). A failure stops the line for that bot and retries the same
  event with exponential backoff, doubling from DESK_WEBHOOK_RETRY_BASE_SECONDS up to
  DESK_WEBHOOK_RETRY_MAX_SECONDS between tries, without end: nothing is dropped.
- The schedule lives in the database (the django-tasks-db queue and this row), so a
  restart resumes where it stopped. Deliveries run on a queue of their own
  (bots/tasks.py), and a retry has a lower priority than any bot's first try.
- Each POST goes through bots.egress: a total deadline of DESK_WEBHOOK_TIMEOUT_SECONDS,
  only to addresses Desk may reach, at most a few KiB of the answer read. What the
  receiver answered is never stored or shown, only its status code.
"""

import hashlib
import hmac
import json
import logging
import random
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from http import HTTPStatus

import httpx
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Count, Max, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from bots.egress import Refused, WebhookClient
from bots.events import event_as_json
from bots.models import Bot, Event, WebhookState

logger = logging.getLogger("bots.delivery")

SIGNATURE_VERSION = "v1"
USER_AGENT = "Desk-Webhooks/1"
BATCH = 50
RETRY_PRIORITY = -10  # under the default 0: a first try goes before a failing bot's retry


def sign(secret: str, timestamp: int | str, body: bytes) -> str:
    """The `Desk-Signature` value: v1=HMAC-SHA256(secret, "{timestamp}.{raw body}") in hex."""
    message = str(timestamp).encode() + b"." + body
    digest = hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()
    return f"{SIGNATURE_VERSION}={digest}"


def signature_is_valid(
    secret: str, timestamp: str, body: bytes, signature: str, *, tolerance: int = 300
) -> bool:
    """What a receiver checks (see docs/webhooks.md): the HMAC, and a fresh timestamp."""
    try:
        age = abs(time.time() - int(timestamp))
    except (TypeError, ValueError):
        return False
    if age > tolerance:
        return False
    return hmac.compare_digest(sign(secret, timestamp, body), signature or "")


def request_for(event: Event, secret: str, *, attempt: int) -> tuple[bytes, dict[str, str]]:
    """The body and headers of one webhook POST."""
    body = json.dumps(event_as_json(event), separators=(",", ":")).encode()
    timestamp = str(int(time.time()))
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "Desk-Event-Id": str(event.public_id),
        "Desk-Event-Type": event.type,
        "Desk-Timestamp": timestamp,
        "Desk-Signature": sign(secret, timestamp, body),
        "Desk-Delivery-Attempt": str(attempt),
    }
    return body, headers


# --- the lease ----------------------------------------------------------------------


def _lease_seconds() -> float:
    return settings.DESK_WEBHOOK_TIMEOUT_SECONDS + 30


def _state(bot_pk: int) -> WebhookState:
    state = WebhookState.objects.filter(bot_id=bot_pk).first()
    if state is None:
        try:
            with transaction.atomic():
                state = WebhookState.objects.create(bot_id=bot_pk)
        except IntegrityError:  # a concurrent worker created it
            state = WebhookState.objects.get(bot_id=bot_pk)
    return state


def _claim(bot_pk: int, owner: str) -> bool:
    """Take the bot's lease if it is free and no retry is waiting. One UPDATE: atomic."""
    now = timezone.now()
    return bool(
        WebhookState.objects.filter(bot_id=bot_pk)
        .filter(Q(lease_until__isnull=True) | Q(lease_until__lt=now))
        .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
        .update(lease_owner=owner, lease_until=now + timedelta(seconds=_lease_seconds()))
    )


def _renew(bot_pk: int, owner: str) -> bool:
    until = timezone.now() + timedelta(seconds=_lease_seconds())
    return bool(
        WebhookState.objects.filter(bot_id=bot_pk, lease_owner=owner).update(lease_until=until)
    )


def _release(bot_pk: int, owner: str) -> None:
    WebhookState.objects.filter(bot_id=bot_pk, lease_owner=owner).update(
        lease_owner="", lease_until=None
    )


# --- sending ------------------------------------------------------------------------


@dataclass
class Outcome:
    ok: bool
    error: str = ""


def post(client: WebhookClient, url: str, body: bytes, headers: dict[str, str]) -> Outcome:
    """One POST within the total deadline; any 2xx is success, anything else a failure.

    The error says what happened in Desk's own words: the status code, never the body
    or the reason phrase the receiver sent (it could be anything, and admins read it)."""
    timeout = float(settings.DESK_WEBHOOK_TIMEOUT_SECONDS)
    try:
        status = client.post(url, content=body, headers=headers, timeout=timeout)
    except Refused as exc:
        return Outcome(False, str(exc))
    except httpx.HTTPError as exc:
        return Outcome(False, failure(exc, timeout))
    if 200 <= status < 300:
        return Outcome(True)
    try:
        return Outcome(False, f"HTTP {status} {HTTPStatus(status).phrase}")
    except ValueError:
        return Outcome(False, f"HTTP {status}")


def failure(exc: httpx.HTTPError, timeout: float) -> str:
    """What went wrong with a POST that got no answer, for the Deflecting Bots page."""
    name = type(exc).__name__
    if isinstance(exc, httpx.ConnectTimeout):
        return f"{name}: could not connect within {timeout:g} s"
    if isinstance(exc, httpx.TimeoutException):
        return f"{name}: no complete answer within {timeout:g} s"
    if isinstance(exc, httpx.NetworkError):  # the operating system's words: refused, reset…
        return f"{name}: {exc}"[:300]
    if isinstance(exc, httpx.ProtocolError):
        return f"{name}: the answer was not valid HTTP"
    return name


def backoff(attempts: int) -> float:
    """Seconds before try number attempts+1: doubling, capped, with a little jitter."""
    base = float(settings.DESK_WEBHOOK_RETRY_BASE_SECONDS)
    cap = float(settings.DESK_WEBHOOK_RETRY_MAX_SECONDS)
    delay = min(cap, base * 2 ** max(attempts - 1, 0))
    return delay * random.uniform(0.9, 1.1)


def deliver(bot_pk: int) -> None:
    """Send the bot's undelivered events, if this worker can take the bot's lease.

    Called by the delivery task. Returns when the log is drained, when a POST failed
    (the retry is then queued), or at once when another worker holds the lease.
    """
    _state(bot_pk)
    owner = uuid.uuid4().hex
    while True:
        if not _claim(bot_pk, owner):
            _recheck_later(bot_pk)
            return
        try:
            drained = _drain(bot_pk, owner)
        finally:
            _release(bot_pk, owner)
        # An event recorded while we held the lease had its own task turned away:
        # look again after letting go, so it is never left behind.
        if not drained or not _pending(bot_pk):
            return


def _pending(bot_pk: int) -> bool:
    state = WebhookState.objects.filter(bot_id=bot_pk).first()
    bot = Bot.objects.filter(pk=bot_pk).only("webhook_url").first()
    if state is None or bot is None or not bot.webhook_url:
        return False
    return Event.objects.filter(bot_id=bot_pk, pk__gt=state.delivered_through).exists()


def _drain(bot_pk: int, owner: str) -> bool:
    """Send events while they succeed. False when one failed (a retry is scheduled)."""
    # One client per run, so a backlog goes out over one kept-alive connection.
    with WebhookClient() as client:
        return _drain_with(client, bot_pk, owner)


def _drain_with(client: WebhookClient, bot_pk: int, owner: str) -> bool:
    while True:
        bot = Bot.objects.filter(pk=bot_pk).first()
        state = WebhookState.objects.filter(bot_id=bot_pk).first()
        if bot is None or state is None or not bot.webhook_url:
            return True
        events = list(
            Event.objects.filter(bot_id=bot_pk, pk__gt=state.delivered_through).order_by("pk")[
                :BATCH
            ]
        )
        if not events:
            return True
        for event in events:
            if not _renew(bot_pk, owner):
                logger.warning("bot %s: lost the delivery lease; stopping", bot.bot_id)
                return True
            attempt = state.attempts + 1
            body, headers = request_for(event, bot.webhook_secret, attempt=attempt)
            outcome = post(client, bot.webhook_url, body, headers)
            now = timezone.now()
            if outcome.ok:
                WebhookState.objects.filter(bot_id=bot_pk, lease_owner=owner).update(
                    delivered_through=event.pk,
                    attempts=0,
                    next_attempt_at=None,
                    failing_since=None,
                    last_success_at=now,
                    delivered_count=state.delivered_count + 1,
                )
                state.delivered_through = event.pk
                state.attempts = 0
                state.delivered_count += 1
                continue
            _schedule_retry(bot, state, owner, outcome.error, now)
            return False


def _schedule_retry(
    bot: Bot, state: WebhookState, owner: str, error: str, now: datetime
) -> None:
    attempts = state.attempts + 1
    due = now + timedelta(seconds=backoff(attempts))
    logger.info(
        "bot %s: webhook attempt %d failed (%s); next try at %s",
        bot.bot_id, attempts, error, due.isoformat(),
    )
    from bots.tasks import deliver_webhooks

    with transaction.atomic():
        WebhookState.objects.filter(bot_id=bot.pk, lease_owner=owner).update(
            attempts=attempts,
            next_attempt_at=due,
            failing_since=state.failing_since or now,
            last_error=error,
            last_error_at=now,
        )
        # The retry is a row in the task queue, written with the state: both or neither.
        deliver_webhooks.using(run_after=due, priority=RETRY_PRIORITY).enqueue(bot.pk)


def _recheck_later(bot_pk: int) -> None:
    """The lease is held (or a retry waits): make sure a task looks again when it frees.

    A retry in backoff already has its task. A held lease gets one follow-up at its
    expiry (once, however many events arrive meanwhile), which also recovers the bot
    if the holder died mid-send.
    """
    state = WebhookState.objects.filter(bot_id=bot_pk).first()
    now = timezone.now()
    if state is None or state.lease_until is None or state.lease_until < now:
        return
    if state.next_attempt_at and state.next_attempt_at > now:
        return
    due = state.lease_until + timedelta(seconds=1)
    from bots.tasks import deliver_webhooks

    with transaction.atomic():
        taken = (
            WebhookState.objects.filter(bot_id=bot_pk)
            .filter(Q(recheck_at__isnull=True) | Q(recheck_at__lt=state.lease_until))
            .update(recheck_at=due)
        )
        if taken:
            deliver_webhooks.using(run_after=due).enqueue(bot_pk)


# --- what the rest of Desk calls ----------------------------------------------------


def webhook_configured(bot: Bot, *, previous_url: str) -> None:
    """After a deploy: a bot that just got a webhook URL receives the events from now on;
    a changed URL is tried at once instead of waiting out the old URL's backoff."""
    if not bot.webhook_url or bot.webhook_url == previous_url:
        return
    state = _state(bot.pk)
    fields: dict = {"attempts": 0, "next_attempt_at": None}
    if not previous_url:
        latest = Event.objects.filter(bot=bot).aggregate(latest=Max("pk"))["latest"] or 0
        fields["delivered_through"] = max(state.delivered_through, latest)
    WebhookState.objects.filter(bot_id=bot.pk).update(**fields)
    from bots.tasks import deliver_webhooks

    transaction.on_commit(lambda: deliver_webhooks.enqueue(bot.pk))


def retry_now(bot: Bot) -> None:
    """The admin's "Retry now": skip the rest of the backoff."""
    WebhookState.objects.filter(bot_id=bot.pk).update(next_attempt_at=None)
    from bots.tasks import deliver_webhooks

    transaction.on_commit(lambda: deliver_webhooks.enqueue(bot.pk))


def sweep() -> int:
    """Queue delivery for every bot with events waiting and no retry pending.

    Run when a worker starts, so a restart picks up whatever was in flight.
    """
    from bots.tasks import deliver_webhooks

    count = 0
    for bot in Bot.objects.exclude(webhook_url="").only("pk"):
        if _pending(bot.pk):
            deliver_webhooks.enqueue(bot.pk)
            count += 1
    return count


@dataclass
class Health:
    """What the Deflecting Bots page shows for one bot."""

    last_success_at: datetime | None
    waiting: int
    attempts: int
    next_attempt_at: datetime | None
    last_error: str
    last_error_at: datetime | None
    failing_since: datetime | None


def waiting_events() -> Subquery:
    """Per bot (as an annotation on Bot): how many events its webhook has not acknowledged."""
    delivered = Coalesce(OuterRef("webhook_state__delivered_through"), 0)
    return Subquery(
        Event.objects.filter(bot=OuterRef("pk"), pk__gt=delivered)
        .order_by()
        .values("bot")
        .annotate(n=Count("pk"))
        .values("n")
    )


def health(bot: Bot, *, waiting: int) -> Health | None:
    """Webhook health for a bot loaded with select_related("webhook_state") and the
    `waiting_events()` annotation, so a page of bots costs one query."""
    if not bot.webhook_url:
        return None
    try:
        state = bot.webhook_state
    except WebhookState.DoesNotExist:
        state = WebhookState(bot=bot)
    return Health(
        last_success_at=state.last_success_at,
        waiting=waiting,
        attempts=state.attempts,
        next_attempt_at=state.next_attempt_at,
        last_error=state.last_error,
        last_error_at=state.last_error_at,
        failing_since=state.failing_since,
    )
