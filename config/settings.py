"""EI Studio settings. Everything a deployment changes comes from the environment (django-environ).

Defaults are the embedded demo set-up: SQLite and a file-based Celery transport under ``var/``, so that
``make demo`` needs no server. Set DATABASE_URL / REDIS_URL to use PostgreSQL and Redis.
"""
from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(environ.Env().str("EISTUDIO_VAR_DIR", default=str(BASE_DIR / "var")))

env = environ.Env(
    DEBUG=(bool, False),
    ALLOWED_HOSTS=(list, ["localhost", "127.0.0.1", "[::1]"]),
)
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env("DEBUG")
# Local runs (demo, tests) get a throwaway key; a deployment must set SECRET_KEY (`check --deploy` says so).
SECRET_KEY = env.str("SECRET_KEY", default="django-insecure-local-only")
ALLOWED_HOSTS = env("ALLOWED_HOSTS")
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "annotator",
    "pipeline",
    "review",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "config.security.SecurityHeadersMiddleware",  # CSP, Permissions-Policy
    "config.security.UploadLimitMiddleware",  # 413 for an oversized upload before its body is read
    "config.security.NulBytesMiddleware",  # 400 for a NUL character in the path or query string
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # database unreachable (restart, failover): 503 with a message and a retry, never a bare 500
    "annotator.middleware.DatabaseUnavailableMiddleware",
]

ROOT_URLCONF = "config.urls"
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
            ],
        },
    },
]
WSGI_APPLICATION = "config.wsgi.application"

DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'eistudio.sqlite3'}"),
}
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # WAL lets the web process read while the worker writes.
    DATABASES["default"].setdefault("OPTIONS", {})["init_command"] = (
        "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
    )
    DATABASES["default"]["OPTIONS"].setdefault("timeout", 20)
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test.sqlite3")}
else:
    DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=60))
    # A persistent connection is checked before each request reuses it, so after a database restart the first
    # request of every worker reconnects instead of failing (the web server is never restarted).
    DATABASES["default"].setdefault("CONN_HEALTH_CHECKS", env.bool("CONN_HEALTH_CHECKS", default=True))
    # A database that does not answer fails a request in seconds (a 503 with a retry), not after minutes.
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault("connect_timeout", env.int("DB_CONNECT_TIMEOUT",
                                                                                         default=5))
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "project-list"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = env.str("STATIC_ROOT", default=str(VAR_DIR / "static"))
# Static files are served by WhiteNoise (also under gunicorn); images go through an authorised view.
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage" if not DEBUG
                    else "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
MEDIA_URL = "media/"
MEDIA_ROOT = env.str("MEDIA_ROOT", default=str(VAR_DIR / "media"))
# Uploaded import files larger than this are spooled to disk, never held in memory.
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
# Largest import file accepted through the web form (bytes).
EISTUDIO_MAX_UPLOAD_BYTES = env.int("EISTUDIO_MAX_UPLOAD_BYTES", default=512 * 1024 * 1024)
# Pillow's decompression-bomb guard: images above this many pixels are refused on import.
EISTUDIO_MAX_IMAGE_PIXELS = env.int("EISTUDIO_MAX_IMAGE_PIXELS", default=89_478_485)

# Server folders a lead may name as the images root of a web import (e.g. a mounted dataset volume).
# Panels other apps add to the project and sample pages: URL names taking the object's pk, each fetched
# lazily by htmx (``hx-trigger="load"``), so annotator knows nothing of pipeline/review and the page stays fast.
EISTUDIO_PROJECT_PANELS: list[str] = ["pipeline-project-panel", "work-project-panel", "review-project-panel"]
EISTUDIO_SAMPLE_PANELS: list[str] = ["pipeline-sample-panel", "work-sample-panel", "review-sample-panel"]
# Review's pipeline-quality figure: functions taking the project and returning, per (model, prompt version), how many
# model triggers were proposed / kept / removed as hallucination / irrelevant (review never imports pipeline).
EISTUDIO_MODEL_TRIGGER_STATS: list[str] = ["pipeline.quality.trigger_fates"]
# How long "next" holds a sample for its annotator in a pass (renewed while the pass screen is open).
EISTUDIO_LEASE_SECONDS = env.int("EISTUDIO_LEASE_SECONDS", default=1800)
# Sections other apps add to each line of the provenance export: name → "module.function" taking the project and
# yielding (sample_id, item) ordered by sample id (merged like triggers and events: no query per sample).
EISTUDIO_PROVENANCE_SECTIONS: dict[str, str] = {"cfsa_traces": "pipeline.exporting.trace_items"}

# --- CFSA pipeline: the backend a new project starts with (a lead changes it per project on its pipeline page).
# "tiny" is a random-weight placeholder model built locally (demo, tests); "transformers" loads a hub id or a
# local folder on the worker; "openai" talks to any OpenAI-compatible server (vLLM, Ollama, ...).
EISTUDIO_DEFAULT_BACKEND = env.str("EISTUDIO_DEFAULT_BACKEND", default="tiny")
EISTUDIO_DEFAULT_MODEL = env.str("EISTUDIO_DEFAULT_MODEL", default="")
EISTUDIO_OPENAI_BASE_URL = env.str("EISTUDIO_OPENAI_BASE_URL", default="")
EISTUDIO_MODELS_DIR = env.str("EISTUDIO_MODELS_DIR", default=str(VAR_DIR / "models"))

EISTUDIO_IMPORT_ROOTS = env.list("EISTUDIO_IMPORT_ROOTS", default=[str(VAR_DIR / "incoming")])
# Imports check foreign keys once per constraint (not per row) when the PostgreSQL role may set
# session_replication_role; false keeps PostgreSQL's per-row checks (about twice the server's work). See
# annotator/bulk.py.
EISTUDIO_SET_BASED_FK_CHECKS = env.bool("EISTUDIO_SET_BASED_FK_CHECKS", default=True)

# --- Celery: Redis when REDIS_URL is set, else kombu's filesystem transport under var/ (no server). ---
REDIS_URL = env.str("REDIS_URL", default="")
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TRACK_STARTED = True
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
# Model work goes to the "gpu" queue (one worker per GPU: `celery -A config worker -Q gpu --concurrency 1`);
# everything else to the default "celery" queue.
# A run with pending samples and no finished batch for this long is resent (its messages may have been lost, e.g.
# a broker restarted without persistence); keep it above the longest batch. Celery beat checks every interval.
EISTUDIO_RUN_STALL_SECONDS = env.int("EISTUDIO_RUN_STALL_SECONDS", default=900)
CELERY_BEAT_SCHEDULE = {
    "resume-stalled-runs": {"task": "pipeline.tasks.resume_stalled_runs",
                            "schedule": env.float("EISTUDIO_RESUME_INTERVAL", default=60.0)},
}
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
CELERY_TASK_ROUTES = {
    "pipeline.tasks.general_self_ask": {"queue": "gpu"},
    "pipeline.tasks.label_batch": {"queue": "gpu"},
}
if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    CELERY_RESULT_BACKEND = REDIS_URL
    # Longer than the longest task (model batches can be long), so no second copy starts early.
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=6 * 3600),
        # How often a worker looks for messages of dead workers to deliver again (kombu's default is ~100 s).
        "unacked_restore_interval": env.int("CELERY_UNACKED_RESTORE_INTERVAL", default=10),
        "unacked_restore_throttle": env.int("CELERY_UNACKED_RESTORE_THROTTLE", default=10),
    }
else:
    _queue_dir = VAR_DIR / "celery" / "queue"
    CELERY_BROKER_URL = "filesystem://"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_queue_dir),
        "data_folder_out": str(_queue_dir),
        "processed_folder": str(VAR_DIR / "celery" / "processed"),
        "control_folder": str(VAR_DIR / "celery" / "control"),  # else kombu writes ./control/
        "store_processed": False,
        "polling_interval": 0.1,
    }
    CELERY_RESULT_BACKEND = f"file://{VAR_DIR / 'celery' / 'results'}"

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "config.security.ThrottledTokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_THROTTLE_CLASSES": ["config.security.AnonThrottle", "config.security.UserThrottle"],
    "DEFAULT_THROTTLE_RATES": {"anon": env.str("EISTUDIO_API_ANON_RATE", default="60/min"),
                               "user": env.str("EISTUDIO_API_USER_RATE", default="3000/min")},
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_PAGINATION_CLASS": "annotator.pagination.IdCursorPagination",
    "PAGE_SIZE": 100,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "EI Studio API",
    "DESCRIPTION": "Emotion-Interpretation benchmark building: projects, samples, triggers, EIBench export.",
    "VERSION": "0.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Swagger UI from the sidecar package: no CDN, works offline.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    # Sample.kind (basic / complex) and Trigger.kind (env / social / phys / obj) are different choice sets.
    "ENUM_NAME_OVERRIDES": {"SampleKindEnum": "annotator.models.Sample.Kind",
                            "TriggerKindEnum": "annotator.models.Trigger.Kind"},
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
}

for _d in (VAR_DIR, Path(MEDIA_ROOT), Path(STATIC_ROOT), VAR_DIR / "incoming"):
    _d.mkdir(parents=True, exist_ok=True)
if not REDIS_URL:
    for _d in ("queue", "processed", "results", "control"):
        (VAR_DIR / "celery" / _d).mkdir(parents=True, exist_ok=True)
WHITENOISE_USE_FINDERS = True  # serve static/ straight from the source tree too (no collectstatic needed)

# --- Security. Always: no sniffing, same-origin referrers, no framing, HttpOnly cookies, a CSP that fits the
# vendored static files (no CDN, no inline scripts; inline style attributes are allowed). Production
# (EISTUDIO_SECURE=true, with DEBUG=false): HTTPS only, HSTS, secure cookies; behind a TLS-terminating proxy
# (EISTUDIO_BEHIND_PROXY=true) the proxy's X-Forwarded-Proto says the request was HTTPS. `check --deploy` is clean.
EISTUDIO_SECURE = env.bool("EISTUDIO_SECURE", default=False)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = env.str("SECURE_REFERRER_POLICY", default="same-origin")
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = True  # htmx and Swagger UI take the token from the page, never from the cookie
SESSION_COOKIE_SAMESITE = CSRF_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_AGE = env.int("SESSION_COOKIE_AGE", default=12 * 3600)
EISTUDIO_CSP = env.str("EISTUDIO_CSP", default=(
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; "
    "font-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; "
    "frame-ancestors 'none'"))
EISTUDIO_PERMISSIONS_POLICY = "camera=(), microphone=(), geolocation=(), payment=(), usb=()"
if EISTUDIO_SECURE:
    if SECRET_KEY.startswith("django-insecure"):
        from django.core.exceptions import ImproperlyConfigured

        raise ImproperlyConfigured("EISTUDIO_SECURE=true needs a SECRET_KEY of its own (50+ random characters)")
    SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
    SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=365 * 24 * 3600)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
    SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=True)
    SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = True
if env.bool("EISTUDIO_BEHIND_PROXY", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
# How many proxies in front of the web server append to X-Forwarded-For (the client address for throttling).
EISTUDIO_TRUSTED_PROXIES = env.int("EISTUDIO_TRUSTED_PROXIES", default=1 if env.bool("EISTUDIO_BEHIND_PROXY",
                                                                                       default=False) else 0)

# Throttling: failed sign-ins per (username, address) and per address in a window; API tokens per address.
EISTUDIO_LOGIN_FAILURE_LIMIT = env.int("EISTUDIO_LOGIN_FAILURE_LIMIT", default=5)
EISTUDIO_LOGIN_FAILURE_LIMIT_PER_IP = env.int("EISTUDIO_LOGIN_FAILURE_LIMIT_PER_IP", default=50)
EISTUDIO_LOGIN_FAILURE_WINDOW = env.int("EISTUDIO_LOGIN_FAILURE_WINDOW", default=15 * 60)
EISTUDIO_TOKEN_FAILURE_LIMIT = env.int("EISTUDIO_TOKEN_FAILURE_LIMIT", default=20)
# The counters live in the cache every web process shares: Redis when REDIS_URL is set, else files under var/.
CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL,
                      "KEY_PREFIX": "eistudio", "OPTIONS": {"socket_connect_timeout": 2, "socket_timeout": 2}}
          if REDIS_URL else
          {"BACKEND": "django.core.cache.backends.filebased.FileBasedCache", "LOCATION": str(VAR_DIR / "cache")}}
