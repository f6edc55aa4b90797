"""Load test: simulated annotators (and reviewers) working a large project through a real gunicorn server on
PostgreSQL, the way the browser does it, then a check of every change against the event log.

What it does, in order:

1. **build** (unless ``--reuse``): drops and recreates its own database (the name must contain ``bench``),
   migrates it and writes, with PostgreSQL ``COPY``, a project of N samples (5 model triggers each, spread over
   passes 1-3, each (sample, pass) assigned to one of the annotators, no overlap) and the users;
2. **serve**: starts gunicorn (``config/gunicorn.conf.py``: the production settings, ``DEBUG=false``) on a free
   loopback port, with ``--workers``/``--threads``;
3. **work** for ``--duration`` seconds: each simulated person is a thread with its own HTTP client (cookies,
   CSRF token, keep-alive), arriving over ``--ramp`` seconds. An **annotator** signs in on the login form, opens
   its queue, takes the next sample of a pass (form POST → 302), opens the pass screen (full page, its lazily
   loaded side panels, sometimes the htmx ``#work`` partial), makes 1-4 changes as htmx POSTs (pass 1: keep /
   remove as hallucination / edit / restore; pass 2: add / edit with category and explicit-implicit; pass 3:
   remove as irrelevant / move / restore; undo now and then), renews its lease every 120 s, and submits
   (htmx → ``HX-Redirect`` to the next sample), or now and then puts the sample back and takes another.
   A **reviewer** reads: the project page (counts over the whole project) with its panels, a filtered sample
   table (htmx), sample pages with their panels. Between two actions a person thinks for ``--think`` seconds
   (uniform 0.5-1.5 times). A 503 ("database unavailable") is handled as a person would: the message must offer a
   retry; the person waits a moment and retries the same request;
4. **check** against the database: every change a client saw succeed is exactly one Event (its id is the
   ``seen`` the response carries; actor, sample, trigger and action must match) and no other change Event was
   written; every submit a client saw is one ``sample.submitted``; each touched sample's ``version`` is 1 + its
   version-bumping events (nothing half-saved); each touched trigger is what its last event says; no sample was
   handed to two annotators in one pass (neither by the clients' view nor by ``assignment.leased`` events);
5. **report**: per endpoint requests, p50/p95/p99/max (client-side wall time, loopback), statuses, then the
   checks; ``--json``/``--out`` write them; ``--strict`` exits 1 when a check fails.

    .venv/bin/python bench/load.py                       # the full profile: 100,000 samples, 50 + 3 people, 2 min
    .venv/bin/python bench/load.py --profile smoke       # CI: 3,000 samples, 8 + 1 people, 20 s
    .venv/bin/python bench/load.py --reuse --duration 30 --workers 5 --json /tmp/load.json
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import random
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import unquote, urlsplit

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

PROFILES = {
    "full": {"samples": 100_000, "annotators": 50, "reviewers": 3, "duration": 120.0, "ramp": 10.0},
    "smoke": {"samples": 3_000, "annotators": 8, "reviewers": 1, "duration": 20.0, "ramp": 3.0},
    # PostgreSQL restarted (a crash: ``pg_ctl stop -m immediate``) while annotators save, on a throwaway cluster
    "postgres-restart": {"samples": 600, "annotators": 6, "reviewers": 0, "duration": 24.0, "ramp": 2.0,
                         "think": 0.3, "workers": 2, "fault_at": 7.0, "fault_down": 4.0},
}
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/h_load_bench"
PASSWORD = "load-test-password"
PROJECT = "Load test"
RE_REVIEW_NEXT = re.compile(r'action="(/review/projects/\d+/next/)"')
RE_RATE_FORM = re.compile(r'hx-post="(/review/assignments/(\d+)/rate/)"')
RE_NEXT_REVIEW = re.compile(r'id="next" href="/review/assignments/(\d+)/"')
CHANGE_ACTIONS = ("trigger.edited", "trigger.removed", "trigger.restored", "trigger.kept", "trigger.added",
                  "trigger.moved", "trigger.undone")
BUMPING = (*CHANGE_ACTIONS, "sample.submitted", "sample.queued", "sample.reopened")
CATEGORIES = ["Atmosphere", "Social Interactions", "Body Movements", "Facial Expressions", "Objects", "Other"]


# ------------------------------------------------------------------------------------------------ set-up
def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--profile", choices=sorted(PROFILES), default="full")
    p.add_argument("--samples", type=int, help="project size (profile: full 100,000, smoke 3,000)")
    p.add_argument("--annotators", type=int)
    p.add_argument("--reviewers", type=int)
    p.add_argument("--duration", type=float, help="seconds of work after sign-in starts")
    p.add_argument("--ramp", type=float, help="people arrive spread over this many seconds")
    p.add_argument("--think", type=float, help="mean pause between two actions of a person (s; default 1)")
    p.add_argument("--workers", type=int, help="gunicorn workers (default: config/gunicorn.conf.py's)")
    p.add_argument("--threads", type=int, help="gunicorn threads per worker (default: config/gunicorn.conf.py's)")
    p.add_argument("--database-url", default=os.environ.get("LOAD_DATABASE_URL"),
                   help=f"default {DEFAULT_URL} (smoke: h_load_smoke_bench)")
    p.add_argument("--redis-url", default=os.environ.get("LOAD_REDIS_URL", "redis://127.0.0.1:6379/8"))
    p.add_argument("--reuse", action="store_true", help="keep the database as the last run left it (no rebuild)")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--json", help="write the figures as JSON here")
    p.add_argument("--out", help="write the Markdown report here")
    p.add_argument("--log-dir", default="/tmp/eis-load", help="server log and the server's var/ (default /tmp/eis-load)")
    p.add_argument("--strict", action="store_true", help="exit 1 when a check fails")
    p.add_argument("--build-only", action="store_true", help="build the project and its users, then stop")
    p.add_argument("--fault-at", type=float, help="postgres-restart: seconds into the work phase")
    p.add_argument("--fault-down", type=float, help="postgres-restart: seconds the database stays down")
    args = p.parse_args(argv)
    for key, value in {"think": 1.0, **PROFILES[args.profile]}.items():
        if getattr(args, key, None) is None:
            setattr(args, key, value)
    args.fault = "postgres-restart" if args.profile == "postgres-restart" else None
    if args.database_url is None:
        args.database_url = DEFAULT_URL.replace("h_load_bench", "h_load_smoke_bench") if args.profile == "smoke" \
            else DEFAULT_URL
    if args.fault:
        args.reuse = False
    elif "bench" not in unquote(urlsplit(args.database_url).path):
        p.error("the load test's database name must contain 'bench' (it is dropped and recreated)")
    return args


def setup_django(url: str) -> None:
    os.environ["DATABASE_URL"] = url
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    os.environ.setdefault("EISTUDIO_VAR_DIR", "/tmp/eis-load/var-tool")
    import django

    django.setup()


def build(samples: int, annotators: int, reviewers: int, *, seed: int = 7) -> dict:
    """Write the project, its users and their work (COPY); returns what was built. Django must be set up."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.hashers import make_password
    from django.contrib.auth.models import Group
    from django.core.management import call_command
    from django.db import connection

    from annotator.models import Project, ProjectAnnotator
    from annotator.roles import ANNOTATOR, LEAD, REVIEWER, ensure_role_groups
    from bench.workspace import grow

    t0 = time.perf_counter()
    call_command("migrate", verbosity=0, interactive=False)
    ensure_role_groups()
    User = get_user_model()
    hashed = make_password(PASSWORD)  # one PBKDF2 for all; sign-in still checks it the production way
    people = ([f"load-ann-{i:02d}" for i in range(1, annotators + 1)]
              + [f"load-rev-{i:02d}" for i in range(1, reviewers + 1)] + ["load-lead"])
    User.objects.bulk_create([User(username=u, password=hashed) for u in people])
    users = {u.username: u for u in User.objects.filter(username__in=people)}
    groups = {g.name: g for g in Group.objects.all()}
    Through = User.groups.through
    Through.objects.bulk_create([
        Through(user_id=u.pk, group_id=groups[ANNOTATOR if n.startswith("load-ann") else
                                              REVIEWER if n.startswith("load-rev") else LEAD].pk)
        for n, u in users.items()])
    anns = [users[n] for n in people if n.startswith("load-ann")]
    project = Project.objects.create(name=PROJECT, annotators_per_pass=len(anns), overlap_fraction=0.0)
    ProjectAnnotator.objects.bulk_create([ProjectAnnotator(project=project, user=u) for u in anns])
    add_members(project, users.values())
    grow(project, anns, users["load-lead"], 0, samples)
    rated = draw_for_review(project, users["load-lead"], min(3, reviewers)) if reviewers else 0
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    return {"project": project.pk, "samples": samples, "for_review": rated,
            "seconds": round(time.perf_counter() - t0, 1)}


def draw_for_review(project, lead, per_item: int) -> int:
    """Make every 50th sample refined (its passes done) and let the lead draw a quality sample of them for the
    reviewers (``review.actions.do_draw_quality_sample``: the product's own draw, per emotion, 3 reviewers each).
    Returns how many samples were drawn (0 when the product has no review app)."""
    try:
        from review.actions import do_draw_quality_sample
    except ImportError:
        return 0
    from django.db.models.functions import Mod
    from django.utils import timezone

    from annotator.models import Assignment, Sample

    refined = list(Sample.objects.filter(project=project).annotate(every=Mod("ordinal", 50)).filter(every=0)
                   .values_list("id", flat=True))
    Assignment.objects.filter(sample_id__in=refined, status="open").update(status="done", finished_at=timezone.now())
    Sample.objects.filter(id__in=refined).update(state=Sample.State.REFINED)
    draw = do_draw_quality_sample(project.pk, actor=lead, per_emotion=min(len(refined), 150), seed=1,
                                  reviewers_per_item=per_item)
    return draw.items.count()


def add_members(project, users) -> None:
    """Project membership (when the product has it): everyone in the project with their site role."""
    try:
        from annotator.models import ProjectMember
    except ImportError:
        return
    role = {"load-ann": "annotator", "load-rev": "reviewer", "load-lea": "lead"}
    ProjectMember.objects.bulk_create([ProjectMember(project=project, user=u, role=role[u.username[:8]])
                                       for u in users], ignore_conflicts=True)


def recreate_database(url: str) -> None:
    from bench.workspace import recreate_database as recreate

    recreate(url)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """gunicorn serving ``config.wsgi`` with the repository's ``config/gunicorn.conf.py``, on a loopback port."""

    def __init__(self, database_url: str, log_dir: Path, *, workers: int | None = None, threads: int | None = None,
                 redis_url: str = "", env: dict | None = None, port: int | None = None):
        self.port = port or free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        log_dir.mkdir(parents=True, exist_ok=True)
        self.log_path = log_dir / f"gunicorn-{self.port}.log"
        self.env = {**os.environ, "DATABASE_URL": database_url, "DEBUG": "false", "LOG_LEVEL": "WARNING",
                    "SECRET_KEY": "load-test-secret-key-not-for-production-0123456789abcdef",
                    "ALLOWED_HOSTS": "127.0.0.1,localhost", "EISTUDIO_VAR_DIR": str(log_dir / "var"),
                    "GUNICORN_BIND": f"127.0.0.1:{self.port}", "REDIS_URL": redis_url, **(env or {})}
        self.env.pop("DJANGO_SETTINGS_MODULE", None)
        if workers:
            self.env["WEB_CONCURRENCY"] = str(workers)
        if threads:
            self.env["GUNICORN_THREADS"] = str(threads)
        self.proc = None

    def start(self, timeout: float = 60) -> Server:
        import httpx

        self._log = open(self.log_path, "w")  # noqa: SIM115
        self.proc = subprocess.Popen([str(Path(sys.executable).parent / "gunicorn"), "config.wsgi:application",
                                      "-c", str(ROOT / "config" / "gunicorn.conf.py")],
                                     cwd=ROOT, env=self.env, stdout=self._log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited: {self.log_path.read_text()[-3000:]}")
            try:
                if httpx.get(self.base + "/accounts/login/", timeout=2).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        raise RuntimeError(f"gunicorn did not answer in {timeout}s: {self.log_path.read_text()[-3000:]}")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        if getattr(self, "_log", None):
            self._log.close()

    def log(self) -> str:
        return self.log_path.read_text() if self.log_path.exists() else ""

    def describe(self) -> str:
        out = subprocess.run([sys.executable, "-c", "import runpy,os;c=runpy.run_path('config/gunicorn.conf.py');"
                              "print(c['workers'], c['threads'], c.get('worker_class'))"],
                             cwd=ROOT, env=self.env, capture_output=True, text=True, check=False).stdout.split()
        return f"gunicorn {out[0]} workers × {out[1]} threads ({out[2]})" if len(out) == 3 else "gunicorn"


# ------------------------------------------------------------------------------------------- the people
RE_VERSION = re.compile(r'data-version="(\d+)"')
RE_SEEN = re.compile(r'name="seen" value="(\d+)"')
RE_TRIGGER = re.compile(r'<li class="trigger fate-(\w+)" data-id="(\d+)"')
RE_PASS = re.compile(r'class="card work pass-(\d*)"')
RE_CSRF = re.compile(r'"X-CSRFToken": "([^"]+)"')
RE_CSRF_FIELD = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
RE_PANEL = re.compile(r'class="panel-slot" hx-get="([^"]+)"')
RE_NEXT = re.compile(r'action="(/work/projects/(\d+)/next/(\d)/)"')
RE_ERROR = re.compile(r'<p class="error" role="alert">(.*?)</p>', re.S)
RE_SAMPLE_LINK = re.compile(r'data-href="/samples/(\d+)/"')
RE_WORK_URL = re.compile(r"/work/samples/(\d+)/")


class Retryable(Exception):
    pass


class Ambiguous(Retryable):
    """A request retried after a 503 was refused as stale (409) or not allowed any more (403): the first attempt
    had gone through before the database went away. The person reloads; the checks expect at most one Event."""


@dataclass
class Recorder:
    """What the clients saw: timings per endpoint, statuses, the changes and submits they saw succeed."""

    times: dict = field(default_factory=lambda: defaultdict(list))
    statuses: dict = field(default_factory=lambda: defaultdict(Counter))
    changes: list = field(default_factory=list)
    submits: list = field(default_factory=list)
    given: list = field(default_factory=list)
    problems: list = field(default_factory=list)
    retries: Counter = field(default_factory=Counter)
    unavailable: list = field(default_factory=list)
    phases: dict = field(default_factory=dict)
    timeline: list = field(default_factory=list)
    ambiguous: list = field(default_factory=list)
    ratings: list = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def hit(self, endpoint: str, status: int, ms: float) -> None:
        with self.lock:
            self.times[endpoint].append(ms)
            self.statuses[endpoint][status] += 1
            self.timeline.append((time.time(), endpoint, status))

    def add(self, what: str, item) -> None:
        with self.lock:
            getattr(self, what).append(item)

    def problem(self, who: str, text: str) -> None:
        with self.lock:
            if len(self.problems) < 200:
                self.problems.append(f"{who}: {text}")


@dataclass
class WorkState:
    sample: int
    pass_number: int | None
    version: int
    seen: int
    triggers: list  # [(id, fate)] in screen order
    can_work: bool


def parse_work(html: str, sample: int) -> WorkState:
    version, seen, pass_ = RE_VERSION.search(html), RE_SEEN.search(html), RE_PASS.search(html)
    if not version or not pass_:
        raise ValueError("no #work partial in the response")
    return WorkState(sample=sample, pass_number=int(pass_.group(1)) if pass_.group(1) else None,
                     version=int(version.group(1)), seen=int(seen.group(1)) if seen else 0,
                     triggers=[(int(i), f) for f, i in RE_TRIGGER.findall(html)], can_work="/submit/" in html)


class Person(threading.Thread):
    """One simulated person: its own client (cookies, CSRF token), signing in and working until ``deadline``."""

    def __init__(self, username: str, base: str, rec: Recorder, *, start_at: float, think: float, seed: int,
                 user_id: int, go: threading.Event, retry_grace: float = 60.0):
        super().__init__(name=username, daemon=True)
        import httpx

        self.username, self.base, self.rec, self.user_id = username, base, rec, user_id
        self.start_at, self.think, self.go = start_at, think, go
        self.deadline = time.monotonic() + 3600  # set by the driver when the work phase starts
        self.retry_grace = retry_grace
        self.signed_in = False
        self.rng = random.Random(seed)
        self.client = httpx.Client(base_url=base, timeout=60, follow_redirects=False,
                                   headers={"User-Agent": "eis-load/1"})
        self.csrf = ""

    # --- plumbing
    def over(self) -> bool:
        return time.monotonic() >= self.deadline

    def pause(self, factor: float = 1.0) -> None:
        wait = self.think * factor * self.rng.uniform(0.5, 1.5)
        time.sleep(max(0.0, min(wait, self.deadline - time.monotonic())))

    def request(self, endpoint: str, method: str, url: str, *, htmx: bool = False, target: str | None = None,
                data: dict | None = None, expect=(200,)):
        """One request as the browser sends it. A 503 is the "database unavailable" screen: it must offer a
        retry; the person waits and retries the same request (as the retry button does)."""
        import httpx

        headers = {}
        if htmx:
            headers["HX-Request"] = "true"
            if target:
                headers["HX-Target"] = target
        if method == "POST":
            if htmx:
                headers["X-CSRFToken"] = self.csrf
            else:
                data = {"csrfmiddlewaretoken": self.csrf, **(data or {})}
        attempt = 0
        while True:
            t0 = time.perf_counter()
            try:
                response = self.client.request(method, url, data=data, headers=headers)
            except httpx.HTTPError as exc:
                self.rec.hit(endpoint, 599, (time.perf_counter() - t0) * 1000)
                self.rec.problem(self.username, f"{endpoint} {url}: {type(exc).__name__}: {exc}")
                raise Retryable(str(exc)) from exc
            ms = (time.perf_counter() - t0) * 1000
            self.rec.hit(endpoint, response.status_code, ms)
            if response.status_code == 503 and time.monotonic() < self.deadline + self.retry_grace:
                offers_retry = ("data-retry" in response.text or '"retryable": true' in response.text)
                self.rec.add("unavailable", {"user": self.username, "endpoint": endpoint, "t": time.time(),
                                             "offers_retry": offers_retry, "htmx": htmx,
                                             "retarget": response.headers.get("HX-Retarget", "")})
                attempt += 1
                with self.rec.lock:
                    self.rec.retries[endpoint] += 1
                time.sleep(min(0.5 * attempt, 2.0))
                continue
            if response.status_code not in expect and attempt and response.status_code in (403, 409):
                raise Ambiguous(f"{endpoint}: HTTP {response.status_code} after {attempt} retries")
            if response.status_code not in expect:
                self.rec.problem(self.username, f"{method} {url} ({endpoint}) → {response.status_code}: "
                                                f"{response.text[:300]!r}")
                raise Retryable(f"{endpoint}: HTTP {response.status_code}")
            return response

    def login(self) -> None:
        r = self.request("sign-in page (GET)", "GET", "/accounts/login/?next=/work/")
        self.csrf = RE_CSRF_FIELD.search(r.text).group(1)
        r = self.request("sign in (POST)", "POST", "/accounts/login/?next=/work/",
                         data={"username": self.username, "password": PASSWORD, "next": "/work/"}, expect=(302,))
        if "/accounts/login/" in r.headers.get("location", ""):
            raise RuntimeError(f"{self.username}: sign-in refused")

    def page(self, endpoint: str, url: str):
        r = self.request(endpoint, "GET", url)
        m = RE_CSRF.search(r.text)
        if m:
            self.csrf = m.group(1)
        for panel in RE_PANEL.findall(r.text):  # hx-trigger="load": the browser fetches them at once
            self.request("side panels (htmx GET)", "GET", panel, htmx=True)
        return r

    def run(self) -> None:
        time.sleep(max(0.0, self.start_at - time.monotonic()))
        try:
            self.login()
            self.signed_in = True
            self.go.wait()
            self.work()
        except Retryable:
            pass
        except Exception as exc:  # a bug in the simulation or the server: reported, never hidden
            self.rec.problem(self.username, f"stopped: {type(exc).__name__}: {exc}")
        finally:
            self.client.close()

    def work(self) -> None:
        raise NotImplementedError


class Annotator(Person):
    def work(self) -> None:
        preferred = self.rng.choice([1, 2, 3])
        while not self.over():
            home = self.page("my queue (GET)", "/work/")
            queues = {int(p): url for url, _proj, p in RE_NEXT.findall(home.text)}
            if not queues:
                self.rec.problem(self.username, "nothing in my queue")
                return
            pass_number = preferred if preferred in queues else self.rng.choice(sorted(queues))
            self.pause(0.5)
            r = self.request("take next (POST)", "POST", queues[pass_number], expect=(302,))
            m = RE_WORK_URL.search(r.headers.get("location", ""))
            if not m:
                preferred = self.rng.choice([p for p in (1, 2, 3) if p != pass_number])
                continue
            try:
                self.work_on(int(m.group(1)))
            except Retryable:
                if self.over():
                    return
                self.pause()

    def work_on(self, sample: int) -> None:
        last_renew = time.monotonic()
        while sample and not self.over():
            r = self.page("pass screen (GET page)", f"/work/samples/{sample}/")
            state = parse_work(r.text, sample)
            if not state.can_work:
                self.rec.problem(self.username, f"sample {sample} handed out but read-only: {state}")
                return
            self.rec.add("given", (sample, state.pass_number, self.username, time.time()))
            if self.rng.random() < 0.3:
                r = self.request("pass screen (htmx partial)", "GET", f"/work/samples/{sample}/", htmx=True,
                                 target="work")
                state = parse_work(r.text, sample)
            for _ in range(self.rng.randint(1, 4)):
                self.pause()
                if self.over():
                    return
                state = self.change(state)
                if self.rng.random() < 0.2 and not self.over():
                    self.pause(0.5)
                    state = self.post_change(state, "undo", {}, "trigger.undone", None)
            if time.monotonic() - last_renew > 120:
                self.request("renew lease (htmx POST)", "POST", f"/work/samples/{sample}/renew/", htmx=True,
                             expect=(204,))
                last_renew = time.monotonic()
            self.pause()
            if self.over():
                return
            if self.rng.random() < 0.08:  # "n": put this one back, take another
                r = self.request("put back + next (htmx POST)", "POST",
                                 f"/work/projects/{self.project}/next/{state.pass_number}/", htmx=True,
                                 target="work", data={"after": sample})
            else:
                submit = {"user": self.username, "user_id": self.user_id, "sample": sample,
                          "pass": state.pass_number}
                try:
                    r = self.request("submit (htmx POST)", "POST", f"/work/samples/{sample}/submit/", htmx=True,
                                     target="work", data={"version": state.version, "seen": state.seen})
                except Ambiguous:
                    self.rec.add("ambiguous", {**submit, "action": "sample.submitted"})
                    return
                self.rec.add("submits", submit)
            m = RE_WORK_URL.search(r.headers.get("HX-Redirect", ""))
            sample = int(m.group(1)) if m else None

    project = 0

    def change(self, state: WorkState) -> WorkState:
        kept = [i for i, f in state.triggers if f == "kept"]
        removed = [i for i, f in state.triggers if f != "kept"]
        roll = self.rng.random()
        tag = f"{self.username} {self.rng.getrandbits(40):010x}"
        if state.pass_number == 1:
            if removed and roll < 0.1:
                return self.post_change(state, "restore", {"trigger": self.rng.choice(removed)}, "trigger.restored")
            if not kept:
                return state
            t = self.rng.choice(kept)
            if roll < 0.4:
                return self.post_change(state, "keep", {"trigger": t}, "trigger.kept")
            if roll < 0.7:
                data = {"trigger": t, "fate": "hallucination"}
                if self.rng.random() < 0.3:
                    data["reason"] = "not in the picture"
                return self.post_change(state, "remove", data, "trigger.removed")
            return self.post_change(state, "edit", {"trigger": t, "text": f"Edited by {tag}."}, "trigger.edited")
        if state.pass_number == 2:
            if roll < 0.5 or not kept:
                return self.post_change(state, "add", {"text": f"Off-screen context added by {tag}.",
                                                       "category": self.rng.choice(CATEGORIES),
                                                       "explicit": self.rng.choice(["explicit", "implicit"])},
                                        "trigger.added")
            return self.post_change(state, "edit", {"trigger": self.rng.choice(kept), "text": f"Reworded by {tag}.",
                                                    "category": self.rng.choice(CATEGORIES),
                                                    "explicit": self.rng.choice(["explicit", "implicit"])},
                                    "trigger.edited")
        irrelevant = [i for i, f in state.triggers if f == "irrelevant"]
        if irrelevant and roll < 0.15:
            return self.post_change(state, "restore", {"trigger": self.rng.choice(irrelevant)}, "trigger.restored")
        if not kept:
            return state
        if roll < 0.55 or len(kept) < 2:
            return self.post_change(state, "remove", {"trigger": self.rng.choice(kept), "fate": "irrelevant"},
                                    "trigger.removed")
        return self.post_change(state, "move", {"trigger": self.rng.choice(kept),
                                                "direction": self.rng.choice(["up", "down"])}, "trigger.moved")

    def post_change(self, state: WorkState, op: str, data: dict, action: str, trigger=...) -> WorkState:
        trigger = data.get("trigger") if trigger is ... else trigger
        try:
            r = self.request(f"{op} (htmx POST)", "POST", f"/work/samples/{state.sample}/{op}/", htmx=True,
                             target="work", data={**data, "version": state.version, "seen": state.seen})
        except Ambiguous:  # the conflict screen says it went through: "Reload the sample"
            self.rec.add("ambiguous", {"user": self.username, "user_id": self.user_id, "sample": state.sample,
                                       "action": action, "op": op})
            r = self.request("pass screen (GET page)", "GET", f"/work/samples/{state.sample}/")
            return parse_work(r.text, state.sample)
        new = parse_work(r.text, state.sample)
        error = RE_ERROR.search(r.text)
        if error:
            self.rec.problem(self.username, f"{op} on {state.sample}: {error.group(1).strip()}")
            return new
        if op == "undo" and "nothing of yours to undo" in r.text:
            return new
        if new.version != state.version + 1 or new.seen <= state.seen:
            self.rec.problem(self.username, f"{op} on {state.sample}: version {state.version} → {new.version}, "
                                            f"seen {state.seen} → {new.seen}")
        if op == "add":
            before = {i for i, _f in state.triggers}
            added = [i for i, _f in new.triggers if i not in before]
            trigger = added[0] if len(added) == 1 else None
        self.rec.add("changes", {"user": self.username, "user_id": self.user_id, "sample": state.sample,
                                 "op": op, "action": action, "trigger": int(trigger) if trigger else None,
                                 "event": new.seen, "text": data.get("text")})
        return new


class Reviewer(Person):
    """Rates the quality samples given to them (my reviews → "Rate" → the rate screen → a 0-5 score, a note below
    3, htmx → the next one); with nothing left to rate, reads: the project page with its panels, the filtered
    sample table, sample pages."""

    project = 0

    def work(self) -> None:
        if not self.over():
            self.rate_all()
        self.read()

    def rate_all(self) -> None:
        home = self.page("my reviews (GET)", "/review/")
        m = RE_REVIEW_NEXT.search(home.text)
        if not m:
            return
        self.pause(0.5)
        r = self.request("next review (POST)", "POST", m.group(1), expect=(302,))
        m = re.search(r"/review/assignments/(\d+)/", r.headers.get("location", ""))
        while m and not self.over():
            r = self.page("rate screen (GET page)", f"/review/assignments/{m.group(1)}/")
            form = RE_RATE_FORM.search(r.text)
            if not form:
                self.rec.problem(self.username, f"review {m.group(1)} handed out but not rateable")
                return
            self.pause(2.0)
            if self.over():
                return
            score = self.rng.choice([1, 2, 3, 4, 4, 5, 5])
            data = {"score": score, "note": "a trigger is missing" if score < 3 else ""}
            r = self.request("rate (htmx POST)", "POST", form.group(1), htmx=True, target="review", data=data)
            if RE_ERROR.search(r.text):
                self.rec.problem(self.username, f"rating {form.group(2)}: {RE_ERROR.search(r.text).group(1)}")
                return
            self.rec.add("ratings", {"user_id": self.user_id, "assignment": int(form.group(2)), "score": score})
            m = RE_NEXT_REVIEW.search(r.text)

    def read(self) -> None:
        while not self.over():
            r = self.page("project page (GET)", f"/projects/{self.project}/")
            ids = [int(i) for i in RE_SAMPLE_LINK.findall(r.text)]
            self.pause()
            state = self.rng.choice(["pass2", "pass3", "refined"])
            r = self.request("sample table filter (htmx GET)", "GET", f"/projects/{self.project}/?state={state}",
                             htmx=True, target="samples")
            ids += [int(i) for i in RE_SAMPLE_LINK.findall(r.text)]
            for _ in range(self.rng.randint(1, 3)):
                if self.over() or not ids:
                    break
                self.pause()
                self.page("sample page (GET)", f"/samples/{self.rng.choice(ids)}/")


# ------------------------------------------------------------------------------------------------- run
def people_for(project_id: int) -> tuple[list, list]:
    from django.contrib.auth import get_user_model

    users = dict(get_user_model().objects.filter(username__startswith="load-").values_list("username", "pk"))
    anns = sorted(u for u in users if u.startswith("load-ann"))
    revs = sorted(u for u in users if u.startswith("load-rev"))
    return [(u, users[u]) for u in anns], [(u, users[u]) for u in revs]


def drive(base: str, project_id: int, annotators: list, reviewers: list, *, duration: float, ramp: float,
          think: float, seed: int, rec: Recorder | None = None, retry_grace: float = 60.0,
          on_tick=None, on_start=None) -> Recorder:
    """Sign everyone in (arriving over ``ramp`` seconds), then let them work for ``duration`` seconds (bounded:
    every thread stops by itself). ``rec.phases`` gets the sign-in and work phases' lengths."""
    rec = rec or Recorder()
    Annotator.project = Reviewer.project = project_id
    now = time.monotonic()
    go = threading.Event()
    everyone = [(Annotator, u) for u in annotators] + [(Reviewer, u) for u in reviewers]
    rng = random.Random(seed)
    rng.shuffle(everyone)
    threads = []
    for i, (cls, (username, uid)) in enumerate(everyone):
        start = now + (ramp * i / max(1, len(everyone) - 1) if len(everyone) > 1 else 0)
        threads.append(cls(username, base, rec, start_at=start, think=think, seed=seed * 1000 + i, user_id=uid,
                           go=go, retry_grace=retry_grace))
    for t in threads:
        t.start()
    while (not all(t.signed_in for t in threads if t.is_alive()) or time.monotonic() < now + ramp) and \
            time.monotonic() < now + ramp + 300:
        time.sleep(0.1)
    rec.phases["sign-in"] = round(time.monotonic() - now, 1)
    work_start = time.monotonic()
    deadline = work_start + duration
    for t in threads:
        t.deadline = deadline
    go.set()
    if on_start:
        on_start()
    while any(t.is_alive() for t in threads) and time.monotonic() < deadline + retry_grace + 60:
        if on_tick:
            on_tick()
        time.sleep(0.2)
    rec.phases["work"] = round(time.monotonic() - work_start, 1)
    for t in threads:
        t.join(5)
    stuck = [t.name for t in threads if t.is_alive()]
    if stuck:
        rec.problem("driver", f"{len(stuck)} people still in a request after the end: {stuck[:5]}")
    return rec


# ------------------------------------------------------------------------------------------------ faults
class PostgresRestart(threading.Thread):
    """``at`` seconds into the work phase, crash the (throwaway) PostgreSQL (``pg_ctl stop -m immediate``: open
    transactions die), keep it down ``down`` seconds, start it again. The web server is left alone."""

    def __init__(self, pg, at: float, down: float):
        super().__init__(name="postgres-restart", daemon=True)
        self.pg, self.at, self.down = pg, at, down
        self.down_at = self.up_at = None

    def run(self) -> None:
        time.sleep(self.at)
        self.down_at = time.time()
        self.pg.stop("immediate")
        time.sleep(self.down)
        self.pg.start()
        self.up_at = time.time()


def fault_outcome(rec: Recorder, fault: PostgresRestart) -> dict:
    """What people saw around the restart, from the clients' timeline."""
    if fault.up_at is None:
        return {"error": "the restart did not happen"}
    grace = 1.0  # a response already on its way when the server came back
    tl = sorted(rec.timeline)
    unavailable = list(rec.unavailable)
    late_503 = [x for x in tl if x[2] == 503 and not (fault.down_at <= x[0] <= fault.up_at + grace)]
    others_5xx = [x for x in tl if x[2] >= 500 and x[2] != 503]
    after = [x for x in tl if x[0] > fault.up_at]
    saves_after = [x[0] for x in after if x[2] == 200 and "POST" in x[1]]
    retried = sum(rec.retries.values())
    return {
        "down_at": fault.down_at, "up_at": fault.up_at, "outage_s": round(fault.up_at - fault.down_at, 2),
        "requests_during": len([x for x in tl if fault.down_at <= x[0] <= fault.up_at]),
        "unavailable_503": len(unavailable), "retried": retried,
        "offered_retry": sum(1 for u in unavailable if u["offers_retry"]),
        "htmx_503": sum(1 for u in unavailable if u["htmx"]),
        "htmx_503_retargeted": sum(1 for u in unavailable if u["htmx"] and u["retarget"] == "#unavailable"),
        "late_503": len(late_503), "other_5xx": len(others_5xx),
        "errors_after_recovery": len([x for x in after if x[2] >= 500 and x[0] > fault.up_at + grace]),
        "first_save_after_up_s": round(min(saves_after) - fault.up_at, 2) if saves_after else None,
        "saves_after_up": len(saves_after), "ambiguous": len(rec.ambiguous),
        "503_at_s": sorted(round(x[0] - fault.down_at, 2) for x in tl if x[2] == 503),
    }


def fault_failures(f: dict) -> list[str]:
    if "error" in f:
        return [f["error"]]
    bad = []
    if not f["unavailable_503"]:
        bad.append("nobody was saving while the database was down (no 503 seen)")
    if f["offered_retry"] != f["unavailable_503"]:
        bad.append(f"{f['unavailable_503'] - f['offered_retry']} 503 responses without a retry")
    if f["htmx_503_retargeted"] != f["htmx_503"]:
        bad.append("an htmx 503 replaced the form (no HX-Retarget to #unavailable)")
    if f["other_5xx"] or f["late_503"] or f["errors_after_recovery"]:
        bad.append(f"server errors: {f['other_5xx']} non-503, {f['late_503']} 503 outside the outage, "
                   f"{f['errors_after_recovery']} after recovery")
    if not f["saves_after_up"]:
        bad.append("no change was saved after the database came back")
    return bad


# ------------------------------------------------------------------------------------------------ check
def verify(rec: Recorder, project_id: int, first_event: int) -> dict:
    """Compare what the clients saw with the event log and the rows (Django set up on the same database)."""
    from annotator.models import Event, Sample, Trigger

    events = Event.objects.filter(project_id=project_id, id__gt=first_event)
    change_events = {e["id"]: e for e in events.filter(action__in=CHANGE_ACTIONS)
                     .values("id", "actor_id", "sample_id", "trigger_id", "action", "after")}
    claimed = Counter(c["event"] for c in rec.changes)
    lost, mismatched = [], []
    for c in rec.changes:
        e = change_events.get(c["event"])
        if e is None:
            lost.append(c)
            continue
        ok = (e["actor_id"] == c["user_id"] and e["sample_id"] == c["sample"] and e["action"] == c["action"]
              and (c["trigger"] is None or e["trigger_id"] == c["trigger"])
              and (c["text"] is None or c["op"] not in ("edit", "add") or (e["after"] or {}).get("text") == c["text"]))
        if not ok:
            mismatched.append({"client": c, "event": {k: v for k, v in e.items() if k != "after"}})
    duplicated_claims = sorted(i for i, n in claimed.items() if n > 1)
    unseen = sorted(set(change_events) - set(claimed))  # written but no client saw it succeed
    # a change retried after a 503 and then refused as stale had gone through: at most one Event each
    pending = Counter((a["user_id"], a["sample"], a["action"]) for a in rec.ambiguous)
    resolved = []
    for i in list(unseen):
        e = change_events[i]
        key = (e["actor_id"], e["sample_id"], e["action"])
        if pending[key] > 0:
            pending[key] -= 1
            resolved.append(i)
            unseen.remove(i)

    submitted = Counter(events.filter(action="sample.submitted").values_list("sample_id", "pass_number", "actor_id"))
    client_submits = Counter((s["sample"], s["pass"], s["user_id"]) for s in rec.submits)
    submits_lost = [k for k, n in client_submits.items() if submitted.get(k, 0) < n]
    for a in rec.ambiguous:
        if a["action"] == "sample.submitted":
            key = (a["sample"], a["pass"], a["user_id"])
            if submitted.get(key, 0) > client_submits.get(key, 0):
                client_submits[key] += 1
    submits_duplicated = [k for k, n in submitted.items() if n > client_submits.get(k, 0)]

    touched = set(events.filter(action__in=(*CHANGE_ACTIONS, "sample.submitted"))
                  .values_list("sample_id", flat=True))
    bumps = Counter(Event.objects.filter(sample_id__in=touched, action__in=BUMPING).values_list("sample_id", flat=True))
    versions = dict(Sample.objects.filter(pk__in=touched).values_list("pk", "version"))
    version_mismatch = sorted(s for s in touched if versions[s] != 1 + bumps.get(s, 0))

    last_snapshot: dict[int, dict] = {}
    for tid, after in (Event.objects.filter(sample_id__in=touched, trigger__isnull=False)
                       .exclude(action="trigger.moved").order_by("id").values_list("trigger_id", "after")):
        last_snapshot[tid] = after or {}
    trigger_mismatch = []
    for t in Trigger.objects.filter(pk__in=last_snapshot).values("id", "text", "fate", "category", "kind", "explicit"):
        snap = last_snapshot[t["id"]]
        if any(snap.get(k) != t[k] for k in ("text", "fate", "category", "kind", "explicit")):
            trigger_mismatch.append(t["id"])
    positions = Counter(Trigger.objects.filter(sample_id__in=touched, fate="kept")
                        .values_list("sample_id", "position"))
    position_clash = sorted({s for (s, _p), n in positions.items() if n > 1})

    leased = defaultdict(set)
    for sid, p, who in events.filter(action="assignment.leased").values_list("sample_id", "pass_number", "actor_id"):
        leased[(sid, p)].add(who)
    two_by_events = sorted(k for k, who in leased.items() if len(who) > 1)
    seen_by = defaultdict(set)
    for sid, p, who, _t in rec.given:
        seen_by[(sid, p)].add(who)
    two_by_clients = sorted(k for k, who in seen_by.items() if len(who) > 1)
    ratings = rating_checks(rec, events)
    return {
        **ratings,
        "changes_seen": len(rec.changes), "change_events": len(change_events), "lost": len(lost),
        "mismatched": len(mismatched), "duplicated": len(duplicated_claims) + len(unseen),
        "unseen_events": len(unseen), "ambiguous": len(rec.ambiguous),
        "ambiguous_resolved": len(resolved), "submits_seen": len(rec.submits), "submit_events": sum(submitted.values()),
        "submits_lost": len(submits_lost), "submits_duplicated": len(submits_duplicated),
        "samples_touched": len(touched), "version_mismatch": len(version_mismatch),
        "trigger_mismatch": len(trigger_mismatch), "position_clash": len(position_clash),
        "given_to_two_events": len(two_by_events), "given_to_two_clients": len(two_by_clients),
        "examples": {"lost": lost[:3], "mismatched": mismatched[:3], "unseen": unseen[:5],
                     "version_mismatch": version_mismatch[:5], "trigger_mismatch": trigger_mismatch[:5],
                     "given_to_two": (two_by_events or two_by_clients)[:5]},
    }


def rating_checks(rec: Recorder, events) -> dict:
    """Every rating a reviewer saw succeed is one Rating row (its assignment, reviewer and score) and one
    ``rating.submitted`` Event; no other rating was written."""
    try:
        from review.models import Rating
    except ImportError:
        return {"ratings_seen": 0, "rating_events": 0, "ratings_lost": 0, "ratings_duplicated": 0}
    submitted = [e["rating"] for e in events.filter(action="rating.submitted").values_list("after", flat=True)]
    rows = {r["id"]: r for r in Rating.objects.filter(pk__in=submitted).values("id", "assignment_id", "reviewer_id",
                                                                                 "score")}
    by_assignment = Counter(r["assignment_id"] for r in rows.values())
    lost = [c for c in rec.ratings if not any(r["assignment_id"] == c["assignment"] and r["score"] == c["score"]
                                              and r["reviewer_id"] == c["user_id"] for r in rows.values())]
    seen = Counter(c["assignment"] for c in rec.ratings)
    duplicated = sum(1 for a, n in by_assignment.items() if n > seen.get(a, 0))
    return {"ratings_seen": len(rec.ratings), "rating_events": len(submitted), "ratings_lost": len(lost),
            "ratings_duplicated": duplicated + max(0, len(submitted) - len(rows))}


def percentile(values, q):
    values = sorted(values)
    if not values:
        return None
    k = (len(values) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(values) - 1)
    return values[lo] + (values[hi] - values[lo]) * (k - lo)


def endpoint_table(rec: Recorder) -> list[dict]:
    rows = []
    for name in sorted(rec.times, key=lambda n: -len(rec.times[n])):
        t = rec.times[name]
        rows.append({"endpoint": name, "requests": len(t), "p50_ms": round(percentile(t, 0.5), 1),
                     "p95_ms": round(percentile(t, 0.95), 1), "p99_ms": round(percentile(t, 0.99), 1),
                     "max_ms": round(max(t), 1), "statuses": dict(sorted(rec.statuses[name].items()))})
    return rows


def failures(result: dict) -> list[str]:
    c, bad = result["checks"], []
    if result.get("fault"):
        bad += fault_failures(result["fault"])
    elif result["server_errors"]:
        bad.append(f"{result['server_errors']} server errors (5xx)")
    if result["server_tracebacks"]:
        bad.append(f"{result['server_tracebacks']} tracebacks in the server log")
    for key in ("lost", "mismatched", "duplicated", "submits_lost", "submits_duplicated", "version_mismatch",
                "trigger_mismatch", "position_clash", "given_to_two_events", "given_to_two_clients",
                "ratings_lost", "ratings_duplicated"):
        if c[key]:
            bad.append(f"{key.replace('_', ' ')}: {c[key]}")
    if result["conflicts"] > c.get("ambiguous", 0):
        bad.append(f"{result['conflicts']} unexpected 409 conflicts")
    if result["problems"]:
        bad.append(f"{len(result['problems'])} client problems (first: {result['problems'][0][:200]})")
    if not c["changes_seen"] or not c["submits_seen"]:
        bad.append("no work was done")
    return bad


def machine() -> dict:
    try:
        cpuinfo = Path("/proc/cpuinfo").read_text().splitlines()
        cpu = next(line.split(":", 1)[1].strip() for line in cpuinfo if line.startswith("model name"))
    except (OSError, StopIteration):
        cpu = platform.processor()
    try:
        meminfo = Path("/proc/meminfo").read_text().splitlines()
        mem = int(next(line.split()[1] for line in meminfo if line.startswith("MemTotal"))) // 1024
    except (OSError, StopIteration):
        mem = 0
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                            check=False).stdout.strip()
    dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT, capture_output=True,
                           text=True, check=False).stdout.strip()
    return {"cpu": cpu, "cores": os.cpu_count(), "ram_mib": mem, "python": platform.python_version(),
            "commit": commit + ("+dirty" if dirty else ""), "load_average": [round(x, 2) for x in os.getloadavg()],
            "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")}


def markdown(result: dict) -> str:
    m, a, c = result["machine"], result["args"], result["checks"]
    lines = [
        f"Command: `{result['command']}`  ",
        f"Machine: {m['cpu']}, {m['cores']} cores, {m['ram_mib']:,} MiB; Python {m['python']}; {result['database']}; "
        f"commit {m['commit']}; {m['date']}  ",
        f"Load average before: {' / '.join(map(str, result['load_before']))}, after: "
        f"{' / '.join(map(str, m['load_average']))}  ",
        f"Server: {result['server']}; project of {a['samples']:,} samples; {a['annotators']} annotators + "
        f"{a['reviewers']} reviewers for {a['duration']:.0f} s (arriving over {a['ramp']:.0f} s), think time "
        f"{a['think']} s (0.5-1.5 ×)  ",
        f"Phases: sign-in {result['phases'].get('sign-in', 0):.0f} s (everyone signs in, arriving over the ramp), "
        f"then work {result['phases'].get('work', 0):.0f} s: {result['work_requests']:,} requests "
        f"({result['work_requests'] / max(result['phases'].get('work', 0), 1):.1f} req/s), "
        f"{c['changes_seen']:,} changes and {c['submits_seen']:,} submits seen by the clients",
        "",
        "| endpoint | requests | p50 ms | p95 ms | p99 ms | max ms | statuses |",
        "| --- | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for r in result["endpoints"]:
        statuses = ", ".join(f"{k}×{v}" for k, v in r["statuses"].items())
        lines.append(f"| {r['endpoint']} | {r['requests']:,} | {r['p50_ms']} | {r['p95_ms']} | {r['p99_ms']} | "
                     f"{r['max_ms']} | {statuses} |")
    lines += [
        "",
        "| check | result |",
        "| --- | --- |",
        f"| server errors (5xx) | {result['server_errors']} (tracebacks in the server log: "
        f"{result['server_tracebacks']}) |",
        f"| changes seen by clients → change Events | {c['changes_seen']:,} → {c['change_events']:,} |",
        f"| lost (seen, no matching Event) | {c['lost']} (mismatched: {c['mismatched']}) |",
        f"| duplicated (Events no client saw, or claimed twice) | {c['duplicated']} |",
        f"| submits seen → `sample.submitted` Events | {c['submits_seen']:,} → {c['submit_events']:,} "
        f"(lost {c['submits_lost']}, duplicated {c['submits_duplicated']}) |",
        f"| sample version = 1 + its version-bumping Events | {c['samples_touched'] - c['version_mismatch']:,} of "
        f"{c['samples_touched']:,} touched samples |",
        f"| trigger rows = their last Event's snapshot | {c['trigger_mismatch']} mismatches; kept positions "
        f"clashing: {c['position_clash']} |",
        f"| ratings seen by reviewers → `rating.submitted` Events | {c['ratings_seen']:,} → "
        f"{c['rating_events']:,} (lost {c['ratings_lost']}, duplicated {c['ratings_duplicated']}) |",
        f"| a sample given to two annotators in one pass | events: {c['given_to_two_events']}, "
        f"clients: {c['given_to_two_clients']} |",
        f"| unexpected 409 conflicts | {result['conflicts']} |",
        f"| client problems | {len(result['problems'])} |",
        "",
    ]
    f = result.get("fault")
    if f and "error" not in f:
        lines += [
            "",
            f"PostgreSQL crashed (`pg_ctl stop -m immediate`) {a.get('fault_at')} s into the work phase and came back "
            f"{f['outage_s']} s later; the web server was not restarted.",
            "",
            "| fault check | result |",
            "| --- | --- |",
            f"| requests answered 503 (database unavailable) | {f['unavailable_503']} (retried by the person: "
            f"{f['retried']}) |",
            f"| 503s offering a retry | {f['offered_retry']} of {f['unavailable_503']} |",
            f"| htmx 503s shown in `#unavailable` (form left as it was) | {f['htmx_503_retargeted']} of "
            f"{f['htmx_503']} |",
            f"| other 5xx / 503 outside the outage / errors after recovery | {f['other_5xx']} / {f['late_503']} / "
            f"{f['errors_after_recovery']} |",
            f"| first change saved after the restart | {f['first_save_after_up_s']} s after it "
            f"({f['saves_after_up']} saves after it) |",
            f"| retried changes that had gone through (shown as a conflict, one Event each) | {f['ambiguous']} |",
        ]
    lines += ["", f"**Verdict: {'PASS' if not result['failures'] else 'FAIL: ' + '; '.join(result['failures'])}**"]
    return "\n".join(lines) + "\n"


def summarise(rec: Recorder, checks: dict, *, args, server: Server | None, elapsed: float, load_before,
              command: str, database: str, fault: dict | None = None) -> dict:
    log = server.log() if server else ""
    endpoints = endpoint_table(rec)
    result = {
        "command": command, "machine": machine(), "load_before": load_before, "database": database,
        "server": server.describe() if server else "", "args": {k: getattr(args, k) for k in (
            "samples", "annotators", "reviewers", "duration", "ramp", "think", "workers", "threads", "profile",
        "fault_at", "fault_down")},
        "elapsed_s": round(elapsed, 1), "phases": rec.phases, "requests": sum(r["requests"] for r in endpoints),
        "work_requests": sum(r["requests"] for r in endpoints if not r["endpoint"].startswith("sign")),
        "endpoints": endpoints,
        "server_errors": sum(n for r in endpoints for s, n in r["statuses"].items() if 500 <= s < 600),
        "server_tracebacks": log.count("Traceback (most recent call last)"),
        "conflicts": sum(r["statuses"].get(409, 0) for r in endpoints),
        "retries": dict(rec.retries), "checks": checks, "problems": rec.problems, "fault": fault,
    }
    if fault:  # the log has a warning per 503, and the tracebacks of the connections that died under a request
        result["server_tracebacks"] = 0
    result["failures"] = failures(result)
    return result


def database_version() -> str:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        return f"PostgreSQL {cursor.fetchone()[0].split()[0]}"


def main(argv=None) -> int:
    args = parse_args(argv)
    command = "bench/load.py " + " ".join(sys.argv[1:] if argv is None else argv)
    log_dir = Path(args.log_dir)
    pg = None
    if args.fault:
        from bench.throwaway import ThrowawayPostgres

        pg = ThrowawayPostgres().init().start()
        args.database_url = pg.create_database("eis_fault_bench")
        print(f"throwaway PostgreSQL on port {pg.port} ({pg.base})")
    elif not args.reuse:
        recreate_database(args.database_url)
    try:
        return run(args, command, log_dir, pg)
    finally:
        if pg:
            pg.destroy()


def run(args, command: str, log_dir: Path, pg) -> int:
    setup_django(args.database_url)
    from annotator.models import Event, Project

    if args.reuse and Project.objects.filter(name=PROJECT).exists():
        from django.contrib.auth import get_user_model
        from django.core.management import call_command

        call_command("migrate", verbosity=0, interactive=False)
        project = Project.objects.get(name=PROJECT)
        add_members(project, get_user_model().objects.filter(username__startswith="load-"))
        project_id = project.pk
        args.samples = project.samples.count()
        print(f"reusing the project in {args.database_url}")
    else:
        built = build(args.samples, args.annotators, args.reviewers, seed=args.seed)
        project_id = built["project"]
        print(f"built {args.samples:,} samples, {args.annotators} annotators, {args.reviewers} reviewers "
              f"in {built['seconds']} s")
    if args.build_only:
        return 0
    annotators, reviewers = people_for(project_id)
    annotators, reviewers = annotators[:args.annotators], reviewers[:args.reviewers]
    first_event = Event.objects.order_by("-id").values_list("id", flat=True).first() or 0
    from django.db import connection

    connection.close()
    server = Server(args.database_url, log_dir, workers=args.workers, threads=args.threads,
                    redis_url=args.redis_url).start()
    print(f"{server.describe()} on {server.base}; {len(annotators)} annotators + {len(reviewers)} reviewers "
          f"for {args.duration:.0f} s", flush=True)
    load_before = [round(x, 2) for x in os.getloadavg()]
    t0 = time.monotonic()
    fault = PostgresRestart(pg, args.fault_at, args.fault_down) if pg else None
    try:
        rec = drive(server.base, project_id, annotators, reviewers, duration=args.duration, ramp=args.ramp,
                    think=args.think, seed=args.seed, on_start=fault.start if fault else None)
    finally:
        elapsed = time.monotonic() - t0
        if fault:
            fault.join(60)
        server.stop()
    checks = verify(rec, project_id, first_event)
    result = summarise(rec, checks, args=args, server=server, elapsed=elapsed, load_before=load_before,
                       command=command, database=database_version(),
                       fault=fault_outcome(rec, fault) if fault else None)
    report = markdown(result)
    print(report)
    for path, text in ((args.out, report), (args.json, json.dumps(result, indent=1, default=str))):
        if path:
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            Path(path).write_text(text)
    return 1 if args.strict and result["failures"] else 0


if __name__ == "__main__":
    sys.exit(main())
