"""Settings for the PMaaS Engagement Tracker.

Everything that differs between a laptop and production is read from the
environment. With nothing set, the project runs on the embedded default: a
SQLite file and a Celery broker kept in folders under ``var/``.
A missing or malformed variable stops start-up with one line naming it.
"""

import os
import sys
from datetime import time, timedelta
from pathlib import Path
from typing import Any

import environ
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
# Runtime state of the embedded default: the SQLite file and the broker folders.
VAR_DIR = Path(os.environ.get("PMAAS_VAR_DIR") or BASE_DIR / "var")

env = environ.Env()

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def _config_error(name: str, problem: str) -> None:
    # One readable line instead of a traceback: the operator only needs the name.
    sys.exit(f"pmaas: configuration error: {name} {problem}")


def env_bool(name: str, default: bool) -> bool:
    raw = env.str(name, default="").strip().lower()
    if raw == "":
        return default
    if raw in _TRUE:
        return True
    if raw in _FALSE:
        return False
    _config_error(name, f"must be a boolean (true/false), got {raw!r}")
    raise AssertionError  # unreachable: _config_error exits


def env_int(name: str, default: int, *, minimum: int = 0) -> int:
    raw = env.str(name, default="").strip()
    if raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        value = minimum - 1
    if value < minimum:
        _config_error(name, f"must be an integer >= {minimum}, got {raw!r}")
    return value


def env_float(name: str, default: float, *, above: float) -> float:
    raw = env.str(name, default="").strip()
    if raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        value = above
    if not value > above:
        _config_error(name, f"must be a number greater than {above:g}, got {raw!r}")
    return value


def env_time(name: str, default: str) -> time:
    raw = env.str(name, default="").strip() or default
    # HH:MM only: fromisoformat alone would also take seconds and time zones.
    if len(raw) == 5:
        try:
            return time.fromisoformat(raw)
        except ValueError:
            pass
    _config_error(name, f"must be a time of day as HH:MM such as {default}, got {raw!r}")
    raise AssertionError  # unreachable: _config_error exits


def env_list(name: str, default: list[str]) -> list[str]:
    raw = env.str(name, default="")
    if not raw.strip():
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


# --- Core -------------------------------------------------------------------

DEBUG = env_bool("DEBUG", default=False)

SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        _config_error("SECRET_KEY", "is required when DEBUG is off")
    SECRET_KEY = "development-only-key-not-for-production-use-0123456789abcdef"  # noqa: S105

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", default=[])

# The address sponsors and password-reset mails link back to.
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000").rstrip("/")

# The largest request body, in bytes; a larger one answers 413 (pmaas.middleware).
# The longest form, a check-in with its summary, decisions and follow-ups at
# their limits, is a few hundred kilobytes.
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("REQUEST_BODY_MAX_BYTES", default=1024 * 1024, minimum=64 * 1024)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    # Django's widget templates, for FORM_RENDERER below, which looks templates up through TEMPLATES.
    "django.forms",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "csp",
    "axes",
    "accounts",
    "search",
    "engagements",
    "stakeholders",
    "notifications",
    "communications",
    "workspace",
    "sponsor_updates",
    # Above every other app: it replays the demo history through their services.
    "demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Outside WhiteNoise, so static files carry the policy headers too.
    "csp.middleware.CSPMiddleware",
    "pmaas.middleware.PermissionsPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Before anything reads a body, so a too-large one is refused whole, with 413.
    "pmaas.middleware.RequestBodyLimitMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "accounts.middleware.UserTimeZoneMiddleware",
    # A logged-in page may name clients and people: no browser or proxy keeps a copy.
    "pmaas.middleware.NoStoreForUsersMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Services raise NotFound and NotAllowed; pages answer them with 404 and 403.
    "pmaas.middleware.DomainErrorMiddleware",
    # Last, so it sees the outcome of authentication attempts.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "pmaas.urls"
WSGI_APPLICATION = "pmaas.wsgi.application"
ASGI_APPLICATION = "pmaas.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "notifications.context_processors.notification_bell",
                "engagements.context_processors.header_role",
                "pmaas.context_processors.sharing",
            ],
            "builtins": ["pmaas.time_elements", "pmaas.deadlines"],
        },
    },
]

# Forms render through TEMPLATES, so one project template (templates/forms/field.html)
# draws every field of every page.
FORM_RENDERER = "pmaas.forms.FormRenderer"

# --- Database ---------------------------------------------------------------

try:
    DATABASES = {
        "default": env.db_url("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}"),
    }
except (ImproperlyConfigured, ValueError, KeyError) as exc:
    _config_error("DATABASE_URL", f"is not a usable database URL ({exc})")
# django-environ passes an unknown scheme through as the engine name, which
# would only fail later with a traceback deep inside Django.
if DATABASES["default"]["ENGINE"] not in ("django.db.backends.postgresql", "django.db.backends.sqlite3"):
    _config_error("DATABASE_URL", "must start with postgres:// or sqlite://")

if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    if DATABASES["default"]["NAME"] != ":memory:":
        Path(DATABASES["default"]["NAME"]).parent.mkdir(parents=True, exist_ok=True)
    # Web, worker and beat share one file: take the write lock at BEGIN and wait
    # for it rather than failing with "database is locked" halfway through.
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
else:
    DATABASES["default"]["CONN_MAX_AGE"] = env_int("DATABASE_CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    # No JIT compilation: a dashboard's correlated subqueries carry large estimated costs, so
    # PostgreSQL compiled them for 0.4 s to run a query that takes 5 ms (docs/benchmarks.md).
    _options = DATABASES["default"].setdefault("OPTIONS", {})
    _options["options"] = f"{_options.get('options', '')} -c jit=off".strip()

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache ------------------------------------------------------------------

# Throttle counters and the password-reset limiter live here, so every web
# process must share it: Redis in production, files under var/ on the
# embedded default (one machine). dbcache:// also works after
# `manage.py createcachetable`. A per-process memory cache would let each
# gunicorn worker count on its own.
_CACHE_SCHEMES = ("redis://", "rediss://", "filecache://", "dbcache://")
_cache_url = env.str("CACHE_URL", default=f"filecache://{VAR_DIR / 'cache'}")
if not _cache_url.startswith(_CACHE_SCHEMES):
    _config_error("CACHE_URL", f"must start with {', '.join(_CACHE_SCHEMES)}")
try:
    CACHES = {"default": environ.Env.cache_url_config(_cache_url)}
except (ImproperlyConfigured, ValueError, KeyError) as exc:
    _config_error("CACHE_URL", f"is not a usable cache URL ({exc})")

# --- Accounts and login -----------------------------------------------------

AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

AUTHENTICATION_BACKENDS = [
    # Axes first, so a locked-out username and address is refused before the
    # password is even checked.
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
    "accounts.backends.AdministratorRoleBackend",
]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# Lock the pair (username, address) so one attacker cannot lock a colleague
# out from elsewhere, and let the lock expire on its own.
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", default=5, minimum=1)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("AXES_COOLOFF_MINUTES", default=15, minimum=1))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
# Behind N trusted proxies the client's address is read from X-Forwarded-For;
# with none, that header is the client's own word and is ignored.
AXES_IPWARE_PROXY_COUNT = env_int("AXES_PROXY_COUNT", default=0)
AXES_IPWARE_META_PRECEDENCE_ORDER = (
    ["HTTP_X_FORWARDED_FOR", "REMOTE_ADDR"] if AXES_IPWARE_PROXY_COUNT else ["REMOTE_ADDR"]
)

SESSION_COOKIE_AGE = env_int("SESSION_COOKIE_AGE", default=60 * 60 * 12, minimum=60)

# One password-reset mail per address in this many minutes; a second request
# gets the same page and no mail, so it neither floods an inbox nor tells
# whether the address is known.
PASSWORD_RESET_INTERVAL = timedelta(minutes=env_int("PASSWORD_RESET_MINUTES", default=15, minimum=1))

# --- Email ------------------------------------------------------------------

try:
    vars().update(env.email_url("EMAIL_URL", default="consolemail://"))
except (ImproperlyConfigured, ValueError, KeyError) as exc:
    _config_error("EMAIL_URL", f"is not a usable mail URL ({exc})")
if vars().get("EMAIL_BACKEND") == "django.core.mail.backends.console.EmailBackend":
    # Printed as a readable block per message, not as raw MIME in the worker's log.
    EMAIL_BACKEND = "pmaas.console_mail.ConsoleEmailBackend"
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", default=20, minimum=1)
# At most this many immediate mails (at-once notices, check-in reminders) reach one person
# in an hour; the at-once events past it wait for the next at-once mail or the digest.
EMAIL_HOURLY_CAP = env_int("EMAIL_HOURLY_CAP", default=4, minimum=1)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="PMaaS Engagement Tracker <tracker@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# First pause before a failed send is tried again; it doubles each retry (notifications.tasks).
# Not configurable from the environment: tests of a real worker shorten it.
OUTBOX_RETRY_BACKOFF_SECONDS = 30

# --- Celery -----------------------------------------------------------------

BROKER_DIR = VAR_DIR / "broker"
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="filesystem://")
CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, Any]
if CELERY_BROKER_URL.startswith("filesystem://"):
    # kombu's filesystem transport, with messages written aside and renamed into the queue (pmaas.broker).
    CELERY_BROKER_TRANSPORT = "pmaas.broker:Transport"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(BROKER_DIR / "queue"),
        "data_folder_out": str(BROKER_DIR / "queue"),
        "processed_folder": str(BROKER_DIR / "processed"),
        # Exchange bindings; kombu's default is ./control, relative to wherever a process started.
        "control_folder": str(BROKER_DIR / "control"),
        # On the queue's filesystem, so the rename into the queue is atomic.
        "staging_folder": str(BROKER_DIR / "staging"),
        "store_processed": False,
        "polling_interval": 0.1,
    }
    # kombu refuses to start when its folders are missing; a fresh checkout has none.
    for _folder in ("queue", "processed", "control", "staging"):
        (BROKER_DIR / _folder).mkdir(parents=True, exist_ok=True)
elif CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
    # Longer than the longest task, so an acknowledged-late task is not handed
    # to a second worker while the first is still on it.
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT", default=3600, minimum=60),
    }
elif CELERY_BROKER_URL.startswith(("amqp://", "pyamqp://")):
    CELERY_BROKER_TRANSPORT_OPTIONS = {}
else:
    _config_error("CELERY_BROKER_URL", "must start with filesystem://, redis://, rediss:// or amqp://")

# Results are never read: the database records the outcome of every task.
CELERY_TASK_IGNORE_RESULT = True
CELERY_RESULT_BACKEND = None
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = 15 * 60
CELERY_TASK_SOFT_TIME_LIMIT = 14 * 60
CELERY_TIMEZONE = "UTC"
CELERY_ENABLE_UTC = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_WORKER_HIJACK_ROOT_LOGGER = False

FOLLOW_UP_SCAN_SECONDS = env_int("FOLLOW_UP_SCAN_SECONDS", default=300, minimum=10)
OCCURRENCE_DISPATCH_SECONDS = env_int("OCCURRENCE_DISPATCH_SECONDS", default=60, minimum=10)
OUTBOX_RECONCILE_SECONDS = env_int("OUTBOX_RECONCILE_SECONDS", default=300, minimum=10)
SILENCE_SCAN_SECONDS = env_int("SILENCE_SCAN_SECONDS", default=300, minimum=10)
SPONSOR_UPDATE_SCAN_SECONDS = env_int("SPONSOR_UPDATE_SCAN_SECONDS", default=300, minimum=10)
# Days a signed link in a sponsor update (view online, preferences, unsubscribe) keeps working.
SPONSOR_UPDATE_LINK_DAYS = env_int("SPONSOR_UPDATE_LINK_DAYS", default=90, minimum=1)
# A sponsor or PMO lead is silent after this many times their planned interval without a check-in.
SPONSOR_SILENCE_FACTOR = env_float("SPONSOR_SILENCE_FACTOR", default=1.5, above=1.0)


def _escalation_days() -> tuple[int, int]:
    raw = env.str("FOLLOW_UP_ESCALATION_DAYS", default="2,5")
    try:
        lead_days, practice_days = (int(part) for part in raw.split(","))
    except ValueError:
        lead_days, practice_days = 0, 0
    if not 1 <= lead_days < practice_days:
        _config_error(
            "FOLLOW_UP_ESCALATION_DAYS", f"must be two increasing whole numbers >= 1 such as 2,5, got {raw!r}"
        )
    return lead_days, practice_days


# Working days overdue before a follow-up escalates to the engagement lead, then to the practice leads.
FOLLOW_UP_ESCALATION_DAYS = _escalation_days()


def _health_thresholds() -> dict[str, float]:
    raw = env.str("HEALTH_THRESHOLDS", default="").strip()
    thresholds: dict[str, float] = {}
    for part in filter(None, (piece.strip() for piece in raw.split(","))):
        name, _, value = part.partition("=")
        try:
            thresholds[name.strip()] = float(value)
        except ValueError:
            _config_error(
                "HEALTH_THRESHOLDS", f"must be name=number pairs such as overdue_red_count=4, got {raw!r}"
            )
    return thresholds


# Where engagement and relationship health turn amber or red, by name
# (communications/health.py lists the names and their defaults).
HEALTH_THRESHOLDS = _health_thresholds()
HEALTH_SCAN_SECONDS = env_int("HEALTH_SCAN_SECONDS", default=900, minimum=10)
# Who needs attention lists relationships whose health dropped within this many days.
RELATIONSHIP_DROP_WINDOW_DAYS = env_int("RELATIONSHIP_DROP_WINDOW_DAYS", default=14, minimum=1)
# How often beat recomputes this week's and last week's roll-ups of every
# engagement (communications/rollups.py): what time alone changes.
ROLLUP_SCAN_SECONDS = env_int("ROLLUP_SCAN_SECONDS", default=900, minimum=10)

# The end of a client's working day (engagements/working_days.py): a deadline
# "N working days after" falls then, in the client's time zone.
WORKING_DAY_END = env_time("WORKING_DAY_END", default="17:00")

# The beat schedule: a fixed handful of entries. Per-object schedules live in
# database rows, never here. Each entry expires just before its next run, so
# a backlog never stacks runs of the same sweep.
CELERY_BEAT_SCHEDULE = {
    # Flags newly overdue follow-ups, tells whom they concern, escalates the late.
    "sweep-overdue-follow-ups": {
        "task": "communications.sweep_overdue_follow_ups",
        "schedule": FOLLOW_UP_SCAN_SECONDS,
        "options": {"expires": FOLLOW_UP_SCAN_SECONDS * 0.9},
    },
    # Writes each user's daily digest once their digest time has passed.
    "send-daily-digests": {
        "task": "communications.send_daily_digests",
        "schedule": FOLLOW_UP_SCAN_SECONDS,
        "options": {"expires": FOLLOW_UP_SCAN_SECONDS * 0.9},
    },
    # Creates coming occurrences, marks them due, reminds owners, marks the missed.
    "dispatch-occurrences": {
        "task": "communications.dispatch_occurrences",
        "schedule": OCCURRENCE_DISPATCH_SECONDS,
        "options": {"expires": OCCURRENCE_DISPATCH_SECONDS * 0.9},
    },
    # Flags sponsors and PMO leads gone quiet for longer than their plan allows.
    "flag-silent-stakeholders": {
        "task": "communications.flag_silent_stakeholders",
        "schedule": SILENCE_SCAN_SECONDS,
        "options": {"expires": SILENCE_SCAN_SECONDS * 0.9},
    },
    # Tells owners of risks past review and assumptions past validation, once a day each;
    # date-based like the silence sweep, so it runs at the same pace.
    "flag-raid-reviews": {
        "task": "communications.flag_raid_reviews",
        "schedule": SILENCE_SCAN_SECONDS,
        "options": {"expires": SILENCE_SCAN_SECONDS * 0.9},
    },
    # Recomputes every engagement's health: what time alone changes (overdue, slipped, window moved).
    "recompute-engagement-health": {
        "task": "communications.recompute_engagement_health",
        "schedule": HEALTH_SCAN_SECONDS,
        "options": {"expires": HEALTH_SCAN_SECONDS * 0.9},
    },
    # Recomputes this week's and last week's roll-ups, which the trend pages read.
    "refresh-weekly-rollups": {
        "task": "communications.refresh_weekly_rollups",
        "schedule": ROLLUP_SCAN_SECONDS,
        "options": {"expires": ROLLUP_SCAN_SECONDS * 0.9},
    },
    # Writes each sponsor update whose local send time has passed and hands it to the outbox.
    "send-sponsor-updates": {
        "task": "sponsor_updates.send_sponsor_updates",
        "schedule": SPONSOR_UPDATE_SCAN_SECONDS,
        "options": {"expires": SPONSOR_UPDATE_SCAN_SECONDS * 0.9},
    },
    # Enqueues again what the broker lost, what ran out of retries and what
    # quiet hours held; expires what is too late to matter.
    "reconcile-outbox": {
        "task": "notifications.reconcile_outbox",
        "schedule": OUTBOX_RECONCILE_SECONDS,
        "options": {"expires": OUTBOX_RECONCILE_SECONDS * 0.9},
    },
}

# --- REST API ---------------------------------------------------------------

# REST framework reads only the first letter of the period.
_RATE_PERIODS = {"s", "sec", "second", "m", "min", "minute", "h", "hour", "d", "day"}


def env_rate(name: str, default: str) -> str:
    raw = env.str(name, default="").strip() or default
    number, _, period = raw.partition("/")
    if not (number.isdigit() and int(number) > 0 and period in _RATE_PERIODS):
        _config_error(
            name, f"must be a rate such as 300/minute (per second, minute, hour or day), got {raw!r}"
        )
    return raw


REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        "pmaas.renderers.BrowsableAPIRenderer",
    ],
    "DEFAULT_PAGINATION_CLASS": "pmaas.api.Pagination",
    # JSON nested past a sane depth answers 400 instead of exhausting the parser's recursion.
    "DEFAULT_PARSER_CLASSES": [
        "pmaas.parsers.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "pmaas.api_schema.AutoSchema",
    "EXCEPTION_HANDLER": "pmaas.api.exception_handler",
    # Per user, counted in the shared cache; past the rate the API answers 429 with Retry-After.
    "DEFAULT_THROTTLE_CLASSES": ["pmaas.throttling.UserThrottle", "pmaas.throttling.UserWriteThrottle"],
    "DEFAULT_THROTTLE_RATES": {
        "user": env_rate("API_THROTTLE_RATE", default="300/minute"),
        "user_writes": env_rate("API_WRITE_THROTTLE_RATE", default="60/minute"),
    },
    "DEFAULT_VERSIONING_CLASS": "rest_framework.versioning.NamespaceVersioning",
    "DEFAULT_VERSION": "v1",
    "ALLOWED_VERSIONS": ["v1"],
    "DATETIME_FORMAT": "iso-8601",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "PMaaS Engagement Tracker API",
    "DESCRIPTION": "Engagements, stakeholders and their communication, scoped to the caller.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    # The docs pages load Swagger UI and Redoc from the installed sidecar package, not a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # Fields a client user's responses leave out (pmaas/sharing.py) are optional in the schema;
    # local times as a pattern rather than "time" (which demands an offset); Retry-After on 429s.
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "pmaas.api.client_fields_optional",
        "pmaas.api_schema.postprocess_schema",
    ],
    # Several models have a "kind" or "status" of their own; name each choice set after its owner.
    "ENUM_NAME_OVERRIDES": {
        "EngagementKindEnum": "engagements.models.Engagement.Kind",
        "EngagementStatusEnum": "engagements.models.Engagement.Status",
        "ChangeRequestKindEnum": "engagements.models.ChangeRequest.Kind",
        "ChangeRequestStatusEnum": "engagements.models.ChangeRequest.Status",
        "HealthEnum": "engagements.models.Health",
        "StakeholderRoleKindEnum": "stakeholders.models.StakeholderRole.Kind",
        "ScaleEnum": "stakeholders.models.Scale",
        "LevelEnum": "stakeholders.models.Level",
        "ChannelKindEnum": "communications.models.ChannelKind",
        "ChannelStatusEnum": "communications.models.Channel.Status",
        "FollowUpStatusEnum": "communications.models.FollowUp.Status",
        "OutboxStatusEnum": "notifications.models.OutboxMessage.Status",
        "RaidKindEnum": "communications.models.RaidKind",
        "RaidStatusEnum": "communications.models.RaidItem.Status",
        "DeliveryStateEnum": "communications.models.Delivery.State",
    },
}

# --- Internationalisation and time ------------------------------------------

LANGUAGE_CODE = "en-gb"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Static files -----------------------------------------------------------

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        ),
    },
}

# --- Security (production) --------------------------------------------------

SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True

# Scripts and styles come only from our own static files: no inline script,
# style attribute or event handler runs, so injected markup stays inert.
# htmx's own indicator styles are switched off (meta htmx-config in base.html)
# and supplied in app.css. The API docs pages and REST framework's browsable
# API widen style-src for themselves (pmaas/api_urls.py, pmaas/renderers.py).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "connect-src": [SELF],
        "font-src": [SELF],
        "object-src": [NONE],
        "base-uri": [NONE],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    },
}
# Features no page uses, refused for the page and anything it might embed.
PERMISSIONS_POLICY = (
    "accelerometer=(), camera=(), display-capture=(), geolocation=(), gyroscope=(), "
    "magnetometer=(), microphone=(), payment=(), usb=()"
)

if not DEBUG:
    # The app sits behind a proxy that terminates TLS and sets this header.
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", default=True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", default=60 * 60 * 24 * 365)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", default=True)

# --- Logging ----------------------------------------------------------------

# Calendar feed URLs carry their secret: the request loggers mask it
# (pmaas/access_log.py), and so does the console handler for anything else.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "mask_secrets": {"()": "pmaas.access_log.MaskSecretsFilter"},
        "refusal_without_traceback": {"()": "pmaas.access_log.RefusalWithoutTracebackFilter"},
    },
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "plain", "filters": ["mask_secrets"]},
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        # Django's own console handler (for DEBUG) would print each of its records a second time
        # beside the root's: its records go to the root's handler alone.
        "django": {"handlers": [], "propagate": True},
        "django.db.backends": {"level": "WARNING"},
        "django.request": {"filters": ["mask_secrets", "refusal_without_traceback"]},
        # runserver's access log; Django's default gives it a handler of its own, unmasked.
        "django.server": {"handlers": ["console"], "filters": ["mask_secrets"], "propagate": False},
    },
}
