"""Annotation workspace benchmark: server time and SQL queries per pass-screen request and per trigger change,
as the project grows (PostgreSQL).

It builds one project of N samples (5 model triggers each, samples spread over passes 1-3, assignments for four
annotators from each sample's pass to pass 3, one event per sample), then drives the real views in-process with
Django's test client (full middleware stack, sessions, templates; no network), signed in as an annotator:

- ``pass screen``: ``GET /work/samples/<id>/`` (the whole page) on random samples of the annotator's queue;
- ``pass partial``: the same as an htmx request for ``#work``;
- ``trigger change``: ``POST /work/samples/<id>/edit/`` (htmx; lease check, version check, Event, re-render);
- ``next``: ``POST /work/projects/<id>/next/<pass>/`` (lease with SELECT ... FOR UPDATE SKIP LOCKED).

Then it grows the same project to the next N and measures again, so the table shows what changes with size.
Timings are wall times around the in-process request (``time.perf_counter``), i.e. server time; queries are
counted in a separate run with ``CaptureQueriesContext``.

    .venv/bin/python bench/workspace.py --samples 1000,100000 --requests 300 --out bench/workspace.md

It owns its database: ``--database-url`` (default ``postgres://postgres@127.0.0.1:5432/eis_ws_bench``; the name
must contain "bench"); the database is dropped and recreated at start.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import shlex
import statistics
import subprocess
import sys
import time
import timeit
from pathlib import Path
from urllib.parse import unquote, urlsplit

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/eis_ws_bench"
TARGET_P95_MS = 15.0
TRIGGERS = ["Broad smile on his face.", "Friends cheering around him.", "A trophy raised above his head.",
            "Confetti falling in a stadium.", "His arms stretched wide open."]
ANNOTATORS = 4


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--samples", default="1000,100000", help="project sizes, grown in order (default 1000,100000)")
    p.add_argument("--requests", type=int, default=300, help="timed requests per measure (default 300)")
    p.add_argument("--warmup", type=int, default=30)
    p.add_argument("--database-url", default=os.environ.get("BENCH_WORKSPACE_DATABASE_URL", DEFAULT_URL))
    p.add_argument("--out", help="also write the Markdown table here")
    p.add_argument("--json", help="also write the figures as JSON here")
    p.add_argument("--seed", type=int, default=1)
    args = p.parse_args(argv)
    args.sizes = sorted({int(x.replace("_", "")) for x in args.samples.split(",") if x.strip()})
    if "bench" not in unquote(urlsplit(args.database_url).path):
        p.error("the benchmark database's name must contain 'bench' (it is dropped and recreated)")
    return args


def recreate_database(url: str) -> None:
    import psycopg
    from psycopg import sql

    parts = urlsplit(url)
    dbname = unquote(parts.path.lstrip("/"))
    conninfo = {"host": parts.hostname or "127.0.0.1", "port": parts.port or 5432,
                "user": unquote(parts.username or "postgres")}
    if parts.password:
        conninfo["password"] = unquote(parts.password)
    with psycopg.connect(dbname="postgres", autocommit=True, **conninfo) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(dbname)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(dbname)))


def setup_django(url: str) -> None:
    os.environ["DATABASE_URL"] = url
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    os.environ.setdefault("ALLOWED_HOSTS", "testserver,localhost,127.0.0.1")
    os.environ.setdefault("EISTUDIO_VAR_DIR", "/tmp/eis-ws-bench-var")
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)


def copy_rows(model, columns, rows) -> int:
    from django.db import connection

    quoted = ", ".join(f'"{c}"' for c in columns)
    n = 0
    with connection.cursor() as cursor, cursor.cursor.copy(
            f'COPY "{model._meta.db_table}" ({quoted}) FROM STDIN') as copy:
        for row in rows:
            copy.write_row(row)
            n += 1
    return n


def next_id(model) -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f'SELECT COALESCE(MAX(id), 0) + 1 FROM "{model._meta.db_table}"')
        return cursor.fetchone()[0]


def reset_sequences(*models) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        for model in models:
            table = model._meta.db_table
            cursor.execute(f"SELECT setval(pg_get_serial_sequence('\"{table}\"', 'id'), "
                           f"(SELECT COALESCE(MAX(id), 1) FROM \"{table}\"))")


def grow(project, users, lead, start: int, stop: int) -> None:
    """Add samples ``start``..``stop``-1 with triggers, assignments and one event each (COPY)."""
    from django.db import transaction
    from django.utils import timezone

    from annotator.models import Assignment, Event, Image, Sample, Trigger

    now = timezone.now()
    with transaction.atomic():
        image0, sample0 = next_id(Image), next_id(Sample)
        count = stop - start
        copy_rows(Image, ["id", "project_id", "dataset_key", "file", "sha256", "width", "height"], (
            (image0 + i, project.pk, f"Bench/Happy/{start + i:07d}.png", "", "", 640, 480) for i in range(count)))
        copy_rows(Sample, ["id", "project_id", "image_id", "kind", "question", "emotion", "state", "ordinal",
                           "version", "error", "created_at", "updated_at"], (
            (sample0 + i, project.pk, image0 + i, "basic", "What might have caused the man to look happy?", "happy",
             f"pass{(start + i) % 3 + 1}", start + i, 2, "", now, now) for i in range(count)))
        copy_rows(Trigger, ["sample_id", "text", "position", "kind", "category", "explicit", "origin", "fate",
                            "created_at"], (
            (sample0 + i, text, p, "phys", "Facial Expressions", True, "model", "kept", now)
            for i in range(count) for p, text in enumerate(TRIGGERS, start=1)))
        copy_rows(Assignment, ["project_id", "sample_id", "annotator_id", "pass_number", "status", "overlap",
                               "skip_reason", "notes", "created_at"], (
            (project.pk, sample0 + i, users[(start + i + p) % len(users)].pk, p, "open", False, "", "[]", now)
            for i in range(count) for p in range((start + i) % 3 + 1, 4)))
        copy_rows(Event, ["project_id", "sample_id", "actor_id", "action", "pass_number", "before", "after",
                          "created_at"], (
            (project.pk, sample0 + i, lead.pk, "sample.queued", 1, '{"state": "labelled"}', '{"state": "pass1"}',
             now) for i in range(count)))
        reset_sequences(Image, Sample, Trigger, Assignment, Event)
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def percentile(values, q):
    values = sorted(values)
    k = (len(values) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(values) - 1)
    return values[lo] + (values[hi] - values[lo]) * (k - lo)


def measure(args, project, user, n):
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from annotator.models import Assignment, Sample, Trigger

    rng = random.Random(args.seed + n)
    client = Client()
    client.force_login(user)
    mine = list(Assignment.objects.filter(project=project, annotator=user, status="open",
                                          sample__state__in=["pass1", "pass2", "pass3"])
                .extra(where=["annotator_sample.state = 'pass' || annotator_assignment.pass_number"])
                .values_list("sample_id", flat=True))
    hx = {"HTTP_HX_REQUEST": "true"}
    hx_work = {**hx, "HTTP_HX_TARGET": "work"}

    def pick():
        return rng.choice(mine)

    def screen():
        sid = pick()
        return lambda: client.get(f"/work/samples/{sid}/")

    def partial():
        sid = pick()
        return lambda: client.get(f"/work/samples/{sid}/", **hx_work)

    def change():
        sid = pick()
        sample = Sample.objects.only("version").get(pk=sid)
        trigger = Trigger.objects.filter(sample_id=sid).values_list("id", flat=True).first()
        data = {"trigger": trigger, "version": sample.version, "text": f"Edited {rng.random():.6f}"}
        return lambda: client.post(f"/work/samples/{sid}/edit/", data, **hx)

    def take_next():
        pass_number = rng.choice([1, 2, 3])
        return lambda: client.post(f"/work/projects/{project.pk}/next/{pass_number}/", {"after": pick()})

    results = {}
    for name, prepare in (("pass screen (GET page)", screen), ("pass screen (htmx partial)", partial),
                          ("trigger change (POST edit)", change), ("next (lease)", take_next)):
        for _ in range(args.warmup):
            prepare()()
        times, statuses = [], set()
        for _ in range(args.requests):
            request = prepare()
            t0 = time.perf_counter()
            response = request()
            times.append((time.perf_counter() - t0) * 1000)
            statuses.add(response.status_code)
        queries = []
        for _ in range(20):
            request = prepare()
            with CaptureQueriesContext(connection) as ctx:
                request()
            queries.append(len(ctx))
        results[name] = {"p50_ms": round(statistics.median(times), 2), "p95_ms": round(percentile(times, 0.95), 2),
                         "max_ms": round(max(times), 2), "queries_min": min(queries), "queries_max": max(queries),
                         "statuses": sorted(statuses), "requests": len(times)}
    return results


def main(argv=None) -> int:
    args = parse_args(argv)
    recreate_database(args.database_url)
    setup_django(args.database_url)
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group

    from annotator.models import Project, Sample, Trigger
    from annotator.roles import ANNOTATOR, LEAD, ensure_role_groups

    ensure_role_groups()
    User = get_user_model()
    users = []
    for i in range(ANNOTATORS):
        u = User.objects.create_user(f"bench-ann{i}", password="x")
        u.groups.add(Group.objects.get(name=ANNOTATOR))
        users.append(u)
    lead = User.objects.create_user("bench-lead", password="x")
    lead.groups.add(Group.objects.get(name=LEAD))
    project = Project.objects.create(name="Workspace bench")
    from annotator.models import ProjectMember  # only members see a project

    ProjectMember.objects.bulk_create([ProjectMember(project=project, user=lead, role="lead")]
                                      + [ProjectMember(project=project, user=u, role="annotator") for u in users])

    load = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    from bench.run import machine

    info = machine()
    # how fast this machine runs plain Python: the figures scale with it (pages are Python-bound)
    python_ms = min(timeit.repeat("sum(range(10**7))", number=1, repeat=5)) * 1000
    figures, have = {}, 0
    for n in args.sizes:
        t0 = time.perf_counter()
        grow(project, users, lead, have, n)
        have = n
        build_s = time.perf_counter() - t0
        print(f"built {n:,} samples ({Trigger.objects.filter(sample__project=project).count():,} triggers) "
              f"in {build_s:.1f} s; measuring...", file=sys.stderr)
        figures[n] = measure(args, project, users[0], n)
        assert Sample.objects.filter(project=project).count() == n

    names = list(next(iter(figures.values())))
    lines = [f"Command: `{shlex.join(sys.orig_argv)}`  ",
             f"Machine: {info['cpu']}, {info['cores']} cores, {info['ram_gib']} GiB RAM; Python {info['python']} "
             f"(`sum(range(10**7))`: {python_ms:.0f} ms), Django {info['django']}, {info['database']} "
             f"({info['driver']}); commit {info['commit']}  ",
             f"Workspace server time on PostgreSQL, {args.requests} requests each (in-process Django test client: "
             f"middleware, session, views, templates; no network). Load at start: `{load}`", "",
             "| request | " + " | ".join(f"{n:,} samples: p50 / p95 ms, queries" for n in args.sizes) + " |",
             "|---|" + "---|" * len(args.sizes)]
    for name in names:
        cells = []
        for n in args.sizes:
            r = figures[n][name]
            q = str(r["queries_min"]) if r["queries_min"] == r["queries_max"] else \
                f"{r['queries_min']}-{r['queries_max']}"
            cells.append(f"{r['p50_ms']} / **{r['p95_ms']}**, {q}")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    worst = max(r["p95_ms"] for f in figures.values() for r in f.values())
    flat = all(len({figures[n][name]["queries_max"] for n in args.sizes}) == 1 for name in names)
    lines += ["", f"Target: p95 ≤ {TARGET_P95_MS} ms → worst p95 {worst} ms: "
              f"{'met' if worst <= TARGET_P95_MS else 'NOT met'}; query counts "
              f"{'the same at every size' if flat else 'DIFFER between sizes'}."]
    table = "\n".join(lines)
    print(table)
    if args.out:
        Path(args.out).write_text(table + "\n")
    if args.json:
        Path(args.json).write_text(json.dumps({"command": sys.orig_argv, "machine": info, "python_ms": python_ms,
                                               "load": load, "figures": figures}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
