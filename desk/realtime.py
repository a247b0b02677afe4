"""Announcements to open browser tabs, through the Channels channel layer.

Service functions call these after they change the database; the messages go out
only once the transaction commits, so a tab never hears of a row it cannot read.
The channel layer carries notifications only: the database stays the truth.

Each announcement renders its HTML fragments here, once in each locale (language and
time zone, `localization.locale_key`) among the open tabs, and carries them in the group
message keyed by locale; the consumers pick their own locale's and choose which of them
a socket gets. So a change costs one render per locale present, however many tabs are
open (see `localized`). Nothing rendered here depends on who is looking beyond their
locale; what does (the "Assigned to me" count) travels as plain numbers.

Which locales are present: this process's own open tabs (`tab_locale_opened`), and
those every process's tabs recorded on their agents' presence rows, read at most every
`LISTENER_LOCALES_SECONDS`. A tab whose locale a frame lacks (it opened a moment ago, on
another process) renders that fragment itself (`words_for_one`): never a wrong language.

A new transcript line is rendered in its request, after the commit (who waits on the
other side sees it first). What a change moves besides (its inbox row, the ticket's side
bar or message count) is rendered off the request on a server: the change marks its
ticket on the event loop and one task per process renders the marked tickets together,
on the sync thread of the websockets' database work, at most every CHANGES_INTERVAL
(see `ChangesBroadcast`; docs/perf.md measured a thread of its own, one by one, slower).
Each announcement renders only what the change can have moved.

The side-bar counts are the exception: they are a recount of the whole table, the same
whatever changed, and a burst of changes needs only the last one. A change marks them
dirty; one task per process on the server's event loop renders and broadcasts them at
most every `COUNTS_INTERVAL` seconds, and once more after the last change of a burst
(see `CountsBroadcast`). Where there is no server loop (a management command, the task
worker's threads, a plain test) they are rendered and sent at once, as before.

Groups:
- "inbox": every open inbox tab; message type "inbox.ticket".
- ticket_group(id): every tab showing that ticket; types "ticket.changed",
  "ticket.message", and the consumers' own "ticket.typing" and "ticket.presence".
- session_group(key): every tab of one login session; type "session.ended" at logout.
- "agents": every open tab; type "agents.status": an agent's availability, presence
  or capacity changed (the badge beside their name everywhere, the Team page's row);
  "inbox.counts": the side-bar counts (inbox tabs) and what waits for each agent (every
  tab's title); "alerts.escalation": a new ticket waits in the queue (`desk.alerts`).
- agent_group(id) (`desk.alerts`): every tab of one agent; type "alerts.personal".

An agent goes away by doing nothing (their last tab closed a while ago), so nothing
announces it: each server process sweeps for agents who just went away every few
seconds while it has open tabs (see `PresenceSweep`) and announces them.
"""

import asyncio
import collections
import contextvars
import hashlib
import logging
import math
import os
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from asgiref.sync import SyncToAsync, async_to_sync
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import transaction

from desk import fragments, localization, selectors

logger = logging.getLogger(__name__)

INBOX_GROUP = "inbox"
AGENTS_GROUP = "agents"

# What of a changed ticket to re-render: its inbox row, the side-bar counts, the
# details side bar of the tabs showing it, or only the transcript's message count in
# that side bar (a new line moves nothing else there).
ROW, COUNTS, STATE, TALLY = "row", "counts", "state", "tally"

# Seconds between two broadcasts of the side-bar counts from one process.
COUNTS_INTERVAL = 0.25

# Seconds between two batches of changed tickets' rows and side bars from one process
# (the first change after a quiet spell goes at once; see `ChangesBroadcast`).
CHANGES_INTERVAL = 0.05


def ticket_group(ticket_id: int) -> str:
    return f"ticket-{ticket_id}"


def session_group(session_key: str) -> str:
    """Every tab signed in with one session (named by a hash: no session key in Redis)."""
    return "session-" + hashlib.sha256(session_key.encode()).hexdigest()[:40]


def announce_session_ended(session_key: str) -> None:
    """The session was logged out: its open tabs close at once (consumers, "session.ended")."""
    group_send(session_group(session_key), {"type": "session.ended"})


def group_send(group: str, message: dict) -> None:
    layer = get_channel_layer()
    if layer is not None:
        async_to_sync(layer.group_send)(group, message)


@dataclass
class Announcement:
    """One thing to tell the tabs: a changed ticket (`parts` of it) or a new line."""

    ticket_id: int
    message_id: int | None = None
    parts: set[str] = field(default_factory=set)
    refresh: bool = False  # a line the tabs have: shown again (a copy of its media arrived)
    # The new line itself, as its request just wrote it (plain text: what it shows is
    # all in its own row), so that pushing it reads nothing back.
    line: Any = None

    @property
    def key(self) -> tuple:
        return ("message", self.message_id) if self.message_id else ("changed", self.ticket_id)


def _once_on_commit(announcement: Announcement) -> None:
    """Announce after the commit, once per ticket or line and transaction: a reply that
    also claims the ticket changes it twice but is announced once, with the final state."""
    connection = transaction.get_connection()
    if connection.in_atomic_block:
        for _, func, _ in connection.run_on_commit:
            queued = getattr(func, "desk_announcement", None)
            if queued is not None and queued.key == announcement.key:
                queued.parts |= announcement.parts
                return

    def send() -> None:
        loop = _server_loop() if announcement.message_id is None else None
        if loop is not None:
            # A fresh context, as for the counts (see counts_changed).
            loop.call_soon_threadsafe(
                _mark_ticket_changed,
                loop,
                announcement.ticket_id,
                frozenset(announcement.parts),
                context=contextvars.Context(),
            )
            return
        for group, message in render(announcement):
            group_send(group, message)
        if COUNTS in announcement.parts:
            counts_changed()

    send.desk_announcement = announcement  # type: ignore[attr-defined]
    transaction.on_commit(send, robust=True)


def announce_ticket_changed(
    ticket_id: int, *, counts: bool = True, state: bool = True, tally: bool = False
) -> None:
    """A ticket was created or changed: every inbox refreshes its row (and, unless the
    change cannot move them, the counts); every tab showing the ticket its details
    (not needed for a ticket just created: nobody can be showing it yet), or with
    `tally` instead only the transcript's message and note count (a new line)."""
    parts = {ROW} | ({COUNTS} if counts else set()) | ({STATE} if state else set())
    parts |= {TALLY} if tally else set()
    _once_on_commit(Announcement(ticket_id, parts=parts))


def announce_message(
    ticket_id: int, message_id: int, *, refresh: bool = False, line: Any = None
) -> None:
    """A transcript line was added (with `refresh`: changed): tabs viewing the ticket
    append it (or replace their copy). `line`: the new plain-text Message just written,
    shown as it is instead of read back."""
    _once_on_commit(Announcement(ticket_id, message_id=message_id, refresh=refresh, line=line))


def announce_agent_status(agent_id: int) -> None:
    """An agent's availability, presence or capacity changed: after the commit, every
    tab updates the badge beside their name, and the Team page their row."""
    connection = transaction.get_connection()
    if connection.in_atomic_block:
        for _, func, _ in connection.run_on_commit:
            if getattr(func, "desk_agent_status", None) == agent_id:
                return

    def send() -> None:
        update = localized("agent.status", agent_id)
        if update is not None:
            group_send(AGENTS_GROUP, {"type": "agents.status", **update})

    send.desk_agent_status = agent_id  # type: ignore[attr-defined]
    transaction.on_commit(send, robust=True)


# --- rendering ------------------------------------------------------------------------


def render(announcement: Announcement) -> list[tuple[str, dict]]:
    """The group messages for one announcement: (group, message) pairs."""
    ticket_id = announcement.ticket_id
    if announcement.message_id is not None:
        line = localized(
            "ticket.line", ticket_id, announcement.message_id, loaded=announcement.line
        )
        if line is None:
            return []
        frame = {"type": "ticket.message", **line, "refresh": announcement.refresh}
        return [(ticket_group(ticket_id), frame)]
    return render_changes({ticket_id: announcement.parts})


def render_changes(changed: dict[int, "set[str] | frozenset[str]"]) -> list[tuple[str, dict]]:
    """The group messages for changed tickets ({ticket id: parts}): their rows read in
    one query for all of them, and so are their transcript tallies."""
    rows = localized_many("inbox.row", list(changed))
    tallies = localized_many(
        "ticket.tally", [t for t, parts in changed.items() if TALLY in parts and STATE not in parts]
    )
    frames = []
    for ticket_id, parts in changed.items():
        row = rows.get(ticket_id)
        if row is None:
            continue
        frames.append((INBOX_GROUP, {"type": "inbox.ticket", **row}))
        if STATE in parts:
            state = localized("ticket.state", ticket_id)
            frames.append((ticket_group(ticket_id), {"type": "ticket.changed", **state}))
        elif ticket_id in tallies:
            frames.append(
                (ticket_group(ticket_id), {"type": "ticket.changed", **tallies[ticket_id]})
            )
    return frames


# --- one rendering per locale -------------------------------------------------------------

# Seconds a process trusts its last read of the locales other processes' tabs recorded.
LISTENER_LOCALES_SECONDS = 2.0


@dataclass(frozen=True)
class LiveFragment:
    """A fragment pushed to open tabs, in two halves: `load` reads what it shows, once
    (None: nothing to show), and `words` renders that in the active locale, once per
    locale present ({field: html}). `facts` is what the consumers need besides words,
    the same in every locale."""

    load: Callable[..., Any]
    words: Callable[[Any], dict]
    facts: Callable[[Any], dict] = lambda loaded: {}
    # For a fragment of one argument: `load` for many at once ({argument: loaded}).
    load_many: Callable[[list], dict] | None = None


# Every live fragment by name: the group message names its fragment and arguments, so
# a tab whose locale it lacks renders its own, in whichever process holds the tab.
LIVE: dict[str, LiveFragment] = {}


def live_fragment(name: str, **halves: Callable) -> None:
    LIVE[name] = LiveFragment(**halves)


def localized(name: str, *args: object, loaded: Any = None) -> dict | None:
    """A group message's body for the live fragment `name`: its facts, and its words in
    each locale present (under "locales", keyed by `localization.locale_key`), with what
    a tab needs to render its own ("fragment", "args"). None when there is nothing to show.
    `loaded`: what `load` would read, in hand already."""
    live = LIVE[name]
    if loaded is None:
        loaded = live.load(*args)
    if loaded is None:
        return None
    by_locale = {}
    for key in listener_locales():
        with localization.speaking(key):
            by_locale[key] = live.words(loaded)
    return {**live.facts(loaded), "fragment": name, "args": list(args), "locales": by_locale}


def localized_many(name: str, args: list) -> dict[Any, dict]:
    """`localized` for many fragments of one argument ({argument: body}), read together
    when the fragment can (`load_many`); each locale is entered once for all of them."""
    if not args:
        return {}
    live = LIVE[name]
    if live.load_many is not None:
        loaded = live.load_many(args)
    else:
        loaded = {arg: live.load(arg) for arg in args}
    bodies = {
        arg: {**live.facts(data), "fragment": name, "args": [arg], "locales": {}}
        for arg, data in loaded.items()
        if data is not None
    }
    for key in listener_locales():
        with localization.speaking(key):
            for arg, body in bodies.items():
                body["locales"][key] = live.words(loaded[arg])
    return bodies


def words_for_one(message: dict, key: str) -> dict | None:
    """The words of a group message's fragment in the locale `key`, rendered for one tab
    whose locale the message lacks (read afresh: at least as new as the message)."""
    live = LIVE[message["fragment"]]
    with localization.speaking(key):
        loaded = live.load(*message["args"])
        return None if loaded is None else live.words(loaded)


# This process's open tabs by locale key (changed on the event loop's thread only).
_tabs_by_locale: dict[str, int] = {}
_recorded_locales: tuple[float, frozenset[str]] = (-math.inf, frozenset())


def tab_locale_opened(key: str) -> None:
    _tabs_by_locale[key] = _tabs_by_locale.get(key, 0) + 1


def tab_locale_closed(key: str) -> None:
    left = _tabs_by_locale.get(key, 0) - 1
    if left > 0:
        _tabs_by_locale[key] = left
    else:
        _tabs_by_locale.pop(key, None)


def listener_locales() -> list[str]:
    """The locales of the open tabs: this process's, known at once, and every process's
    as their agents' presence rows record them (read at most every
    LISTENER_LOCALES_SECONDS: a tab on another process that opened since renders for
    itself until then)."""
    global _recorded_locales
    read_at, recorded = _recorded_locales
    now = time.monotonic()
    if now - read_at >= LISTENER_LOCALES_SECONDS:
        recorded = frozenset(selectors.listener_locales())
        _recorded_locales = (now, recorded)
    return sorted(recorded.union(list(_tabs_by_locale)))


def forget_listener_locales() -> None:
    """The next render reads the recorded locales afresh (tests, after a change of cast)."""
    global _recorded_locales
    _recorded_locales = (-math.inf, frozenset())


# --- the side-bar counts ----------------------------------------------------------------


def counts_message() -> dict:
    return {"type": "inbox.counts", **localized("inbox.counts")}


def counts_changed() -> None:
    """The side-bar counts may have moved (called after the commit). On a server, the
    process's `CountsBroadcast` sends them soon; elsewhere they are sent now."""
    loop = _server_loop()
    if loop is None:
        group_send(AGENTS_GROUP, counts_message())
    else:
        # A fresh context: the task must not inherit this request's (asgiref's marks of
        # the sync thread in use among them, which would make its own hop deadlock).
        loop.call_soon_threadsafe(_mark_counts_dirty, loop, context=contextvars.Context())


def _server_loop() -> asyncio.AbstractEventLoop | None:
    """The running event loop this sync thread was called from (through sync_to_async,
    as daphne runs every sync view), if any: one that outlives this call."""
    threadlocal = SyncToAsync.threadlocal
    if getattr(threadlocal, "main_event_loop_pid", None) != os.getpid():
        return None
    loop = getattr(threadlocal, "main_event_loop", None)
    if loop is None or loop.is_closed() or not loop.is_running():
        return None
    return loop


# One broadcast of each kind per server process (per event loop), made when first marked.
_broadcasts: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[type, Any]]" = (
    weakref.WeakKeyDictionary()
)


def _broadcast(kind: type, loop: asyncio.AbstractEventLoop) -> Any:
    """On the loop's own thread."""
    of_loop = _broadcasts.setdefault(loop, {})
    if kind not in of_loop:
        of_loop[kind] = kind(loop)
    return of_loop[kind]


def _mark_counts_dirty(loop: asyncio.AbstractEventLoop) -> None:
    _broadcast(CountsBroadcast, loop).mark()


def _mark_ticket_changed(
    loop: asyncio.AbstractEventLoop, ticket_id: int, parts: frozenset[str]
) -> None:
    _broadcast(ChangesBroadcast, loop).mark(ticket_id, parts)


class ThrottledBroadcast:
    """What one server process sends from its event loop at most every `interval`
    seconds: the first time after a quiet spell at once, then whatever was marked while
    the last one was read and sent. Lives on the loop's thread only (no locks).
    Subclasses say whether anything is marked (`marked`) and read and send it (`send`),
    taking what they send out of the marks before they read it, so a change marked
    meanwhile goes in the next round."""

    interval: float

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.task: asyncio.Task | None = None
        self.last_sent = -math.inf

    def wake(self) -> None:
        if self.task is None:
            self.task = self.loop.create_task(self._run())

    def marked(self) -> bool:
        raise NotImplementedError

    async def send(self) -> None:
        raise NotImplementedError

    async def _run(self) -> None:
        try:
            while self.marked():
                await asyncio.sleep(max(0.0, self.last_sent + self.interval - self.loop.time()))
                self.last_sent = self.loop.time()
                await self.send()
        finally:
            self.task = None


class CountsBroadcast(ThrottledBroadcast):
    """The side-bar counts of one process, sent at most every `COUNTS_INTERVAL` seconds.

    Lives on the event loop's thread only (no locks). The first change after a quiet
    spell is sent at once; later ones wait for the interval and are sent together. The
    dirty flag is cleared before the counts are read, so a change committed while they
    are read or sent marks them again and is sent in the next round: the last change of
    a burst is always in the last frame.
    """

    interval = COUNTS_INTERVAL

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__(loop)
        self.dirty = False

    def mark(self) -> None:
        self.dirty = True
        self.wake()

    def marked(self) -> bool:
        return self.dirty

    async def send(self) -> None:
        self.dirty = False
        try:
            message = await database_sync_to_async(counts_message)()
            await get_channel_layer().group_send(AGENTS_GROUP, message)
        except Exception:
            logger.exception("The inbox counts could not be sent")


# --- changed tickets ----------------------------------------------------------------------


class ChangesBroadcast(ThrottledBroadcast):
    """The changed tickets of one server process, rendered off the request that changed
    them, together (see `render_changes`).

    A request that changes a ticket marks it here after its commit and answers; its
    new transcript line, if any, has already gone out from the request itself (that is
    what the person waiting on the other side sees first). The rows, side bars and
    tallies follow from this task, on the sync thread that runs the websockets'
    database work: the first change after a quiet spell at once, and every change that
    commits while a batch is read and sent in the next batch, each ticket once with
    what all its changes moved, at most every CHANGES_INTERVAL seconds. It is read
    after the last commit it reports, so it is never older than the change (the
    database stays the truth). Reading a batch costs the queries of one (the rows and
    tallies of the whole batch in one query each): 4.1 ms of CPU for one ticket, 1.5
    ms each for four, 0.8 ms each for sixteen (docs/perf.md).

    Lives on the event loop's thread only (no locks).
    """

    interval = CHANGES_INTERVAL

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__(loop)
        self.pending: dict[int, set[str]] = {}

    def mark(self, ticket_id: int, parts: frozenset[str]) -> None:
        self.pending.setdefault(ticket_id, set()).update(parts)
        self.wake()

    def marked(self) -> bool:
        return bool(self.pending)

    async def send(self) -> None:
        batch, self.pending = self.pending, {}
        try:
            frames = await database_sync_to_async(render_changes)(batch)
            layer = get_channel_layer()
            for group, message in frames:
                await layer.group_send(group, message)
        except Exception:
            logger.exception("Changed tickets could not be announced")
        if any(COUNTS in parts for parts in batch.values()):
            _mark_counts_dirty(self.loop)


def changes_pending() -> bool:
    """Whether this process (the running loop's) has changed tickets still to announce:
    a tab opened now might yet hear of a change made before it opened (harmless: the
    frame is read after that change's commit). Tests wait on it to open tabs after."""
    broadcast = _broadcasts.get(asyncio.get_running_loop(), {}).get(ChangesBroadcast)
    return broadcast is not None and broadcast.task is not None


# --- agents who went away ------------------------------------------------------------------

# Seconds between two looks for agents who just went away, per server process.
PRESENCE_SWEEP_INTERVAL = 5.0

_sweeps: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, PresenceSweep]" = (
    weakref.WeakKeyDictionary()
)


def tab_opened(agent_id: int) -> None:
    """A socket of the agent opened on this loop (called on it): the loop's sweep runs
    while it has any, and its beat keeps their presence fresh."""
    loop = asyncio.get_running_loop()
    sweep = _sweeps.get(loop)
    if sweep is None:
        sweep = _sweeps[loop] = PresenceSweep(loop)
    sweep.tabs += 1
    sweep.agents[agent_id] += 1
    if sweep.task is None:
        sweep.task = loop.create_task(sweep._run())
        sweep.beat = loop.create_task(sweep._beat())


def tab_closed(agent_id: int) -> None:
    sweep = _sweeps.get(asyncio.get_running_loop())
    if sweep is not None:
        sweep.tabs -= 1
        sweep.agents[agent_id] -= 1
        if sweep.agents[agent_id] <= 0:
            del sweep.agents[agent_id]
        if sweep.tabs <= 0 and sweep.task is not None:
            sweep.task.cancel()
            sweep.beat.cancel()
            sweep.task = sweep.beat = None


def heartbeat_seconds() -> float:
    """How often an open tab refreshes its agent's presence: well within the away delay."""
    return max(0.5, min(30.0, settings.DESK_AWAY_AFTER_SECONDS / 4))


class PresenceSweep:
    """Every PRESENCE_SWEEP_INTERVAL seconds, the agents whose presence ran out since the
    last look are announced (their badge turns to "away"). Each process sweeps for its
    own tabs' sake, while it has any; two processes announcing the same agent send the
    same badge."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.tabs = 0
        self.agents: collections.Counter[int] = collections.Counter()  # open tabs each
        self.task: asyncio.Task | None = None
        self.beat: asyncio.Task | None = None

    async def _beat(self) -> None:
        """Every `heartbeat_seconds()`, every agent with a tab open here is still present:
        one write for all of them, rather than a timer in each socket (a socket's memory
        is most of what an idle desk costs: docs/perf.md, benchmark 5)."""
        from desk import assignment  # it announces through this module

        while True:
            await asyncio.sleep(heartbeat_seconds())
            try:
                await database_sync_to_async(assignment.presence_seen_many)(
                    agent_ids=list(self.agents)
                )
            except Exception:  # the next beat tries again
                logger.exception("could not refresh the presence of this process's agents")

    async def _run(self) -> None:
        since = await database_sync_to_async(selectors.presence_cutoff)()
        while True:
            await asyncio.sleep(PRESENCE_SWEEP_INTERVAL)
            try:
                until = await database_sync_to_async(selectors.presence_cutoff)()
                gone = await database_sync_to_async(selectors.agents_gone_away)(since, until)
                since = until
                for agent_id in gone:
                    update = await database_sync_to_async(localized)("agent.status", agent_id)
                    if update is not None:
                        await get_channel_layer().group_send(
                            AGENTS_GROUP, {"type": "agents.status", **update}
                        )
            except Exception:
                logger.exception("The presence sweep failed")


# --- desk's live fragments ------------------------------------------------------------------

live_fragment(
    "inbox.row",
    load=selectors.inbox_row,
    load_many=selectors.inbox_rows,
    facts=fragments.row_facts,
    words=fragments.row_words,
)
live_fragment(
    "inbox.counts",
    load=fragments.counts_data,
    facts=fragments.counts_facts,
    words=fragments.counts_words,
)
live_fragment(
    "ticket.state",
    load=fragments.state_data,
    facts=fragments.state_facts,
    words=fragments.state_words,
)
live_fragment(
    "ticket.tally",
    load=fragments.tally_data,
    load_many=fragments.tallies_data,
    facts=lambda data: {"ticket_id": data["ticket_id"]},
    words=fragments.tally_words,
)
live_fragment(
    "ticket.line", load=fragments.line_data, facts=fragments.line_facts, words=fragments.line_words
)
live_fragment(
    "agent.status",
    load=lambda agent_id: selectors.agent_with_status(agent_id, load=True),
    facts=fragments.agent_status_facts,
    words=fragments.agent_status_words,
)
