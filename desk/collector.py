"""The pace of Python's cyclic garbage collector in a server process.

A server process holds a few hundred objects per open tab (its consumer, scope,
session, account, tasks, the server's protocol), about 1.1 million with 5,000 tabs.
CPython collects its oldest generation (every object) once the objects moved there
since the last such collection reach a quarter of it, checked every tenth collection
of the middle generation. A broadcast moves a few objects per tab there (each tab's
next wait for a message outlives the young collections), so with thousands of tabs
nearly every broadcast paid a full collection: at 5,000 tabs about 1 s of CPU of a
9 s broadcast on a loaded machine, and the reason a broadcast's cost grew faster than
its tabs (docs/perf.md, "Fan-out: the collector and the frame's path").

A server checks for a full collection every hundredth collection of the middle
generation instead (the quarter rule still applies). Unreachable cycles wait longer
for it; what a broadcast leaves behind is freed by reference counting at once (the
messages, frames and finished waits hold no cycles), so the memory an idle tab costs
does not change (benchmark 5).
"""

import gc

FULL_COLLECTION_EVERY = 100  # middle-generation collections; CPython's default is 10


def pace_for_server() -> None:
    young, middle, _ = gc.get_threshold()
    gc.set_threshold(young, middle, FULL_COLLECTION_EVERY)
