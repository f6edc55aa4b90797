"""gunicorn settings for the web process (``gunicorn config.wsgi:application -c config/gunicorn.conf.py``).
Everything can be changed from the environment; the defaults are what the load test (bench/load.py) measured
best on the reference machine (see docs/reliability.md)."""
import os

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", "3"))
threads = int(os.environ.get("GUNICORN_THREADS", "1"))
worker_class = "gthread" if threads > 1 else "sync"
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "120"))
graceful_timeout = 30
keepalive = 5
# Restart a worker now and then (spread out): bounds any slow leak in a long-running deployment.
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "5000"))
max_requests_jitter = max_requests // 10
accesslog = os.environ.get("GUNICORN_ACCESS_LOG") or None
errorlog = "-"
