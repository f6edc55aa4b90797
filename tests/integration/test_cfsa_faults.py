"""Redis restarted (without persistence, as on this machine) during a CFSA run: the queued messages are gone, the
workers reconnect, beat finds the stalled run and resends its pending samples; every sample is labelled once."""
import os
import shutil
import socket
import subprocess
import sys
import time

import pytest

from pipeline.models import PipelineRun
from tests.integration.conftest import ROOT, database_url
from tests.integration.test_cfsa_workers import assert_labelled_exactly_once, run_state, wait_until
from tests.pipeline.factories import make_project

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True),
              pytest.mark.skipif(not shutil.which("redis-server"), reason="needs redis-server (apt install it)")]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ThrowawayRedis:
    """A private redis-server like the machine's (``--save "" --appendonly no``: a restart forgets everything)."""

    def __init__(self, tmp_path):
        self.port, self.dir, self.proc = free_port(), tmp_path, None

    def start(self):
        self.proc = subprocess.Popen(["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                                      "--appendonly", "no", "--dir", str(self.dir)], stdout=subprocess.DEVNULL)
        wait_until(lambda: subprocess.run(["redis-cli", "-p", str(self.port), "ping"], capture_output=True,
                                          check=False).stdout.strip() == b"PONG", 10, "redis up")

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)

    @property
    def url(self):
        return f"redis://127.0.0.1:{self.port}/0"


def test_a_redis_restart_mid_run_loses_no_sample_and_duplicates_none(tmp_path, lead, start_worker):
    redis = ThrowawayRedis(tmp_path)
    redis.start()
    try:
        env = {"REDIS_URL": redis.url, "EISTUDIO_RUN_STALL_SECONDS": 6, "EISTUDIO_RESUME_INTERVAL": 2,
               "CELERY_VISIBILITY_TIMEOUT": 30, "EISTUDIO_VAR_DIR": tmp_path / "var"}
        project = make_project(tmp_path, lead, n=16, name="cfsa-redis", config={"micro_batch": 2})
        worker = start_worker("celery,gpu", name="worker", **env)
        beat = subprocess.Popen([sys.executable, "-m", "celery", "-A", "config", "beat", "--loglevel", "INFO",
                                 "--schedule", str(tmp_path / "beat-schedule")], cwd=ROOT,
                                env={**os.environ, "DATABASE_URL": database_url(), **{k: str(v) for k, v in env.items()}},
                                stdout=open(tmp_path / "beat.log", "w"), stderr=subprocess.STDOUT)  # noqa: SIM115
        try:
            subprocess.run([sys.executable, "manage.py", "cfsa_run", "--project", "cfsa-redis"], cwd=ROOT, check=True,
                           env={**os.environ, "DATABASE_URL": database_url(),
                                **{k: str(v) for k, v in env.items()}})
            run = PipelineRun.objects.get(project=project)
            wait_until(lambda: run_state(run).done >= 2, 240, "first batches", [worker])
            redis.stop()  # every queued batch message is gone with it
            lost = run_state(run).remaining
            time.sleep(1)
            redis.start()
            assert lost > 0, "the run finished before Redis went down"
            wait_until(lambda: not run_state(run).active, 300, "the run's end", [worker])
            assert_labelled_exactly_once(run, 16)
            assert run_state(run).resumed >= 1
            assert "made no progress" in worker.log()
        finally:
            beat.kill()
            beat.wait(timeout=10)
    finally:
        redis.stop()
