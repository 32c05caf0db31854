"""Test settings: the production settings with only what tests need changed."""

import os

os.environ.setdefault("DEBUG", "true")
os.environ.setdefault("SECRET_KEY", "test-only-secret-key-with-enough-length-and-variety-1234567890")

from pmaas.settings import *  # noqa: E402,F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# Tests read Django's outbox; a worker started by tests/smtp_fixtures.py mails its loopback SMTP server.
if not os.environ.get("PMAAS_TEST_REAL_SMTP"):
    EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
# A worker that tests watch retry a refused mail within seconds, not minutes.
if os.environ.get("PMAAS_TEST_FAST_RETRY"):
    OUTBOX_RETRY_BACKOFF_SECONDS = 1
# The live server serves static files through Django's own handler.
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# Each test process counts throttles on its own; tests/conftest.py empties it before every test.
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
# Lockout is tested explicitly; other tests log in through force_login.
AXES_ENABLED = True

if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":  # noqa: F405
    # A file rather than :memory:, so a real Celery worker started by a test can
    # open the same test database. The process id keeps two runs in one checkout
    # apart; pytest-xdist appends its worker id to this name.
    (VAR_DIR / "test").mkdir(parents=True, exist_ok=True)  # noqa: F405
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test" / f"db-{os.getpid()}.sqlite3")}  # noqa: F405

# WhiteNoise looks for collected files at start-up; tests serve static files
# through the finders, so an empty folder stands in for collectstatic's output.
STATIC_ROOT = VAR_DIR / "test-static"  # noqa: F405
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
