"""`Desk` and `AsyncDesk`: one method per operation of Desk's bot API, for one bot.

    desk = Desk("https://desk.example.com", api_key=KEY, bot_id="support-bot")
    desk.start_hitl("conv-42", title="Refund", user_name="Jo")
    desk.send_message("conv-42", "Hello?")
    for event in desk.listen(cursor_store=FileCursorStore("desk.cursor")):
        ...

Answers are typed models (`desk_sdk.models`), refusals are exceptions
(`desk_sdk.errors`). Calls that are safe to repeat are retried on network errors,
429 (after Desk's Retry-After) and 5xx, within `Retry.total_seconds`; `stop_hitl`
is retried only when Desk surely did not act on it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Iterable, Iterator, Mapping
from datetime import date
from typing import Any, TypeVar

import httpx

from desk_sdk import errors
from desk_sdk._calls import (
    FATAL_FOR_LISTEN,
    USER_AGENT,
    Call,
    Operations,
    Retry,
    answer,
    file_bytes,
    listen_pause,
    retry_delay,
    unreachable,
)
from desk_sdk.cursors import CursorStore, MemoryCursorStore
from desk_sdk.models import (
    Approval,
    Bot,
    BotStats,
    DeskFile,
    Event,
    EventPage,
    HistoryItem,
    Priority,
    Rating,
    StoredMessage,
    Ticket,
)

logger = logging.getLogger("desk_sdk")
T = TypeVar("T")

# The long-poll asks Desk to wait this long (its maximum) for the next event.
LISTEN_WAIT = 30


def _headers(api_key: str) -> dict[str, str]:
    if not api_key:
        raise ValueError("api_key is required: a Desk API key (Settings → API keys)")
    return {"Authorization": f"Bearer {api_key}", "User-Agent": USER_AGENT}


def file_message(uploaded: DeskFile, text: str | None) -> dict[str, Any]:
    """send_message's fields for an uploaded file, after `text` when given (a bloc)."""
    field = {"image": "imageUrl", "audio": "audioUrl", "video": "videoUrl"}.get(
        uploaded.message_type, "fileUrl"
    )
    item: dict[str, Any] = {"type": uploaded.message_type, "payload": {field: uploaded.url}}
    if item["type"] == "file":
        item["payload"]["title"] = uploaded.name
    if text:
        return {"type": "bloc", "items": [{"type": "text", "payload": {"text": text}}, item]}
    return {"type": item["type"], "payload": item["payload"]}


class Desk(Operations):
    """Desk's bot API for one bot, blocking. Use it as a context manager, or `close()` it.

    `url` is Desk's address (`https://desk.example.com`), `api_key` a Desk API key,
    `bot_id` the id the bot deploys itself under. `timeout` is one request's limit in
    seconds; `retry` says how calls are retried (`Retry(max_attempts=1)`: never).
    `http_client` lets you pass your own `httpx.Client` (its base URL and headers are
    left alone; the SDK sets the Authorization header on each request)."""

    def __init__(
        self,
        url: str,
        api_key: str,
        bot_id: str,
        *,
        timeout: float = 15.0,
        retry: Retry | None = None,
        http_client: httpx.Client | None = None,
    ) -> None:
        super().__init__(bot_id)
        self.url = url.rstrip("/")
        self.timeout = timeout
        self.retry = retry or Retry()
        self._headers = _headers(api_key)
        self._own_client = http_client is None
        self._http = http_client or httpx.Client(timeout=timeout)

    def __enter__(self) -> Desk:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        if self._own_client:
            self._http.close()

    def _call(self, call: Call[T]) -> T:
        started = time.monotonic()
        attempt = 0
        while True:
            attempt += 1
            try:
                try:
                    response = self._http.request(
                        call.method, self.url + call.path, json=call.json, files=call.files,
                        params=call.params or None, headers=self._headers,
                        timeout=call.timeout or self.timeout,
                    )
                except httpx.HTTPError as exc:
                    raise unreachable(exc, call) from exc
                return answer(response, call)
            except errors.DeskError as error:
                delay = retry_delay(call, error, attempt, self.retry)
                if delay is None or time.monotonic() - started + delay > self.retry.total_seconds:
                    raise
                logger.info("retrying %s %s in %.1fs: %s", call.method, call.path, delay, error)
                time.sleep(delay)

    # --- the operations (one per endpoint of the bot API) ------------------------------

    def deploy(
        self,
        *,
        name: str | None = None,
        webhook_url: str | None = None,
        agent_assigned_message: str | None = None,
        session_ended_message: str | None = None,
        agent_assigned_timeout_seconds: int | None = None,
        agent_assigned_timeout_message: str | None = None,
        agent_transferred_message: str | None = None,
        queued_message: str | None = None,
        outside_hours_message: str | None = None,
        csat_message: str | None = None,
    ) -> Bot:
        """Create or update the bot (`PUT /bots/{botId}`); fields left out keep their value.
        The answer carries `webhook_secret` and `connected`; `bot.created` is True the
        first time. A `csat_message` asks for a rating after an agent closes (see `rate`);
        "" turns it off. `queued_message` ({queuePosition}) and `outside_hours_message`
        come back in `HitlQueued` events, `agent_transferred_message` in a reassigned
        `HitlAssigned`."""
        return self._call(self._deploy(
            name=name, webhook_url=webhook_url, agent_assigned_message=agent_assigned_message,
            session_ended_message=session_ended_message,
            agent_assigned_timeout_seconds=agent_assigned_timeout_seconds,
            agent_assigned_timeout_message=agent_assigned_timeout_message,
            agent_transferred_message=agent_transferred_message,
            queued_message=queued_message, outside_hours_message=outside_hours_message,
            csat_message=csat_message,
        ))

    def get_bot(self) -> Bot:
        """The bot as Desk knows it (`GET /bots/{botId}`)."""
        return self._call(self._get_bot())

    def start_hitl(
        self,
        conversation_id: str,
        *,
        title: str | None = None,
        priority: Priority | None = None,
        user_name: str | None = None,
        user_email: str | None = None,
        user_id: str | None = None,
        custom_fields: Mapping[str, str | int | float | bool] | None = None,
        description: str | None = None,
        message_history: Iterable[HistoryItem | dict[str, Any]] | None = None,
        labels: Iterable[str] | None = None,
    ) -> Ticket:
        """Hand the conversation to a human agent: Desk opens a ticket, or answers the
        conversation's open one (`ticket.created` tells which). `labels` (names) go on a
        new ticket; a name Desk does not know raises `ValidationFailed` (`labels.N`)
        unless its admin allowed bots to create labels. `user_id` is the end user's id in
        your bot (agents see their earlier tickets by it, or by `user_email`);
        `custom_fields` a flat mapping of strings, numbers and booleans shown beside the
        ticket and searchable (at most 50 keys of 1–64 characters). Raises
        `BotNotConnected` until an admin enabled the bot."""
        return self._call(self._start_hitl(
            conversation_id, message_history, title=title, priority=priority,
            user_name=user_name, user_email=user_email, user_id=user_id,
            custom_fields=dict(custom_fields) if custom_fields is not None else None,
            description=description, labels=None if labels is None else list(labels),
        ))

    def send_message(
        self,
        conversation_id: str,
        text: str | None = None,
        *,
        type: str | None = None,
        image_url: str | None = None,
        audio_url: str | None = None,
        video_url: str | None = None,
        file_url: str | None = None,
        title: str | None = None,
        latitude: float | None = None,
        longitude: float | None = None,
        address: str | None = None,
        markdown: str | None = None,
        items: list[dict[str, Any]] | None = None,
        payload: dict[str, Any] | None = None,
        message_id: str | None = None,
        user_name: str | None = None,
    ) -> StoredMessage:
        """Relay the end user's message to the agent: text, or another `type` with its
        fields (image_url, audio_url, video_url, file_url and title, latitude/longitude/
        address/title, markdown, a bloc's items), or a Botpress message as it is
        (`type` and `payload`). A URL is http(s): an `upload_file` url, or your own.
        Without `message_id` the SDK makes one, so a retried send is stored once. Raises
        `TicketClosed` when the handoff is over (the bot answers the user itself again),
        `ValidationFailed` naming the field Desk refused."""
        return self._call(self._send_message(
            conversation_id, message_id, text=text, type=type, image_url=image_url,
            audio_url=audio_url, video_url=video_url, file_url=file_url, title=title,
            latitude=latitude, longitude=longitude, address=address, markdown=markdown,
            items=items, payload=payload, user_name=user_name,
        ))

    def upload_file(
        self, file: Any, *, name: str | None = None,
        content_type: str = "application/octet-stream",
    ) -> DeskFile:
        """Upload a file (bytes, a path, or a binary file object) to send in a message:
        `send_message(conv, type=f.message_type, image_url=f.url)`, or `send_file`.
        Desk reads what it is from the bytes (`f.content_type`). Raises
        `PayloadTooLarge` over Desk's limit (10 MiB by default)."""
        data, name = file_bytes(file, name)
        return self._call(self._upload_file(data, name, content_type))

    def send_file(
        self, conversation_id: str, file: Any, *, name: str | None = None,
        text: str | None = None, message_id: str | None = None, user_name: str | None = None,
    ) -> StoredMessage:
        """Upload a file and send it as what it is (an image, audio, a video or a file),
        with `text` before it when given (a bloc)."""
        uploaded = self.upload_file(file, name=name)
        return self.send_message(conversation_id, **file_message(uploaded, text),
                                 message_id=message_id, user_name=user_name)

    def download_file(self, url: str) -> bytes:
        """The bytes of a file Desk sent (an agentMessage's URL, signed: no key needed)."""
        response = self._http.get(url, timeout=self.timeout)
        if response.status_code != 200:
            raise errors.error_for(response.status_code, response.text, dict(response.headers))
        return response.content

    def stop_hitl(self, conversation_id: str, *, reason: str | None = None) -> Ticket:
        """End the handoff (`reason`: "cancel", the default, or "timeout"): the ticket
        closes. Raises `NotFound` for a conversation Desk never saw, `TicketClosed` when
        it was already closed."""
        return self._call(self._stop_hitl(conversation_id, reason=reason))

    def events(self, *, after: int = 0, wait: float = 0, limit: int | None = None) -> EventPage:
        """One long-poll: the events after cursor `after` (at once, or within `wait`
        seconds, 0–30), and the cursor to pass next time."""
        return self._call(self._events(after, wait, limit, self.timeout))

    def request_approval(
        self,
        request_id: str | None = None,
        *,
        action: str,
        title: str,
        arguments: dict[str, Any],
        summary: str | None = None,
        arguments_schema: dict[str, Any] | None = None,
        conversation_id: str | None = None,
        priority: Priority | None = None,
        expires_in_seconds: int | None = None,
    ) -> Approval:
        """Ask a person on Desk to approve an action (`POST /bots/{botId}/approvals`).
        `request_id` is your idempotency key: the same one again answers the same approval
        (pass one derived from your tool call, so a re-run asks once; without it the SDK
        makes one for this call's retries). Then `wait_for_approval`, or act on the
        `ApprovalDecided` event."""
        return self._call(self._request_approval(
            request_id, action=action, title=title, arguments=arguments, summary=summary,
            arguments_schema=arguments_schema, conversation_id=conversation_id,
            priority=priority, expires_in_seconds=expires_in_seconds,
        ))

    def get_approval(self, approval_id: str, *, wait: float = 0) -> Approval:
        """The approval; while it is pending, waits up to `wait` seconds (0–30) for the
        decision."""
        return self._call(self._get_approval(approval_id, wait, self.timeout))

    def cancel_approval(self, approval_id: str) -> Approval:
        """Withdraw the request (status `cancelled`). Raises `AlreadyDecided` once it was
        approved, rejected or expired."""
        return self._call(self._cancel_approval(approval_id))

    def rate(
        self, conversation_id: str, score: int, *, comment: str | None = None
    ) -> Rating:
        """The end user's satisfaction (1–5) with the conversation's last handoff, when
        `HitlStopped.csat` asked for it. Rating again within 24 hours replaces it
        (`rating.replaced`). Raises `NoRecentTicket` when no ticket of the conversation
        closed in the last 7 days, `AlreadyRated` after the 24 hours."""
        return self._call(self._rate(conversation_id, score, comment))

    def report_stats(self, date: date | str, conversations: int) -> BotStats:
        """How many conversations the bot handled on `date` (YYYY-MM-DD, in Desk's time
        zone), handed over or not: Desk's Reports show the bot's deflection rate from
        it. Reporting a day again replaces its count; a future date is refused."""
        return self._call(self._report_stats(date, conversations))

    def wait_for_approval(self, approval_id: str, *, timeout: float | None = None) -> Approval:
        """The approval once decided (approved, rejected, expired or cancelled), polling
        30 s at a time; still pending after `timeout` seconds (None: until it expires)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            left = LISTEN_WAIT if deadline is None else deadline - time.monotonic()
            approval = self.get_approval(approval_id, wait=max(0, min(LISTEN_WAIT, left)))
            if not approval.pending or (deadline is not None and time.monotonic() >= deadline):
                return approval

    # --- events, forever ---------------------------------------------------------------

    def listen(
        self,
        cursor_store: CursorStore | None = None,
        *,
        wait: int = LISTEN_WAIT,
        limit: int | None = None,
        max_pause: float = 30.0,
    ) -> Iterator[Event]:
        """Yield the bot's events forever, oldest first, from where `cursor_store` says.

        The cursor is saved after each event the loop body handled (when the loop asks
        for the next one), so a restarted bot resumes after the last handled event. A
        network error or a Desk failure pauses (doubling up to `max_pause` seconds) and
        polls again; a wrong key or bot (401, 403, 404) raises."""
        store = cursor_store if cursor_store is not None else MemoryCursorStore()
        cursor = store.load()
        failures = 0
        while True:
            try:
                page = self.events(after=cursor, wait=wait, limit=limit)
            except FATAL_FOR_LISTEN:
                raise
            except errors.DeskError as error:
                failures += 1
                pause = listen_pause(failures, max_pause)
                logger.warning("desk_sdk listen: %s; polling again in %.1fs", error, pause)
                time.sleep(pause)
                continue
            failures = 0
            for event in page.events:
                yield event
                cursor = event.cursor
                store.save(cursor)
            if page.cursor != cursor:
                cursor = page.cursor
                store.save(cursor)


class AsyncDesk(Operations):
    """The same as `Desk`, for asyncio: every operation is a coroutine and `listen()`
    an async iterator. Use `async with AsyncDesk(...)`, or `await desk.aclose()`."""

    def __init__(
        self,
        url: str,
        api_key: str,
        bot_id: str,
        *,
        timeout: float = 15.0,
        retry: Retry | None = None,
        http_client: httpx.AsyncClient | None = None,
    ) -> None:
        super().__init__(bot_id)
        self.url = url.rstrip("/")
        self.timeout = timeout
        self.retry = retry or Retry()
        self._headers = _headers(api_key)
        self._own_client = http_client is None
        self._http = http_client or httpx.AsyncClient(timeout=timeout)

    async def __aenter__(self) -> AsyncDesk:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        if self._own_client:
            await self._http.aclose()

    async def _call(self, call: Call[T]) -> T:
        started = time.monotonic()
        attempt = 0
        while True:
            attempt += 1
            try:
                try:
                    response = await self._http.request(
                        call.method, self.url + call.path, json=call.json, files=call.files,
                        params=call.params or None, headers=self._headers,
                        timeout=call.timeout or self.timeout,
                    )
                except httpx.HTTPError as exc:
                    raise unreachable(exc, call) from exc
                return answer(response, call)
            except errors.DeskError as error:
                delay = retry_delay(call, error, attempt, self.retry)
                if delay is None or time.monotonic() - started + delay > self.retry.total_seconds:
                    raise
                logger.info("retrying %s %s in %.1fs: %s", call.method, call.path, delay, error)
                await asyncio.sleep(delay)

    async def deploy(
        self,
        *,
        name: str | None = None,
        webhook_url: str | None = None,
        agent_assigned_message: str | None = None,
        session_ended_message: str | None = None,
        agent_assigned_timeout_seconds: int | None = None,
        agent_assigned_timeout_message: str | None = None,
        agent_transferred_message: str | None = None,
        queued_message: str | None = None,
        outside_hours_message: str | None = None,
        csat_message: str | None = None,
    ) -> Bot:
        """See `Desk.deploy`."""
        return await self._call(self._deploy(
            name=name, webhook_url=webhook_url, agent_assigned_message=agent_assigned_message,
            session_ended_message=session_ended_message,
            agent_assigned_timeout_seconds=agent_assigned_timeout_seconds,
            agent_assigned_timeout_message=agent_assigned_timeout_message,
            agent_transferred_message=agent_transferred_message,
            queued_message=queued_message, outside_hours_message=outside_hours_message,
            csat_message=csat_message,
        ))

    async def get_bot(self) -> Bot:
        """See `Desk.get_bot`."""
        return await self._call(self._get_bot())

    async def start_hitl(
        self,
        conversation_id: str,
        *,
        title: str | None = None,
        priority: Priority | None = None,
        user_name: str | None = None,
        user_email: str | None = None,
        user_id: str | None = None,
        custom_fields: Mapping[str, str | int | float | bool] | None = None,
        description: str | None = None,
        message_history: Iterable[HistoryItem | dict[str, Any]] | None = None,
        labels: Iterable[str] | None = None,
    ) -> Ticket:
        """See `Desk.start_hitl`."""
        return await self._call(self._start_hitl(
            conversation_id, message_history, title=title, priority=priority,
            user_name=user_name, user_email=user_email, user_id=user_id,
            custom_fields=dict(custom_fields) if custom_fields is not None else None,
            description=description, labels=None if labels is None else list(labels),
        ))

    async def send_message(
        self,
        conversation_id: str,
        text: str | None = None,
        *,
        type: str | None = None,
        image_url: str | None = None,
        audio_url: str | None = None,
        video_url: str | None = None,
        file_url: str | None = None,
        title: str | None = None,
        latitude: float | None = None,
        longitude: float | None = None,
        address: str | None = None,
        markdown: str | None = None,
        items: list[dict[str, Any]] | None = None,
        payload: dict[str, Any] | None = None,
        message_id: str | None = None,
        user_name: str | None = None,
    ) -> StoredMessage:
        """See `Desk.send_message`."""
        return await self._call(self._send_message(
            conversation_id, message_id, text=text, type=type, image_url=image_url,
            audio_url=audio_url, video_url=video_url, file_url=file_url, title=title,
            latitude=latitude, longitude=longitude, address=address, markdown=markdown,
            items=items, payload=payload, user_name=user_name,
        ))

    async def upload_file(
        self, file: Any, *, name: str | None = None,
        content_type: str = "application/octet-stream",
    ) -> DeskFile:
        """See `Desk.upload_file`."""
        data, name = file_bytes(file, name)
        return await self._call(self._upload_file(data, name, content_type))

    async def send_file(
        self, conversation_id: str, file: Any, *, name: str | None = None,
        text: str | None = None, message_id: str | None = None, user_name: str | None = None,
    ) -> StoredMessage:
        """See `Desk.send_file`."""
        uploaded = await self.upload_file(file, name=name)
        return await self.send_message(conversation_id, **file_message(uploaded, text),
                                       message_id=message_id, user_name=user_name)

    async def download_file(self, url: str) -> bytes:
        """See `Desk.download_file`."""
        response = await self._http.get(url, timeout=self.timeout)
        if response.status_code != 200:
            raise errors.error_for(response.status_code, response.text, dict(response.headers))
        return response.content

    async def stop_hitl(self, conversation_id: str, *, reason: str | None = None) -> Ticket:
        """See `Desk.stop_hitl`."""
        return await self._call(self._stop_hitl(conversation_id, reason=reason))

    async def events(
        self, *, after: int = 0, wait: float = 0, limit: int | None = None
    ) -> EventPage:
        """See `Desk.events`."""
        return await self._call(self._events(after, wait, limit, self.timeout))

    async def request_approval(
        self,
        request_id: str | None = None,
        *,
        action: str,
        title: str,
        arguments: dict[str, Any],
        summary: str | None = None,
        arguments_schema: dict[str, Any] | None = None,
        conversation_id: str | None = None,
        priority: Priority | None = None,
        expires_in_seconds: int | None = None,
    ) -> Approval:
        """See `Desk.request_approval`."""
        return await self._call(self._request_approval(
            request_id, action=action, title=title, arguments=arguments, summary=summary,
            arguments_schema=arguments_schema, conversation_id=conversation_id,
            priority=priority, expires_in_seconds=expires_in_seconds,
        ))

    async def get_approval(self, approval_id: str, *, wait: float = 0) -> Approval:
        """See `Desk.get_approval`."""
        return await self._call(self._get_approval(approval_id, wait, self.timeout))

    async def cancel_approval(self, approval_id: str) -> Approval:
        """See `Desk.cancel_approval`."""
        return await self._call(self._cancel_approval(approval_id))

    async def rate(
        self, conversation_id: str, score: int, *, comment: str | None = None
    ) -> Rating:
        """See `Desk.rate`."""
        return await self._call(self._rate(conversation_id, score, comment))

    async def report_stats(self, date: date | str, conversations: int) -> BotStats:
        """See `Desk.report_stats`."""
        return await self._call(self._report_stats(date, conversations))

    async def wait_for_approval(
        self, approval_id: str, *, timeout: float | None = None
    ) -> Approval:
        """See `Desk.wait_for_approval`."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            left = LISTEN_WAIT if deadline is None else deadline - time.monotonic()
            approval = await self.get_approval(approval_id, wait=max(0, min(LISTEN_WAIT, left)))
            if not approval.pending or (deadline is not None and time.monotonic() >= deadline):
                return approval

    async def listen(
        self,
        cursor_store: CursorStore | None = None,
        *,
        wait: int = LISTEN_WAIT,
        limit: int | None = None,
        max_pause: float = 30.0,
    ) -> AsyncIterator[Event]:
        """See `Desk.listen`: `async for event in desk.listen(...)`."""
        store = cursor_store if cursor_store is not None else MemoryCursorStore()
        cursor = store.load()
        failures = 0
        while True:
            try:
                page = await self.events(after=cursor, wait=wait, limit=limit)
            except FATAL_FOR_LISTEN:
                raise
            except errors.DeskError as error:
                failures += 1
                pause = listen_pause(failures, max_pause)
                logger.warning("desk_sdk listen: %s; polling again in %.1fs", error, pause)
                await asyncio.sleep(pause)
                continue
            failures = 0
            for event in page.events:
                yield event
                cursor = event.cursor
                store.save(cursor)
            if page.cursor != cursor:
                cursor = page.cursor
                store.save(cursor)
