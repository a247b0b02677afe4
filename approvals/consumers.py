"""The approvals' part of the desk websocket (/ws/desk/), kept apart from the rest.

`desk.consumers.DeskConsumer` mixes this in. An approvals list tab connects with
`?approvals=1`; an approval page with `?approvals=1&approval=ID`. Every desk tab
also hears the pending count (it shows in the top bar); a tab that says which count
it shows (`ac=N`) is sent the current one on connect when they differ.

Frames out (HTML, out-of-band swaps): a list row or its tombstone, the count, and
on an approval's page the decision that replaces its buttons.
"""

from channels.db import database_sync_to_async
from django.http import QueryDict

from approvals import fragments, selectors
from approvals.access import can_decide
from approvals.realtime import APPROVALS_GROUP

# Group messages whose handlers read no database.
NO_DATABASE = frozenset({"approvals.changed"})


def _int(value: object) -> int | None:
    try:
        return int(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None


class ApprovalsSocket:
    """Mixed into the desk consumer, which provides `_join`, `accept`, `send` and
    `_in_my_locale`."""

    approvals_list: bool = False
    approval_id: int | None = None
    may_decide: bool = False
    approvals_count: int | None = None  # read on arrival when the tab showed one

    async def _connect_approvals(self, query: QueryDict) -> None:
        self.approval_id = _int(query.get("approval"))
        self.approvals_list = self.approval_id is None
        # Join before reading what to replay: a change committed in between comes both
        # ways, and a row or decision sent twice is the same swap twice.
        if APPROVALS_GROUP not in self.joined:
            await self._join(APPROVALS_GROUP)
        await self.accept()
        if self.approvals_list:
            html = await database_sync_to_async(fragments.list_html)()
            await self.send(text_data=html)
        else:
            html = await database_sync_to_async(self._decision_if_decided)()
            if html:
                await self.send(text_data=html)

    def _decision_if_decided(self) -> str:
        approval = selectors.list_row(self.approval_id)
        if approval is None or approval.is_pending:
            return ""
        return fragments.decision_html(approval)

    def _read_approvals_facts(self, query: QueryDict) -> None:
        """Read with the tab's arrival (`DeskConsumer._arrival`, one trip to the sync
        thread): whether the agent may decide, and the pending count when the tab says
        which one it shows (`ac=N`)."""
        self.may_decide = can_decide(self.agent)
        self.approvals_count = selectors.pending_count() if "ac" in query else None

    async def _hear_approvals_count(self, query: QueryDict) -> None:
        """An accepted tab other than the list: join for the count (unless joined), and
        correct the one it shows (read on arrival: a change since is broadcast to the
        group it joined before)."""
        if APPROVALS_GROUP not in self.joined:
            await self._join(APPROVALS_GROUP)
        if self.approvals_count is not None and str(self.approvals_count) != query["ac"]:
            await self.send(text_data=fragments.count_html(self.approvals_count))

    async def approvals_changed(self, event: dict) -> None:
        words = await self._in_my_locale(event)  # rendered in the tab's locale
        parts = [words["count_html"]]
        if words["alert_html"] and self.may_decide:
            # A request just made: the agents who may decide it are alerted (desk.alerts).
            parts.append(words["alert_html"])
        if self.approvals_list:
            if event["pending"] and words["row_html"]:
                parts.append(fragments.row_insert_html(words["row_html"]))
            else:
                parts.append(fragments.row_gone_html(event["approval_id"]))
        elif self.approval_id == event["approval_id"] and words["decision_html"]:
            parts.append(words["decision_html"])
        await self.send(text_data="".join(parts))
