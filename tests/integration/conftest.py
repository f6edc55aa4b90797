"""Real Celery worker processes for integration tests, on the configured broker (Redis when REDIS_URL is set,
else kombu's filesystem transport) and the test database."""
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]


def database_url() -> str:
    s = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{s['NAME']}"
    auth = s["USER"] + (f":{s['PASSWORD']}" if s.get("PASSWORD") else "")
    return f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


class Worker:
    def __init__(self, log_path: Path, queues: str, env: dict):
        self.log_path = log_path
        self._log = open(log_path, "w")  # noqa: SIM115
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "config", "worker", "--pool", "solo", "--loglevel", "INFO",
             "-Q", queues, "--without-gossip", "--without-mingle", "--without-heartbeat",
             "--hostname", f"{log_path.stem}@%h"],
            cwd=ROOT, env=env, stdout=self._log, stderr=subprocess.STDOUT)

    def log(self) -> str:
        return self.log_path.read_text()

    def kill(self):
        """SIGKILL: no clean-up, no acknowledgement of the task in hand."""
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self._log.close()


@pytest.fixture
def start_worker(tmp_path):
    """``start_worker(queues="celery,gpu", name="w1", **env)`` → a running :class:`Worker` (stopped after the test)."""
    workers = []

    def start(queues="celery", name="worker", **extra_env):
        env = {**os.environ, "DATABASE_URL": database_url(), "MEDIA_ROOT": settings.MEDIA_ROOT,
               "DJANGO_SETTINGS_MODULE": "config.settings", **{k: str(v) for k, v in extra_env.items()}}
        worker = Worker(tmp_path / f"{name}.log", queues, env)
        workers.append(worker)
        return worker

    yield start
    for w in workers:
        w.stop()


@pytest.fixture
def worker(start_worker):
    return start_worker("celery")
