"""Announcements of approvals to open tabs, through the Channels channel layer.

Service functions call `announce_approval` inside their transaction; the message
goes out once it commits (a tab never hears of a row it cannot read). It is
rendered here, once per locale among the open tabs (`desk.realtime.localized`),
whoever listens: the row for the list (or a tombstone once decided), the pending
count, and for a decided approval the panel that replaces the buttons on its page.
The consumer chooses what each socket gets, in its own locale.

Group: APPROVALS_GROUP, message type "approvals.changed". Every desk tab joins it
(each shows the count); approval list and approval page tabs also use the rest.
"""

from django.db import transaction

from approvals import fragments
from desk.realtime import group_send, live_fragment, localized

APPROVALS_GROUP = "approvals"


def announce_approval(approval_id: int, *, new: bool = False) -> None:
    """An approval was created or decided: tell every tab, after the commit."""
    transaction.on_commit(
        lambda: group_send(APPROVALS_GROUP, approval_message(approval_id, new=new)),
        robust=True,
    )


def approval_message(approval_id: int, *, new: bool = False) -> dict:
    return {"type": "approvals.changed", **localized("approval", approval_id, new)}


live_fragment(
    "approval",
    load=fragments.approval_data,
    facts=fragments.approval_facts,
    words=fragments.approval_words,
)
