"""Settings for the benchmark server: Desk's own, with the bench-only URLconf on top.

Everything else (database, channel layer, middleware, DEBUG) is read from the same
environment variables as Desk's, so the baseline routes run on exactly Desk's setup.
"""

from desk.settings import *  # noqa: F403

ROOT_URLCONF = "bench.urls"
