"""PostgreSQL restarted while annotators save, on a throwaway cluster (the machine's own server is never touched),
behind a real gunicorn that is never restarted:

* a crash (``pg_ctl stop -m immediate``) in the middle of the load tool's annotators at work: every request that
  hit the outage got a 503 offering a retry (htmx: shown in ``#unavailable``, the form left alone), no other
  server error, no lost or duplicated change, nothing half-saved (versions = events), and saving resumes;
* each kind of answer while it is down (page, htmx, API), and reconnection after a restart while the workers
  sat idle (``CONN_HEALTH_CHECKS``): the first requests afterwards all succeed.
"""
import json
import subprocess
import sys

import httpx
import pytest

from bench.load import PASSWORD, RE_CSRF, RE_CSRF_FIELD, Server
from bench.throwaway import ThrowawayPostgres, postgres_bindir
from tests.integration.conftest import ROOT

pytestmark = [pytest.mark.integration,
              pytest.mark.skipif(postgres_bindir() is None, reason="needs the PostgreSQL server binaries (initdb)")]


def test_a_postgres_crash_while_annotators_save_loses_nothing_and_work_resumes(tmp_path):
    out = tmp_path / "fault.json"
    run = subprocess.run([sys.executable, "bench/load.py", "--profile", "postgres-restart", "--json", str(out),
                          "--log-dir", str(tmp_path / "load")], cwd=ROOT, capture_output=True, text=True,
                         timeout=400, check=False)
    assert out.exists(), run.stdout[-3000:] + run.stderr[-3000:]
    result = json.loads(out.read_text())
    assert result["failures"] == [], run.stdout[-5000:]
    fault, checks = result["fault"], result["checks"]
    assert fault["unavailable_503"] > 0 and fault["offered_retry"] == fault["unavailable_503"]
    assert fault["htmx_503"] > 0 and fault["htmx_503_retargeted"] == fault["htmx_503"]
    assert fault["other_5xx"] == fault["late_503"] == fault["errors_after_recovery"] == 0
    assert fault["saves_after_up"] > 0 and fault["first_save_after_up_s"] < 10
    assert checks["changes_seen"] > 0 and checks["submits_seen"] > 0
    for key in ("lost", "mismatched", "duplicated", "submits_lost", "submits_duplicated", "version_mismatch",
                "trigger_mismatch", "given_to_two_events", "given_to_two_clients"):
        assert checks[key] == 0, (key, checks["examples"])


@pytest.fixture
def served(tmp_path):
    """A throwaway cluster with a small load-test project, and gunicorn (2 workers) on it."""
    pg = ThrowawayPostgres().init().start()  # under /tmp: the postgres user cannot enter pytest's tmp_path
    url = pg.create_database("eis_restart_bench")
    subprocess.run([sys.executable, "bench/load.py", "--profile", "smoke", "--database-url", url, "--samples", "30",
                    "--annotators", "2", "--reviewers", "0", "--build-only", "--log-dir", str(tmp_path)],
                   cwd=ROOT, check=True, capture_output=True, timeout=300)
    server = Server(url, tmp_path / "web", workers=2).start()
    yield pg, server
    server.stop()
    pg.destroy()


def sign_in(base: str) -> tuple[httpx.Client, str]:
    client = httpx.Client(base_url=base, timeout=30)
    token = RE_CSRF_FIELD.search(client.get("/accounts/login/").text).group(1)
    r = client.post("/accounts/login/", data={"csrfmiddlewaretoken": token, "username": "load-ann-01",
                                              "password": PASSWORD, "next": "/work/"})
    assert r.status_code == 302, r.text[:500]
    home = client.get("/work/")
    return client, RE_CSRF.search(home.text).group(1)


def test_while_postgres_is_down_every_kind_of_request_gets_a_retry_and_idle_workers_reconnect(served):
    pg, server = served
    client, csrf = sign_in(server.base)
    assert client.get("/work/").status_code == 200
    pg.stop("fast")
    try:
        page = client.get("/work/")
        assert page.status_code == 503 and page.headers["Retry-After"]
        assert "database is not answering" in page.text and "data-retry" in page.text
        edit = client.post("/work/samples/1/edit/", data={"trigger": "1", "text": "typed before the outage",
                                                          "version": "2", "seen": "1"},
                           headers={"HX-Request": "true", "HX-Target": "work", "X-CSRFToken": csrf})
        assert edit.status_code == 503
        assert edit.headers["HX-Retarget"] == "#unavailable" and edit.headers["HX-Reswap"] == "innerHTML"
        assert "data-retry" in edit.text and "Your change was not confirmed" in edit.text
        form = client.post("/work/samples/1/edit/", data={"csrfmiddlewaretoken": csrf, "trigger": "1",
                                                          "text": "typed before the outage", "version": "2"})
        assert form.status_code == 503  # the no-JS page re-posts the same fields
        assert 'name="text" value="typed before the outage"' in form.text and 'method="post"' in form.text
        api = client.get("/api/projects/", headers={"Accept": "application/json"})
        assert api.status_code == 503 and api.json()["retryable"] is True
        signin = httpx.post(server.base + "/accounts/login/", data={"username": "x", "password": "secret-typed"})
        assert signin.status_code in (403, 503) and "secret-typed" not in signin.text  # never echoed back
    finally:
        pg.start()
    assert [client.get("/work/").status_code for _ in range(12)] == [200] * 12  # every worker has a connection
    pg.stop("fast")  # restarted while no request is running: the workers' connections die while they sit idle
    pg.start()
    statuses = [client.get("/work/").status_code for _ in range(12)]
    assert statuses == [200] * 12  # each reconnects on its next request, nobody sees an error
    assert "Traceback" not in server.log().split("database unavailable")[0]
