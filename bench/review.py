"""Review dashboard benchmark: how long the lead's quality and agreement figures take, cold and cached, and how
many SQL queries, as the number of rated quality samples grows (PostgreSQL by default).

For each N it builds one project of N refined samples rated by 3 reviewers each (from a pool of 5; scores around
4, a few below 3), with what the other dashboard sections read: 4 model triggers per sample (some removed as
hallucination / irrelevant) proposed by two models and prompt versions through pipeline runs, annotator-added
triggers, three passes done per sample by 4 annotators over 30 days, and 10% overlap samples done by a second
annotator in each pass with their trigger events (so annotator agreement replays real event logs).

Then it measures, with the real code:

- ``figures (cold)``: ``review.dashboard.compute`` (every section, no cache) and each section on its own;
- ``dashboard page (cold)`` / ``(cached)``: ``GET /projects/<id>/review/dashboard/`` as the lead through the
  Django test client (middleware, session, views, templates, SVG charts; no network), cache cleared / warm;
- ``agreement_report --json``: the management command, in-process;
- ``lead review page``: ``GET /projects/<id>/review/`` (the quality-sample table, 50 a page).

Each timing is the median of ``--repeat`` runs (wall time, ``time.perf_counter``); queries are counted once with
``CaptureQueriesContext``.

    .venv/bin/python bench/review.py --samples 200,10000 --out bench/review.md

It owns its database: ``--database-url`` (default ``postgres://postgres@127.0.0.1:5432/h_review_bench``; the name
must contain "bench"); the database is dropped and recreated at start.
"""
from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path
from urllib.parse import unquote, urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.run import machine  # noqa: E402
from bench.workspace import recreate_database, setup_django  # noqa: E402

DEFAULT_URL = "postgres://postgres@127.0.0.1:5432/h_review_bench"
EMOTIONS = ["angry", "sad", "excited", "happy"]
TRIGGERS = ["Broad smile on his face.", "Friends cheering around him.", "A trophy raised above his head.",
            "Confetti falling in a stadium."]
TARGET_200_S = 1.0


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--samples", default="200,10000", help="quality samples per project (default 200,10000)")
    p.add_argument("--reviewers-per-item", type=int, default=3)
    p.add_argument("--repeat", type=int, default=5, help="timed runs per measure; the median is shown")
    p.add_argument("--database-url", default=DEFAULT_URL)
    p.add_argument("--out", help="also write the Markdown report here")
    p.add_argument("--json", help="also write the figures as JSON here")
    p.add_argument("--seed", type=int, default=1)
    args = p.parse_args(argv)
    args.sizes = sorted({int(x.replace("_", "")) for x in args.samples.split(",") if x.strip()})
    if "bench" not in unquote(urlsplit(args.database_url).path):
        p.error("the benchmark database's name must contain 'bench' (it is dropped and recreated)")
    return args


def build(n: int, people: dict, rng: random.Random, k: int):
    """One project of ``n`` rated quality samples and the data the other dashboard sections read."""
    from django.db import transaction
    from django.utils import timezone

    from annotator.models import Assignment, Event, Image, Project, ProjectMember, Sample, Trigger
    from pipeline.models import ModelProposal, PipelineRun, PromptVersion, StageTrace
    from review.models import Draw, QualitySample, Rating, ReviewAssignment

    now = timezone.now()
    with transaction.atomic():
        project = Project.objects.create(name=f"Review bench {n}")
        ProjectMember.objects.bulk_create(
            [ProjectMember(project=project, user=people["lead"], role="lead")]
            + [ProjectMember(project=project, user=u, role="reviewer") for u in people["reviewers"]]
            + [ProjectMember(project=project, user=u, role="annotator") for u in people["annotators"]])
        images = Image.objects.bulk_create([Image(project=project, dataset_key=f"{EMOTIONS[i % 4].title()}/{i:06d}.png")
                                            for i in range(n)], batch_size=5000)
        samples = Sample.objects.bulk_create([
            Sample(project=project, image=images[i], kind="basic", emotion=EMOTIONS[i % 4], ordinal=i,
                   truth_ordinal=i, state="rated", question=f"What might have caused the person to look "
                                                            f"{EMOTIONS[i % 4]}?") for i in range(n)],
            batch_size=5000)
        triggers = []
        for s in samples:
            for p, text in enumerate(TRIGGERS, start=1):
                fate = rng.choices(["kept", "hallucination", "irrelevant"], [0.8, 0.12, 0.08])[0]
                triggers.append(Trigger(sample=s, text=text, position=p, origin="model", fate=fate,
                                        category="Objects"))
            if rng.random() < 0.5:
                triggers.append(Trigger(sample=s, text="He has just won the final.", position=5, origin="annotator",
                                        category=rng.choice(["Sports", "Social Interactions", "Atmosphere"])))
        triggers = Trigger.objects.bulk_create(triggers, batch_size=10000)
        by_sample: dict[int, list] = {}
        for t in triggers:
            by_sample.setdefault(t.sample_id, []).append(t)

        # pipeline: two prompt versions, two models, one stage-4 trace per sample, a proposal per model trigger
        runs = []
        for number, model in ((1, "llava-hf/llava-v1.6-34b"), (2, "Qwen/Qwen2-VL-7B-Instruct")):
            version = PromptVersion.objects.create(project=project, number=number, config={})
            runs.append((PipelineRun.objects.create(project=project, prompt_version=version, config={},
                                                    status="done", total=n // 2), model))
        traces = StageTrace.objects.bulk_create([
            StageTrace(run=runs[i % 2][0], sample=s, stage="summarise", step=0, role="llm", model=runs[i % 2][1],
                       prompt="...", reply="...") for i, s in enumerate(samples)], batch_size=5000)
        ModelProposal.objects.bulk_create([
            ModelProposal(trigger=t, run=runs[i % 2][0], trace=traces[i])
            for i, s in enumerate(samples) for t in by_sample[s.pk] if t.origin == "model"], batch_size=10000)

        # three passes per sample, 4 annotators, 30 days; 10% done by a second annotator in each pass
        anns = people["annotators"]
        assignments, events = [], []
        for i, s in enumerate(samples):
            overlap = i % 10 == 0
            for p in (1, 2, 3):
                who = [anns[(i + p) % 4]] + ([anns[(i + p + 1) % 4]] if overlap else [])
                for j, a in enumerate(who):
                    done = now - timedelta(days=rng.randrange(30), minutes=rng.randrange(600))
                    assignments.append(Assignment(project=project, sample=s, annotator=a, pass_number=p,
                                                  status="done", overlap=j == 1, started_at=done, finished_at=done,
                                                  work_seconds=rng.randrange(20, 200)))
                    if overlap:
                        for t in by_sample[s.pk]:
                            if t.origin == "model" and (p in (1, 3)) and rng.random() < 0.2:
                                events.append(Event(project=project, sample=s, trigger=t, actor=a,
                                                    action="trigger.removed", pass_number=p,
                                                    after={"fate": "hallucination" if p == 1 else "irrelevant"}))
                        events.append(Event(project=project, sample=s, actor=a, action="sample.submitted",
                                            pass_number=p, after={"state": f"pass{p + 1}" if p < 3 else "refined"}))
        Assignment.objects.bulk_create(assignments, batch_size=10000)
        Event.objects.bulk_create(events, batch_size=10000)

        # the draw: every sample, k reviewers each, all rated
        draw = Draw.objects.create(project=project, seed=1, per_emotion=n // 4, reviewers_per_item=k,
                                   emotions=EMOTIONS, reviewers=[u.pk for u in people["reviewers"]],
                                   created_by=people["lead"])
        items = QualitySample.objects.bulk_create([
            QualitySample(draw=draw, project=project, sample=s, emotion=s.emotion, status="passed")
            for s in samples], batch_size=5000)
        pool = people["reviewers"]
        plan = [(q, pool[(i + j) % len(pool)]) for i, q in enumerate(items) for j in range(k)]
        ras = ReviewAssignment.objects.bulk_create([
            ReviewAssignment(quality_sample=q, project=project, reviewer=r, status="done", finished_at=now)
            for q, r in plan], batch_size=10000)
        ratings = []
        for a, (q, r) in zip(ras, plan, strict=True):
            score = max(0, min(5, round(rng.gauss(4.1, 0.8))))
            ratings.append(Rating(quality_sample=q, project=project, assignment=a, reviewer=r, rater=r.username,
                                  score=score, note="" if score >= 3 else "missing trigger"))
        Rating.objects.bulk_create(ratings, batch_size=10000)
        Event.objects.create(project=project, actor=people["lead"], action="review.drawn", after={"draw": draw.pk})
    return project


def timed(fn, repeat: int) -> tuple[float, list[float]]:
    runs = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - t0)
    return statistics.median(runs), runs


def queries(fn) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as ctx:
        fn()
    return len(ctx)


def measure(project, lead, repeat: int) -> dict:
    import io

    from django.core.cache import cache
    from django.core.management import call_command
    from django.test import Client

    from review import dashboard

    client = Client()
    client.force_login(lead)
    page = f"/projects/{project.pk}/review/dashboard/"
    review_page = f"/projects/{project.pk}/review/"

    def cold_page():
        cache.clear()
        assert client.get(page).status_code == 200

    def warm_page():
        assert client.get(page).status_code == 200

    def report():
        call_command("agreement_report", "--project", project.name, "--json", stdout=io.StringIO())

    rows = dashboard.rating_rows(project)
    sections = {
        "· ratings, alpha, kappa, ICC": lambda: dashboard.rating_figures(project, dashboard.rating_rows(project)),
        "· annotator agreement": lambda: dashboard.annotator_agreement(project),
        "· pipeline quality": lambda: dashboard.pipeline_quality(project),
        "· triggers added": lambda: dashboard.added_triggers(project),
        "· throughput": lambda: dashboard.throughput(project),
    }
    measures = {"figures (cold)": lambda: dashboard.compute(project), **sections,
                "dashboard page (cold)": cold_page, "dashboard page (cached)": warm_page,
                "agreement_report --json": report,
                "lead review page": lambda: client.get(review_page)}
    warm_page()  # sessions, templates, connection
    out = {}
    for name, fn in measures.items():
        if name == "dashboard page (cached)":
            warm_page()
        median, runs = timed(fn, repeat)
        if name == "dashboard page (cached)":
            q = queries(warm_page)
        elif name == "dashboard page (cold)":
            q = queries(cold_page)
        else:
            q = queries(fn)
        out[name] = {"median_s": median, "runs_s": runs, "queries": q}
    figures = dashboard.compute(project)
    out["_figures"] = {"ratings": len(rows), "alpha_ordinal": figures["agreement"]["alpha_ordinal"]["value"],
                       "alpha_interval": figures["agreement"]["alpha_interval"]["value"],
                       "fleiss_kappa": figures["agreement"]["fleiss_kappa"]["value"],
                       "icc": figures["agreement"]["icc"]["value"],
                       "overlap_units": figures["annotators"]["units"]}
    return out


def main(argv=None) -> int:
    args = parse_args(argv)
    recreate_database(args.database_url)
    setup_django(args.database_url)
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group

    from annotator.roles import ANNOTATOR, LEAD, REVIEWER, ensure_role_groups

    ensure_role_groups()
    User = get_user_model()

    def user(name, role):
        u = User.objects.create_user(name, password="x")
        u.groups.add(Group.objects.get(name=role))
        return u

    people = {"lead": user("bench-lead", LEAD), "reviewers": [user(f"bench-rev{i}", REVIEWER) for i in range(5)],
              "annotators": [user(f"bench-ann{i}", ANNOTATOR) for i in range(4)]}
    rng = random.Random(args.seed)
    figures = {}
    for n in args.sizes:
        t0 = time.perf_counter()
        project = build(n, people, rng, args.reviewers_per_item)
        from django.db import connection

        with connection.cursor() as cursor:  # fresh statistics, as autovacuum would have them
            cursor.execute("ANALYZE")
        print(f"built {n:,} quality samples x {args.reviewers_per_item} reviewers in "
              f"{time.perf_counter() - t0:.1f} s; measuring...", file=sys.stderr)
        figures[n] = measure(project, people["lead"], args.repeat)

    info = machine()
    command = " ".join(["python", "bench/review.py", *(argv if argv is not None else sys.argv[1:])])
    lines = [
        "# Review dashboard benchmark", "",
        f"Command: `{command}`  ",
        f"Machine: {info['cpu']}, {info['cores']} cores, {info['ram_gib']} GiB RAM, {info['os']}; Python "
        f"{info['python']}, Django {info['django']}, {info['database']} ({info['driver']}); commit {info['commit']}; "
        f"load average {info['load_average']}", "",
        f"Median of {args.repeat} runs (wall time, in-process: no network); {args.reviewers_per_item} ratings per "
        "quality sample; queries counted once.", "",
        "| measure | " + " | ".join(f"{n:,} samples: s | queries" for n in args.sizes) + " |",
        "|---|" + "---|---|" * len(args.sizes),
    ]
    for name in [k for k in figures[args.sizes[0]] if not k.startswith("_")]:
        cells = " | ".join(f"{figures[n][name]['median_s']:.3f} | {figures[n][name]['queries']}" for n in args.sizes)
        lines.append(f"| {name} | {cells} |")
    lines += ["", "Figures computed (sanity): " + "; ".join(
        f"N={n:,}: {figures[n]['_figures']['ratings']:,} ratings, alpha ordinal "
        f"{figures[n]['_figures']['alpha_ordinal']:.3f}, interval {figures[n]['_figures']['alpha_interval']:.3f}, "
        f"Fleiss {figures[n]['_figures']['fleiss_kappa']:.3f}, ICC {figures[n]['_figures']['icc']:.3f}, "
        f"{figures[n]['_figures']['overlap_units']:,} overlap units" for n in args.sizes)]
    checks = []
    if 200 in figures:
        cold = figures[200]["dashboard page (cold)"]["median_s"]
        checks.append(f"200 samples x {args.reviewers_per_item}: dashboard page cold {cold:.3f} s "
                      f"(target < {TARGET_200_S:.1f} s): {'ok' if cold < TARGET_200_S else 'MISSED'}")
    qs = {n: figures[n]["figures (cold)"]["queries"] for n in args.sizes}
    checks.append(f"queries of the figures constant in N: {qs} {'ok' if len(set(qs.values())) == 1 else 'GROWS'}")
    lines += ["", *[f"- {c}" for c in checks]]
    report = "\n".join(lines) + "\n"
    print(report)
    if args.out:
        Path(args.out).write_text(report)
    if args.json:
        Path(args.json).write_text(json.dumps({"command": command, "machine": info, "figures": {
            str(n): f for n, f in figures.items()}}, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
