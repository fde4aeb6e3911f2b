"""Django settings of the clinic.

Configured by environment variables so that one server can run it:

* ``NEDA_SECRET_KEY`` (required outside ``NEDA_DEBUG``), ``NEDA_DEBUG`` (``1`` for development),
* ``DATABASE_URL`` (default: SQLite file ``neda-clinic.sqlite3`` in ``NEDA_DATA_DIR``),
  ``NEDA_TEST_DATABASE``: the name of the database the tests create on that server (default:
  Django's ``test_`` + the database name; ``make test`` gives each checkout its own, so two
  test runs on one PostgreSQL server do not drop each other's database),
* ``NEDA_ALLOWED_HOSTS`` (comma-separated; default ``127.0.0.1,localhost``),
* ``NEDA_DATA_DIR`` (default ``./build/clinic``), ``NEDA_SESSION_MINUTES`` (default 30),
* ``NEDA_SECURE`` (``1`` behind HTTPS: secure cookies, HSTS, HTTPS redirect),
* e-mail (portal invitations, password resets): ``NEDA_EMAIL_HOST`` sends by SMTP
  (``NEDA_EMAIL_PORT`` default 587, ``NEDA_EMAIL_USER``, ``NEDA_EMAIL_PASSWORD``,
  ``NEDA_EMAIL_TLS`` default ``1``); without it messages are printed to the console (development,
  the demo clinic). ``NEDA_EMAIL_FROM`` is the sender (default ``neda@localhost``).
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

import dj_database_url

DEBUG = os.environ.get("NEDA_DEBUG", "") == "1"
DATA_DIR = Path(os.environ.get("NEDA_DATA_DIR", "build/clinic")).resolve()
DATA_DIR.mkdir(parents=True, exist_ok=True)


def _secret_key() -> str:
    """``NEDA_SECRET_KEY``, else a key made once and kept in the data folder (readable by the
    server's user only), so that every worker and restart signs sessions alike."""
    given = os.environ.get("NEDA_SECRET_KEY")
    if given:
        return given
    path = DATA_DIR / "secret_key"
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # made earlier, or by another worker starting at the same time
        pass
    else:
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_urlsafe(50))
    for _ in range(50):
        key = path.read_text().strip()
        if key:
            return key
        import time

        time.sleep(0.01)  # the other worker is writing it
    raise RuntimeError(f"{path} is empty; delete it and start again")


SECRET_KEY = _secret_key()
ALLOWED_HOSTS = [h.strip() for h in os.environ.get(
    "NEDA_ALLOWED_HOSTS", "127.0.0.1,localhost,testserver").split(",") if h.strip()]

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "simple_history",
    "axes",
    # optional second factor (TOTP, an authenticator app) for patients and staff
    "django_otp",
    "django_otp.plugins.otp_totp",
    "neda.web.clinic",
    # the patient portal (its own diary records; screens under /portal/)
    "neda.web.portal",
    # the JSON API: its command (issue_token); ninja's own static Swagger UI for /api/docs
    # (with ninja installed, the docs page loads it from the site, not from a CDN)
    "neda.web.api",
    "ninja",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # a session in use is written at most once a minute (not on every page: see the module)
    "neda.web.clinic.sessions.SessionRefreshMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # request.user.is_verified(); then a user with a second factor is asked for its code
    "django_otp.middleware.OTPMiddleware",
    "neda.web.portal.middleware.SecondFactorMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    "axes.middleware.AxesMiddleware",
    "neda.web.clinic.middleware.SecurityHeadersMiddleware",
]

ROOT_URLCONF = "neda.web.urls"
WSGI_APPLICATION = "neda.web.wsgi.application"

TEMPLATES = [{
    "BACKEND": "django.template.backends.django.DjangoTemplates",
    "DIRS": [],
    "APP_DIRS": True,
    "OPTIONS": {"context_processors": [
        "django.template.context_processors.request",
        "django.contrib.auth.context_processors.auth",
        "django.contrib.messages.context_processors.messages",
        "neda.web.clinic.context.user_role",
        "neda.web.portal.context.review_count",
        "neda.web.portal.context.reminders",
    ]},
}]

DATABASES = {"default": dj_database_url.config(
    default=f"sqlite:///{DATA_DIR / 'neda-clinic.sqlite3'}", conn_max_age=60)}
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # the demo clinic is served by several workers: wait for a lock instead of failing; and
    # take the write lock when a transaction begins (IMMEDIATE): a transaction that read first
    # and then writes cannot wait for another writer (SQLite answers "database is locked" at
    # once, the busy timeout unused) - two patients saving diary entries at the same moment
    # got a 500 under the load test (bench/web.py) before this. Write-ahead logging (WAL):
    # readers neither wait for a writer's commit nor block it, and a commit appends to the log
    # (synchronous stays FULL: a committed transaction survives a power cut).
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        timeout=20, transaction_mode="IMMEDIATE", init_command="PRAGMA journal_mode=WAL")
if os.environ.get("NEDA_TEST_DATABASE"):
    DATABASES["default"]["TEST"] = {"NAME": os.environ["NEDA_TEST_DATABASE"]}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Passwords: Argon2 first (hashes of other kinds are upgraded at the next login).
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
     "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# Login throttling (django-axes): 5 failures lock the account and address for 30 minutes.
AXES_FAILURE_LIMIT = 5
AXES_COOLOFF_TIME = 0.5
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_VERBOSE = False

# Password reset requests are limited on their own (django-axes throttles logins only): per
# e-mail address (existing or not: the answer tells nothing) and per client address (as
# django-axes sees it), in a window of an hour counted in the cache (``CACHES``: per process
# with the local-memory cache, so with several workers the limit is per worker).
NEDA_PASSWORD_RESET_LIMITS = {"per_address": 3, "per_client": 10, "window_seconds": 3600}

# A link of a password reset e-mail, and of a portal invitation, is valid this long (3 days);
# either is single-use (it is bound to the password's hash, which setting a password changes).
PASSWORD_RESET_TIMEOUT = 3 * 24 * 3600

# The issuer shown in authenticator apps next to the account name.
OTP_TOTP_ISSUER = "neda"

# E-mail: SMTP when NEDA_EMAIL_HOST is set, else printed to the console (development, demo).
if os.environ.get("NEDA_EMAIL_HOST"):
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    EMAIL_HOST = os.environ["NEDA_EMAIL_HOST"]
    EMAIL_PORT = int(os.environ.get("NEDA_EMAIL_PORT", "587"))
    EMAIL_HOST_USER = os.environ.get("NEDA_EMAIL_USER", "")
    EMAIL_HOST_PASSWORD = os.environ.get("NEDA_EMAIL_PASSWORD", "")
    EMAIL_USE_TLS = os.environ.get("NEDA_EMAIL_TLS", "1") == "1"
else:
    EMAIL_BACKEND = "django.core.mail.backends.console.EmailBackend"
DEFAULT_FROM_EMAIL = os.environ.get("NEDA_EMAIL_FROM", "neda@localhost")

# Sessions expire after inactivity and when the browser closes. A session in use is written
# at most once a minute (neda.web.clinic.sessions), not on every request: it ends 29-30 minutes
# after its last request with the default of 30.
SESSION_COOKIE_AGE = 60 * int(os.environ.get("NEDA_SESSION_MINUTES", "30"))
SESSION_SAVE_EVERY_REQUEST = False
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = True
CSRF_COOKIE_SAMESITE = "Lax"
SECURE = os.environ.get("NEDA_SECURE", "") == "1"
SESSION_COOKIE_SECURE = SECURE
CSRF_COOKIE_SECURE = SECURE
SECURE_SSL_REDIRECT = SECURE
SECURE_HSTS_SECONDS = 31_536_000 if SECURE else 0
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

LANGUAGE_CODE = "en"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = DATA_DIR / "static"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True
# plotly.js comes from the installed plotly package (vendor/plotly/...), never from a CDN
STATICFILES_FINDERS = [
    "django.contrib.staticfiles.finders.FileSystemFinder",
    "django.contrib.staticfiles.finders.AppDirectoriesFinder",
    "neda.web.clinic.staticfinders.PlotlyFinder",
]

# Uploads are read in memory (imports are small tables); larger ones are refused.
DATA_UPLOAD_MAX_MEMORY_SIZE = 50 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 50 * 1024 * 1024

# No PHI in logs: request lines carry no query strings with identifiers (ids in URLs are
# opaque), and errors are logged without request bodies.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {
        "django.request": {"handlers": ["console"], "level": "ERROR", "propagate": False},
        "neda.web": {"handlers": ["console"], "level": "INFO", "propagate": False},
    },
}

# The computed course is cached per patient data version and rule-set digest.
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache",
                      "OPTIONS": {"MAX_ENTRIES": 20_000}}}
