"""gunicorn settings for the web process (``gunicorn config.wsgi:application -c config/gunicorn.conf.py``).
Everything can be changed from the environment; the defaults are what the load test (bench/load.py) measured
best on the reference machine (see docs/reliability.md)."""
import os

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
# gunicorn's rule, (2 x cores) + 1: a sync worker waits on PostgreSQL for much of a request. Measured with
# bench/load.py (100,000 samples, 53 people): 3 workers -> 5 on 2 cores took the sign-in of everyone from 26.9 s
# to 13.8 s and the work phase from 26.5 to 30.1 requests/s (threads instead made sign-in 4x slower: PBKDF2 under
# one GIL). See bench/README.md.
workers = int(os.environ.get("WEB_CONCURRENCY") or 2 * (os.cpu_count() or 1) + 1)
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
