"""The one websocket a Desk tab opens, at /ws/desk/.

An inbox tab connects with `?inbox=1` and its filters (plus `t`/`m`, the version of
the list it rendered); a ticket tab with `?ticket=ID&after=LAST_MESSAGE_ID`; an
approvals tab with `?approvals=1` (see `approvals.consumers`, mixed in here); the Team
page (admins) with `?team=1`. The consumer is thin: it checks who is connecting, joins
channel-layer groups, replays from the database what the tab missed, passes on the
fragments `desk.realtime` rendered in the tab's locale (its agent's language and time
zone: `self.locale_key`), and turns each frame into one call of `desk.actions.perform`.
Every open tab is the agent's presence: it tells `desk.assignment` when it opens and as
it closes, and its process's beat (`realtime.heartbeat_seconds()`) while it is open.

Frames in (JSON, as htmx's `ws-send` sends a form):
  {"action": "claim" | "assign" | "transfer" | "priority" | "reply" | "note" | "close"
             | "add_label" | "remove_label" | "wait" | "resume",
   "ticket": ID, "text": ..., "canned": [ID, ...], "priority": ..., "assignee": USER_ID,
   "label": LABEL_ID}
  {"action": "typing"}                      (a ticket tab only)
Frames out: HTML fragments with hx-swap-oob, swapped by htmx's ws extension.
"""

import asyncio
import contextlib
import functools
import json
import logging
from types import SimpleNamespace

from channels.consumer import get_handler_name
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer
from django.conf import settings
from django.contrib.auth import get_user
from django.contrib.sessions.models import Session
from django.http import Http404, QueryDict
from django.utils import timezone

from approvals.consumers import NO_DATABASE as APPROVALS_NO_DATABASE
from approvals.consumers import ApprovalsSocket
from approvals.realtime import APPROVALS_GROUP
from desk import actions, alerts, assignment, fragments, localization, realtime, selectors
from desk.access import ticket_for_agent
from desk.exceptions import DeskError
from desk.models import AgentProfile, Availability
from desk.people import display_name
from desk.realtime import AGENTS_GROUP, INBOX_GROUP, session_group, ticket_group
from desk.selectors import InboxFilter

logger = logging.getLogger(__name__)

INBOX_PAGE_SIZE = 25

# Group messages whose handlers never touch the database (an inbox row does only for a
# tab with a search; see `needs_database`).
_NO_DATABASE = frozenset(
    {
        "inbox.counts",
        "ticket.changed",
        "ticket.message",
        "ticket.typing",
        "ticket.presence",
        "session.ended",
        "agents.status",
        "alerts.escalation",
    }
) | APPROVALS_NO_DATABASE

# Close code for "signed out": the page goes to the login page (static/desk.js).
SIGNED_OUT = 4401


def _int(value: object, default: int = 0) -> int:
    try:
        return int(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return default


class DeskConsumer(ApprovalsSocket, AsyncWebsocketConsumer):
    ticket_id: int | None = None
    inbox_filter: InboxFilter | None = None
    _keeper: asyncio.Task | None = None  # the keeping's step, while one runs
    _keeper_timer: asyncio.TimerHandle | None = None  # its next step, while idle
    gone = False  # the tab went away; sends are dropped until the disconnect arrives
    team: bool = False
    status = "online"  # the agent's own, for "viewing now" and the alerts
    waiting: dict | None = None  # what waits for the agent, once the tab is open
    locale_key = ""  # what this tab shows (`localization.locale_key`), once connected
    locale_counted = False  # among this process's tabs' locales (`realtime`)
    counted = False  # among this process's open tabs (`realtime.tab_opened`)

    async def connect(self) -> None:
        self._guard_sends()
        self.agent = self.scope["user"]
        self.joined: list[str] = []
        if not (self.agent.is_authenticated and self.agent.is_active):
            await self.close()  # before accept: the handshake is refused
            return
        # What this tab renders and does speaks the agent's language, in their time zone
        # (read with their account: no query of its own, see `_arrive` for the rest).
        locale = localization.loaded_locale(self.agent)
        if locale is None:
            locale = await database_sync_to_async(localization.locale_of)(self.agent.pk)
        headers = dict(self.scope.get("headers") or [])
        accept_language = headers.get(b"accept-language", b"").decode("latin-1")
        localization.activate(locale, accept_language)
        self.locale_key = localization.tab_locale_key(locale, accept_language)
        query = QueryDict(self.scope.get("query_string", b"").decode("latin-1"))
        groups = [
            # Logging out closes every tab of that session at once (see desk.login).
            session_group(self.scope["session"].session_key),
            # Every tab hears agents' status, the counts for its title, and alerts.
            AGENTS_GROUP,
            alerts.agent_group(self.agent.pk),
        ]
        if {"ticket", "inbox", "approvals"} & query.keys():
            # These show the approvals count: joined before `_arrive` reads it, so a
            # change in between comes as a frame.
            groups.append(APPROVALS_GROUP)
        await asyncio.gather(*(self._join(group) for group in groups))
        if "ticket" in query:
            await self._connect_ticket(query)
        elif "inbox" in query:
            await self._connect_inbox(query)
        elif "approvals" in query:
            await self._connect_approvals(query)
            await self._arrive(query)
        elif "team" in query and self.agent.is_staff:
            self.team = True
            await self.accept()
            await self._arrive(query)
        else:
            await self.close()
        if self.ticket_id is not None or self.inbox_filter is not None or self.approval_id:
            await self._hear_approvals_count(query)  # every tab shows the approvals count

    async def _arrive(self, query: QueryDict) -> None:
        """The tab is open: the agent is present (and back, if they were away). A tab
        that says which count its title shows (`w=N`) is corrected when it differs. Its
        locale is recorded with the presence: live fragments are rendered in it (in this
        process from now on, the arrival's own announcement included)."""
        realtime.tab_locale_opened(self.locale_key)
        self.locale_counted = True
        await database_sync_to_async(self._arrival)(query)
        realtime.tab_opened(self.agent.pk)  # its presence is kept fresh from now on
        self.counted = True
        if "w" in query and query["w"] != str(self._waiting_for_me()):
            await self.send(text_data=fragments.waiting_count_html(self._waiting_for_me()))

    def _arrival(self, query: QueryDict) -> None:
        """Everything a handshake reads and writes after the account, in one trip to
        the sync thread: every tab of a restarted server connects at once, and each
        trip waits its turn on that one thread (docs/perf.md, benchmark 4c)."""
        assignment.presence_arrived(agent=self.agent, locale=self.locale_key)
        self.status = self._status_on_arrival()
        self.waiting = self._waiting_now()
        self._read_approvals_facts(query)

    def _status_on_arrival(self) -> str:
        """The agent's own status as the tab opens: present, so their availability
        decides, from the profile read with their account moments ago when it was."""
        if localization.profile_is_loaded(self.agent):
            try:
                availability = self.agent.desk_profile.availability
            except AgentProfile.DoesNotExist:
                availability = Availability.ONLINE
            return selectors.own_status(availability)
        agent = selectors.agent_with_status(self.agent.pk, load=False)
        return agent.status if agent is not None else "online"

    async def _seen(self) -> None:
        try:
            await database_sync_to_async(assignment.presence_seen)(agent_id=self.agent.pk)
        except Exception:  # the presence runs out a little sooner; nothing else is lost
            logger.exception("could not refresh the presence of agent %s", self.agent.pk)

    async def _connect_ticket(self, query: QueryDict) -> None:
        try:
            ticket = await database_sync_to_async(ticket_for_agent)(self.agent, query["ticket"])
        except Http404:
            await self.close()
            return
        self.ticket_id = ticket.pk
        # Messages at or below `after` the tab has; those sent since, by id.
        self.seen_up_to = _int(query.get("after"))
        self.sent: set[int] = set()
        # Join before reading the replay: a line committed in between comes both ways
        # and the `sent` set drops the second copy; none can fall in the gap.
        await self._join(ticket_group(ticket.pk))
        await self.accept()
        await self._arrive(query)
        missed = await database_sync_to_async(self._missed_messages)()
        for message_id, html in missed:
            self.sent.add(message_id)
            await self.send(text_data=html)
        if missed and self.seen_up_to:
            state = await database_sync_to_async(fragments.ticket_state_html)(ticket.pk)
            await self.send(text_data=state)
        # Presence: start from an empty list, then everyone viewing says so.
        await self.send(text_data='<ul id="viewers" hx-swap-oob="innerHTML"></ul>')
        await self._presence("join")

    def _waiting_now(self) -> dict:
        return selectors.waiting_counts(self.agent.pk)

    def _waiting_for_me(self) -> int:
        """The tab title's number: my tickets awaiting a reply, and the queue while I take
        new tickets."""
        queue = self.waiting["pending"] if self.status == "online" else 0
        return self.waiting["mine"] + queue

    async def _send_waiting_if_changed(self, before: int) -> None:
        now = self._waiting_for_me()
        if now != before:
            await self.send(text_data=fragments.waiting_count_html(now))

    def _missed_messages(self) -> list[tuple[int, str]]:
        return [
            (message.pk, fragments.message_html(message))
            for message in selectors.transcript(self.ticket_id, after=self.seen_up_to)
        ]

    async def _connect_inbox(self, query: QueryDict) -> None:
        self.inbox_filter = InboxFilter.from_query(query)
        # The page's own query string, for the links of a list re-sent after a reconnect.
        page_query = query.copy()
        for key in ("inbox", "t", "m"):
            page_query.pop(key, None)
        await self._join(INBOX_GROUP)
        await self.accept()
        await self._arrive(query)
        if "t" in query or "m" in query:
            changed = await database_sync_to_async(selectors.inbox_changed_since)(
                ticket_id=_int(query.get("t")), message_id=_int(query.get("m"))
            )
            if changed:
                html = await database_sync_to_async(fragments.inbox_list)(
                    self.inbox_filter, self.agent, page_size=INBOX_PAGE_SIZE, query=page_query
                )
                await self.send(text_data=html)

    def _guard_sends(self) -> None:
        """A broadcast can reach a tab in the moment it closes. The server then refuses
        the send (daphne: "Attempt to send on a closed protocol"); unguarded, that error
        ended the consumer before `disconnect` ran, leaving its channel in the groups and
        its agent listed as viewing. Sends to a gone tab are dropped instead, and the
        disconnect that follows cleans up as always."""
        send = self.base_send

        async def guarded(message: dict) -> None:
            if self.gone:
                return
            try:
                await send(message)
            except (RuntimeError, OSError) as exc:  # autobahn's Disconnected: RuntimeError
                self.gone = True
                logger.debug("tab %s went away mid-send: %s", self.channel_name, exc)

        self.base_send = guarded

    async def _join(self, group: str) -> None:
        await self.channel_layer.group_add(group, self.channel_name)
        self.joined.append(group)
        if self._keeper is None and self._keeper_timer is None:
            self._keeper = asyncio.create_task(self._keep_up(first=True))

    async def _keep_up(self, first: bool = False) -> None:
        """What an open tab needs over hours:
        - channel layers forget a group member after `group_expiry` (a day by default),
          so a tab open longer would go quietly deaf: it re-joins at half that interval;
        - its session can end without a logout here (expiry, the agent disabled or their
          password changed): it re-reads the session every DESK_SESSION_RECHECK_SECONDS
          and at the session's expiry, and closes (4401) once it no longer signs in.
        Each step runs as a short task and schedules the next with a timer: an idle tab
        holds a timer, not a sleeping task (a socket's memory: docs/perf.md, benchmark 5)."""
        loop = asyncio.get_running_loop()
        now = loop.time()
        if first:
            self._next_rejoin = now + getattr(self.channel_layer, "group_expiry", 86400) / 2
            self._next_check = now + await self._seconds_to_next_check()
        else:
            if now >= self._next_check:
                if not await database_sync_to_async(self._still_signed_in)():
                    await self._sign_out()
                    return
                self._next_check = loop.time() + await self._seconds_to_next_check()
            if now >= self._next_rejoin:
                for group in list(self.joined):
                    await self.channel_layer.group_add(group, self.channel_name)
                self._next_rejoin = loop.time() + (
                    getattr(self.channel_layer, "group_expiry", 86400) / 2
                )
        if self.gone:
            return
        self._keeper_timer = loop.call_at(
            min(self._next_rejoin, self._next_check), self._keep_up_soon
        )

    def _keep_up_soon(self) -> None:
        self._keeper_timer = None
        self._keeper = asyncio.create_task(self._keep_up())

    async def _sign_out(self) -> None:
        """Close as signed out (the page goes to login); nothing is sent after that."""
        await self.close(code=SIGNED_OUT)
        self.gone = True

    async def _seconds_to_next_check(self) -> float:
        every = float(settings.DESK_SESSION_RECHECK_SECONDS)
        expires = await database_sync_to_async(self._session_expires_at)()
        if expires is None:
            return every
        return max(0.5, min(every, (expires - timezone.now()).total_seconds() + 0.5))

    def _session_expires_at(self):
        """When the socket's session expires, where sessions live in the database."""
        if not settings.SESSION_ENGINE.endswith("db"):
            return None
        key = self.scope["session"].session_key
        return Session.objects.filter(session_key=key).values_list("expire_date", flat=True).first()

    async def disconnect(self, code: int) -> None:
        if self.locale_counted:
            realtime.tab_locale_closed(self.locale_key)
            self.locale_counted = False
        if self._keeper_timer is not None:
            self._keeper_timer.cancel()
            self._keeper_timer = None
        if self._keeper is not None:
            self._keeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._keeper
        if self.counted:
            self.counted = False
            realtime.tab_closed(self.agent.pk)
            # Present for DESK_AWAY_AFTER_SECONDS from now: a reload or a move to
            # another page is not leaving.
            await self._seen()
        try:
            if self.ticket_id is not None and self.joined:
                await self.channel_layer.group_send(
                    ticket_group(self.ticket_id),
                    {
                        "type": "ticket.presence",
                        "event": "leave",
                        "agent_id": self.agent.pk,
                        "channel": self.channel_name,
                        "html": "",
                    },
                )
        finally:
            for group in getattr(self, "joined", []):
                with contextlib.suppress(Exception):  # one failure must not skip the rest
                    await self.channel_layer.group_discard(group, self.channel_name)

    async def dispatch(self, message: dict) -> None:
        """Channels closes stale database connections before every handler, with a hop
        onto the one thread that runs every sync view. A broadcast reaches every open tab
        at once, so that is a thousand hops queued behind the requests; handlers that read
        no database skip it (those that do go through `database_sync_to_async`, which
        closes stale connections itself)."""
        if self.needs_database(message):
            await super().dispatch(message)
            return
        await getattr(self, get_handler_name(message))(message)

    def needs_database(self, message: dict) -> bool:
        kind = message.get("type")
        if kind in _NO_DATABASE:
            return False
        if kind == "inbox.ticket":
            return self.inbox_filter is not None and self.inbox_filter.needs_search_check
        return True

    # --- frames from the tab ---------------------------------------------------------

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        try:
            data = json.loads(text_data or "")
        except (ValueError, RecursionError):  # not JSON, or nested past the parser's depth
            data = None
        if not isinstance(data, dict):
            await self.send(text_data=fragments.error_html("That message was not understood."))
            return
        action = str(data.get("action", ""))
        if action == "typing":
            if self.ticket_id is not None:
                await self.channel_layer.group_send(
                    ticket_group(self.ticket_id),
                    {
                        "type": "ticket.typing",
                        "agent_id": self.agent.pk,
                        "name": display_name(self.agent),
                        "locale": self.locale_key,
                        "html": fragments.typing_html(self.agent.pk, display_name(self.agent)),
                    },
                )
            return
        if not await database_sync_to_async(self._still_signed_in)():
            # Logged out (in another tab), disabled, or password changed since connect.
            await self._sign_out()
            return
        try:
            await database_sync_to_async(actions.perform)(
                agent=self.agent, ticket_id=data.get("ticket", self.ticket_id), data=data
            )
        except DeskError as error:
            await self.send(text_data=fragments.error_html(error.message, source=action))

    def _still_signed_in(self) -> bool:
        """The socket's session, read afresh, still signs in this active agent."""
        session = self.scope["session"]
        fresh = SimpleNamespace(session=session.__class__(session.session_key))
        user = get_user(fresh)
        return user.is_authenticated and user.is_active and user.pk == self.agent.pk

    # --- group messages ---------------------------------------------------------------

    async def session_ended(self, event: dict) -> None:
        """This tab's session was logged out (in this or another tab): no more live data."""
        await self._sign_out()

    async def _in_my_locale(self, event: dict) -> dict | None:
        """The words of a live fragment as this tab shows them: the rendering made for
        its locale, or (its locale missing from the message: the tab opened a moment ago)
        its own, rendered now. None: the thing is gone."""
        words = event["locales"].get(self.locale_key)
        if words is None:
            words = await database_sync_to_async(realtime.words_for_one)(event, self.locale_key)
        return words

    async def inbox_ticket(self, event: dict) -> None:
        view = self.inbox_filter
        if view is None:
            return
        admitted = view.admits(event["facts"], self.agent)
        if admitted and view.needs_search_check:
            admitted = await database_sync_to_async(view.matches_search)(event["ticket_id"])
        # The newest copy of a row replaces an older one and the page script keeps
        # the list in inbox order; a tombstone takes out a row that left this view.
        words = await self._in_my_locale(event) if admitted else None
        if words is not None:
            parts = [fragments.row_insert_html(words["row_html"])]
        else:
            parts = [fragments.row_gone_html(event["ticket_id"])]
        await self.send(text_data="".join(parts))

    async def inbox_counts(self, event: dict) -> None:
        """The side-bar counts, sent apart from the rows (see `realtime.CountsBroadcast`),
        to inbox tabs; what waits for me, to every tab, when it changed."""
        if self.waiting is None:
            return  # not open yet
        before = self._waiting_for_me()
        self.waiting = {
            "pending": event["pending"],
            "mine": event["awaiting_counts"].get(str(self.agent.pk), 0),
        }
        if self.inbox_filter is not None:
            mine = event["assigned_counts"].get(str(self.agent.pk), 0)
            words = await self._in_my_locale(event)
            await self.send(
                text_data=words["counts_html"]
                + fragments.mine_count_html(mine)
                + fragments.waiting_count_html(self._waiting_for_me())
            )
            return
        await self._send_waiting_if_changed(before)

    async def alerts_escalation(self, event: dict) -> None:
        """A new ticket waits: an alert for agents who take new tickets."""
        if self.waiting is not None and self.status == "online":
            words = await self._in_my_locale(event)
            await self.send(text_data=words["alert_html"])

    async def alerts_personal(self, event: dict) -> None:
        """Something for me alone: a ticket given to me, my customer wrote."""
        if self.waiting is None:
            return
        html = (await self._in_my_locale(event))["alert_html"]
        if event.get("recount"):
            before = self._waiting_for_me()
            self.waiting = await database_sync_to_async(self._waiting_now)()
            if self._waiting_for_me() != before:
                html += fragments.waiting_count_html(self._waiting_for_me())
        await self.send(text_data=html)

    async def agents_status(self, event: dict) -> None:
        """An agent's availability or presence changed: their badges, or Team row."""
        words = await self._in_my_locale(event)
        if words is None:
            return  # the agent is gone (disabled)
        if self.team:
            await self.send(text_data=words["team_html"])
            return
        html = words["html"]
        if event["agent_id"] == self.agent.pk:
            html += words["mine_html"]
            if event["status"] != self.status:
                before = self._waiting_for_me() if self.waiting is not None else None
                self.status = event["status"]
                if self.ticket_id is not None:
                    self.__dict__.pop("viewer_html", None)  # my "viewing now", re-rendered
                if before is not None and self._waiting_for_me() != before:
                    html += fragments.waiting_count_html(self._waiting_for_me())
        await self.send(text_data=html)

    async def ticket_changed(self, event: dict) -> None:
        if event["ticket_id"] == self.ticket_id:
            words = await self._in_my_locale(event)
            if words is not None:
                await self.send(text_data=words["html"])

    async def ticket_message(self, event: dict) -> None:
        message_id = event["message_id"]
        if event["ticket_id"] != self.ticket_id:
            return
        stale = message_id <= self.seen_up_to or message_id in self.sent
        if stale and not event.get("refresh"):  # a refreshed line replaces the tab's copy
            return
        self.sent.add(message_id)
        words = await self._in_my_locale(event)
        if words is not None:
            await self.send(text_data=words["html"])

    async def ticket_typing(self, event: dict) -> None:
        """One agent's tab to the few showing the same ticket: rendered by the typist's
        tab in its locale, and here again (no database) by a tab in another."""
        if event["agent_id"] == self.agent.pk:
            return
        html = event["html"]
        if event["locale"] != self.locale_key:
            html = fragments.typing_html(event["agent_id"], event["name"])
        await self.send(text_data=html)

    async def ticket_presence(self, event: dict) -> None:
        mine = event["channel"] == self.channel_name
        match event["event"]:
            case "join":
                if not mine:  # tell the newcomer we are here too
                    await self.channel_layer.send(event["channel"], self._presence_event("here"))
                await self.send(text_data=self._viewer_in_my_locale(event))
            case "here":
                await self.send(text_data=self._viewer_in_my_locale(event))
            case "leave" if not mine:
                if event["agent_id"] == self.agent.pk:
                    # Another tab of ours closed; this one still shows the ticket.
                    await self._presence("here")
                else:
                    await self.send(text_data=fragments.viewer_gone_html(event["agent_id"]))

    async def _presence(self, what: str) -> None:
        await self.channel_layer.group_send(
            ticket_group(self.ticket_id), self._presence_event(what)
        )

    def _presence_event(self, what: str) -> dict:
        return {
            "type": "ticket.presence",
            "event": what,
            "agent_id": self.agent.pk,
            "channel": self.channel_name,
            "name": display_name(self.agent),
            "status": self.status,
            "locale": self.locale_key,
            "html": self.viewer_html,
        }

    def _viewer_in_my_locale(self, event: dict) -> str:
        """A viewer's "viewing now" entry, rendered by their tab in its locale; rendered
        here again (no database) when this tab's differs."""
        if event["locale"] == self.locale_key:
            return event["html"]
        return fragments.viewer_html(event["agent_id"], event["name"], event["status"])

    @functools.cached_property
    def viewer_html(self) -> str:
        return fragments.viewer_html(self.agent.pk, display_name(self.agent), self.status)
