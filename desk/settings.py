"""Desk settings, read from environment variables.

The defaults are the embedded mode: SQLite under var/, an in-memory channel layer,
event delivery inside the server process. DATABASE_URL and REDIS_URL switch to
PostgreSQL and Redis for the scaled-out mode; nothing else changes.
"""

import ipaddress
import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("DESK_VAR_DIR", BASE_DIR / "var"))


def envbool(name: str, default: str) -> bool:
    value = os.environ.get(name, default).strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off", ""):
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, not {value!r}")


def envint(name: str, default: int) -> int:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be an integer, not {value!r}") from None


def envnetworks(name: str) -> list[str]:
    """Comma-separated IP addresses or networks (CIDR), each checked at start."""
    values = [v.strip() for v in os.environ.get(name, "").split(",") if v.strip()]
    for value in values:
        try:
            ipaddress.ip_network(value, strict=False)
        except ValueError:
            raise ImproperlyConfigured(
                f"{name} must list IP addresses or networks (CIDR), not {value!r}"
            ) from None
    return values


def envsecret(name: str) -> str | None:
    """A secret from NAME, or from the file named by NAME_FILE (Docker/K8s secrets)."""
    if path := os.environ.get(f"{name}_FILE"):
        return Path(path).read_text().strip()
    return os.environ.get(name) or None


DEBUG = envbool("DEBUG", "true")

SECRET_KEY = envsecret("SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY is required when DEBUG is off")
    SECRET_KEY = "insecure-dev-key-only-for-debug-mode-0123456789abcdefghijklmnop"

ALLOWED_HOSTS = [h.strip() for h in os.environ.get("ALLOWED_HOSTS", "").split(",") if h.strip()]
if not ALLOWED_HOSTS:
    ALLOWED_HOSTS = ["127.0.0.1", "localhost", "[::1]"] if DEBUG else []
CSRF_TRUSTED_ORIGINS = [
    o.strip() for o in os.environ.get("CSRF_TRUSTED_ORIGINS", "").split(",") if o.strip()
]

# The reverse proxies in front of Desk (addresses or networks). A request whose peer is
# one of them is attributed to the right-most X-Forwarded-For address that is not; with
# none listed (the default) no forwarded header is believed. See desk/forwarded.py.
DESK_TRUSTED_PROXIES = envnetworks("DESK_TRUSTED_PROXIES")

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "channels",
    "django_htmx",
    "django_tasks_db",
    "desk",
    "bots",
    "bots.demo",
    "approvals",
    "reports",
]

# Sessions signed in before AgentBackend existed name Django's ModelBackend: it stays,
# so nobody is signed out by an upgrade.
AUTHENTICATION_BACKENDS = [
    "desk.backends.AgentBackend",
    "django.contrib.auth.backends.ModelBackend",
]

MIDDLEWARE = [
    "desk.middleware.ApiErrorMiddleware",  # first, so it sees every answer under /api/
    "django.middleware.security.SecurityMiddleware",
    "desk.middleware.StaticFilesMiddleware",  # WhiteNoise, async-capable
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "desk.middleware.AgentLocaleMiddleware",  # the agent's own language and time zone
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "desk.urls"
ASGI_APPLICATION = "desk.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "desk.context_processors.availability",
            ],
            # {% translate %} and {% blocktranslate %} in every template, without a load.
            "builtins": [
                "django_htmx.templatetags.django_htmx",
                "django.templatetags.i18n",
                "desk.templatetags.labels",
            ],
        },
    }
]

if database_url := envsecret("DATABASE_URL"):
    # PostgreSQL connections come from a pool of DB_POOL_SIZE per process (psycopg_pool):
    # an ASGI server runs each request's database work on a thread of its own, so
    # connections kept per thread (DB_CONN_MAX_AGE) grow with the concurrent requests
    # (two processes under 32 clients exhausted max_connections=100), while a new
    # connection per request costs a connect and an authentication every time.
    # DB_POOL_SIZE=0 turns the pool off (then DB_CONN_MAX_AGE applies).
    pool_size = envint("DB_POOL_SIZE", 10)
    pooled = pool_size > 0 and database_url.startswith(("postgres://", "postgresql://"))
    DATABASES = {
        "default": dj_database_url.parse(
            database_url,
            conn_max_age=0 if pooled else envint("DB_CONN_MAX_AGE", 0),
            conn_health_checks=not pooled,
        )
    }
    if pooled:
        DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
            "min_size": 1,
            "max_size": pool_size,
            # A request that waits longer for a connection fails (the server is
            # overloaded: more processes, or a larger pool, DB_POOL_SIZE).
            "timeout": envint("DB_POOL_TIMEOUT", 20),
        }
    # One test database per test run, so parallel runs on one server never meet.
    DATABASES["default"]["TEST"] = {"NAME": f"test_{DATABASES['default']['NAME']}_{os.getpid()}"}
else:
    DATABASES = {
        "default": {
            # Django's backend, with this process's writers queued in the process
            # (SQLite's own wait sleeps through commits; desk/sqlite/base.py).
            "ENGINE": "desk.sqlite",
            "NAME": os.environ.get("SQLITE_PATH", str(VAR_DIR / "desk.sqlite3")),
            "OPTIONS": {
                # WAL lets readers run beside the one writer; IMMEDIATE takes the write
                # lock at BEGIN so concurrent writers queue instead of failing mid-way.
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
            },
            # Kept open: a request's thread is reused with its connection (desk/handler.py),
            # and the one thread that runs the websockets' database work keeps its own.
            "CONN_MAX_AGE": None,
            # A file (threads in tests share it), one per test run so parallel runs never meet.
            "TEST": {"NAME": str(VAR_DIR / f"test-{os.getpid()}.sqlite3")},
        }
    }

if redis_url := envsecret("REDIS_URL"):
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {
                "hosts": [
                    {
                        "address": redis_url,
                        # Every open tab waits on Redis with BZPOPMIN for up to 5 s at a
                        # time; redis-py's default read timeout is also 5 s, so an idle
                        # tab's read gave up first and its socket closed (1011). Reads
                        # may wait well past the pop; a dead server still ends them.
                        "socket_timeout": envint("DESK_REDIS_SOCKET_TIMEOUT_SECONDS", 30),
                        "socket_connect_timeout": 5,
                        "socket_keepalive": True,
                        "health_check_interval": 30,
                    }
                ],
                "capacity": 1500,
                "expiry": 30,
            },
        }
    }
else:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "desk.channel_layer.DeskInMemoryChannelLayer",
            "CONFIG": {"capacity": 1500, "expiry": 30},
        }
    }

# The cache holds short-lived counters (login throttling, API rate limits); with Redis
# they are shared by every server process.
if redis_url:
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": redis_url}
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# Three queues, so time-critical work never waits behind a slow webhook receiver:
# "default" holds the timers (agent-assignment timeouts), "deliveries" the webhook
# deliveries, "media" the thumbnails and copies of remote media (see bots/tasks.py and
# docs/deploy.md).
TASKS = {
    "default": {
        "BACKEND": "django_tasks_db.DatabaseBackend",
        "QUEUES": ["default", "deliveries", "media"],
    }
}

# Where the demo bot (/demo/) reaches Desk's API. Empty: the address `manage.py serve`
# listens on. Never taken from a request's Host header.
DESK_DEMO_DESK_URL = os.environ.get("DESK_DEMO_DESK_URL", "")

# Requests per API key to the bot API, as "N/s", "N/m" or "N/h"; empty turns it off.
DESK_API_RATE_LIMIT = os.environ.get("DESK_API_RATE_LIMIT", "6000/m") or None
# How long a server process trusts an API key it verified without reading it again; a
# revoked key stops at once in the process that revoked it, within this in the others.
DESK_API_KEY_CACHE_SECONDS = envint("DESK_API_KEY_CACHE_SECONDS", 5)

# Event delivery runs inside the server process unless separate workers are used.
DESK_EMBEDDED_WORKER = envbool("DESK_EMBEDDED_WORKER", "true")
# Threads delivering webhooks side by side, so a slow receiver holds one thread, not
# delivery; the embedded worker runs one more thread that only runs the timers.
DESK_EMBEDDED_WORKER_THREADS = envint("DESK_EMBEDDED_WORKER_THREADS", 4)
# How often an idle worker looks for due tasks (the embedded one is also woken at once).
DESK_WORKER_INTERVAL_SECONDS = envint("DESK_WORKER_INTERVAL_SECONDS", 1)

# Webhook delivery: the total time one POST may take (resolve, connect, send, the whole
# answer), and the retry backoff, which doubles from the base up to the cap and never
# gives up (nothing is dropped).
DESK_WEBHOOK_TIMEOUT_SECONDS = envint("DESK_WEBHOOK_TIMEOUT_SECONDS", 10)
DESK_WEBHOOK_RETRY_BASE_SECONDS = envint("DESK_WEBHOOK_RETRY_BASE_SECONDS", 5)
DESK_WEBHOOK_RETRY_MAX_SECONDS = envint("DESK_WEBHOOK_RETRY_MAX_SECONDS", 3600)
# Webhooks to private, loopback, link-local and this server's own addresses are refused
# unless allowed: by default only with DEBUG on (the embedded demo, whose bot listens on
# 127.0.0.1). DESK_WEBHOOK_ALLOWED_NETWORKS opens chosen networks only (e.g. 10.0.3.0/24).
DESK_WEBHOOK_ALLOW_PRIVATE = envbool("DESK_WEBHOOK_ALLOW_PRIVATE", "true" if DEBUG else "false")
DESK_WEBHOOK_ALLOWED_NETWORKS = [
    ipaddress.ip_network(n, strict=False) for n in envnetworks("DESK_WEBHOOK_ALLOWED_NETWORKS")
]

# An open tab re-reads its session this often (and at its expiry), and closes once the
# session no longer signs in. Logging out closes that session's tabs at once.
DESK_SESSION_RECHECK_SECONDS = envint("DESK_SESSION_RECHECK_SECONDS", 300)

# A long-poll re-reads the database this often while it waits, in case a wake-up was
# missed (another process without a shared channel layer).
DESK_LONG_POLL_RECHECK_SECONDS = envint("DESK_LONG_POLL_RECHECK_SECONDS", 5)

# An agent online but with no open Desk tab for this long counts as away (no new tickets).
DESK_AWAY_AFTER_SECONDS = envint("DESK_AWAY_AFTER_SECONDS", 120)

# A pending ticket's inbox row turns amber after this long in the queue, red after the
# second (live, in the browser).
DESK_AGING_WARN_SECONDS = envint("DESK_AGING_WARN_SECONDS", 300)
DESK_AGING_ALERT_SECONDS = envint("DESK_AGING_ALERT_SECONDS", 900)

# A waiting ticket's bot hears of its new place in line (hitlQueued) at most this often;
# the last place is always sent.
DESK_QUEUE_UPDATE_SECONDS = envint("DESK_QUEUE_UPDATE_SECONDS", 30)
# A ticket waiting for the customer's answer closes by itself (reason waitingTimeout)
# when the customer stays silent this long; 0 (the default) keeps it waiting.
DESK_WAITING_CLOSE_AFTER_SECONDS = envint("DESK_WAITING_CLOSE_AFTER_SECONDS", 0)
if DESK_WAITING_CLOSE_AFTER_SECONDS < 0:
    raise ImproperlyConfigured("DESK_WAITING_CLOSE_AFTER_SECONDS must be 0 (off) or more")

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "inbox"
LOGOUT_REDIRECT_URL = "login"

# The agent's language: their choice on their profile, else the browser's Accept-Language
# (LocaleMiddleware), else English. Each language is named in itself in the menus.
# The bot API stays English whatever the request says: its messages are a contract.
LANGUAGE_CODE = "en"
LANGUAGES = [
    ("en", "English"),
    ("fr", "Français"),
    ("de", "Deutsch"),
    ("es", "Español"),
]
LOCALE_PATHS = [BASE_DIR / "locale"]
# The server's own time zone; an agent sees times in theirs (profile, else their browser's).
TIME_ZONE = os.environ.get("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", BASE_DIR / "staticfiles"))

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# The bot API refuses bodies over 1 MiB with 413 (file uploads: DESK_MAX_UPLOAD_BYTES).
DATA_UPLOAD_MAX_MEMORY_SIZE = 1024 * 1024

# --- files (attachments, avatars) ---------------------------------------------------
# Where Desk keeps files: the local filesystem under var/files by default; with
# DESK_S3_BUCKET set, any S3-compatible store through django-storages (`pip install
# desk[s3]`), so several server processes share them. See docs/configuration.md.
MEDIA_ROOT = Path(os.environ.get("DESK_FILES_DIR", VAR_DIR / "files"))
if s3_bucket := os.environ.get("DESK_S3_BUCKET"):
    _files_storage = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": s3_bucket,
            "endpoint_url": os.environ.get("DESK_S3_ENDPOINT_URL") or None,
            "region_name": os.environ.get("DESK_S3_REGION") or None,
            "access_key": envsecret("DESK_S3_ACCESS_KEY_ID"),
            "secret_key": envsecret("DESK_S3_SECRET_ACCESS_KEY"),
            "location": os.environ.get("DESK_S3_PREFIX", ""),
            "default_acl": None,
            "querystring_auth": True,
            "file_overwrite": False,
        },
    }
else:
    _files_storage = {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(MEDIA_ROOT), "base_url": None},
    }
STORAGES = {
    "default": _files_storage,
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# The largest file a bot or an agent may upload (413 beyond it).
DESK_MAX_UPLOAD_BYTES = envint("DESK_MAX_UPLOAD_BYTES", 10 * 1024 * 1024)
# How long a file URL given to a bot (an upload's answer, an agentMessage) works.
DESK_FILE_URL_TTL_SECONDS = envint("DESK_FILE_URL_TTL_SECONDS", 3600)
# Media URLs a bot sends are shown as links and previews in the agent's browser; Desk
# itself fetches them (and keeps a copy) only when this is on, through the same
# private-address guard as webhooks (DESK_WEBHOOK_ALLOW_PRIVATE, …_ALLOWED_NETWORKS).
DESK_FETCH_REMOTE_MEDIA = envbool("DESK_FETCH_REMOTE_MEDIA", "false")
# An agent's upload never sent in a message is deleted after this many hours.
DESK_UNSENT_FILE_HOURS = envint("DESK_UNSENT_FILE_HOURS", 24)
# Desk's address as bots and their channels reach it (file and avatar URLs in answers
# and events), e.g. https://desk.example.com. Empty: the address `manage.py serve`
# listens on.
DESK_PUBLIC_URL = os.environ.get("DESK_PUBLIC_URL", "")
# Uploads over DESK_MAX_UPLOAD_BYTES stop at once and answer 413 (desk/uploads.py).
FILE_UPLOAD_HANDLERS = [
    "desk.uploads.SizeLimitUploadHandler",
    "django.core.files.uploadhandler.MemoryFileUploadHandler",
    "django.core.files.uploadhandler.TemporaryFileUploadHandler",
]

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_SECURE = not DEBUG
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if not DEBUG else None
SECURE_SSL_REDIRECT = envbool("SECURE_SSL_REDIRECT", "false" if DEBUG else "true")
SECURE_HSTS_SECONDS = envint("SECURE_HSTS_SECONDS", 0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = not DEBUG
SECURE_CONTENT_TYPE_NOSNIFF = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"bare": {"format": "%(message)s"}},
    "handlers": {
        "console": {"class": "logging.StreamHandler"},
        "access": {
            "class": "logging.StreamHandler",
            "stream": "ext://sys.stdout",
            "formatter": "bare",
        },
    },
    "loggers": {
        # One line per request and websocket, naming the client (see desk/forwarded.py).
        "desk.access": {
            "handlers": ["access"],
            "level": os.environ.get("LOG_LEVEL", "INFO"),
            "propagate": False,
        },
        "desk": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
        "bots": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    },
}
