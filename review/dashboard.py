"""The lead's quality and agreement figures: a fixed number of grouped queries whatever the project's size, the
statistics from :mod:`review.stats`, and a cache per group of sections keyed by what it depends on (the latest
rating and quality-sample change, the latest finished pass, the latest Event: every write in EI Studio writes
one), so a change recomputes only what it can affect and nothing stale is ever served.

Sections (each also a CSV download): ``categories`` (the human-check table), ``reviewers``, ``agreement``
(alpha ordinal / interval, Fleiss' kappa, ICC), ``annotators`` (overlap samples: alpha over keep/remove
decisions, alpha with MASI distance over the final trigger sets, mean pairwise F1, per pass), ``pipeline``
(model triggers removed per model and prompt version, from the providers in
``settings.EISTUDIO_MODEL_TRIGGER_STATS``), ``added`` (triggers annotators added per emotion category) and
``throughput`` (passes done per annotator per day).
"""
from __future__ import annotations

import csv
import io
from collections import defaultdict

from django.conf import settings
from django.core.cache import cache
from django.db.models import Count, F, Max, Q
from django.db.models.functions import TruncDate
from django.utils.module_loading import import_string

from annotator.models import Assignment, Event, Project, Sample, Trigger

from . import stats
from .models import Draw, QualitySample, Rating

CACHE_SECONDS = 24 * 3600
SECTIONS = ("categories", "reviewers", "agreement", "annotators", "pipeline", "added", "throughput")


def fingerprint(project: Project) -> str:
    """Changes whenever anything in the project changes (its latest Event id); the creation time guards against
    ids reused by another database (tests)."""
    last = Event.objects.filter(project=project).aggregate(m=Max("id"))["m"] or 0
    return f"{project.pk}:{project.created_at.timestamp():.6f}:{last}"


def _scope(project: Project, draw: int | None, source: str | None):
    ratings = Rating.objects.filter(project=project, round=F("quality_sample__round"))
    if draw:
        ratings = ratings.filter(quality_sample__draw_id=draw)
    if source in (Rating.Source.REVIEW, Rating.Source.IMPORTED):
        ratings = ratings.filter(source=source)
    return ratings


def rating_rows(project: Project, draw: int | None = None, source: str | None = None) -> list[tuple]:
    """``(emotion, quality sample id, rater, score)`` of every rating of the current round of each quality
    sample (older rounds — before a rework — are history). One query."""
    return list(_scope(project, draw, source).values_list("quality_sample__emotion", "quality_sample_id", "rater",
                                                          "score").order_by())


def rating_figures(project: Project, rows: list[tuple]) -> dict:
    triples = [(rater, item, score) for _e, item, rater, score in rows]
    by_emotion = defaultdict(list)
    for emotion, _i, _r, score in rows:
        by_emotion[emotion].append(score)
    categories = stats.category_table(rows, threshold=project.rework_threshold, emotions=project.emotions)
    for row in categories:
        scores = [s for e in by_emotion for s in by_emotion[e]] if row["emotion"] == "all" else by_emotion[
            row["emotion"]]
        row["histogram"] = stats.histogram(scores)
    return {
        "categories": categories,
        "reviewers": stats.reviewer_table(rows),
        "agreement": {
            "alpha_ordinal": stats.krippendorff_alpha(triples, "ordinal").as_dict(),
            "alpha_interval": stats.krippendorff_alpha(triples, "interval").as_dict(),
            "fleiss_kappa": stats.fleiss_kappa(triples).as_dict(),
            "icc": stats.icc(triples).as_dict(),
            "ratings": len(rows),
            "raters": len({r for _e, _i, r, _s in rows}),
        },
    }


def annotator_agreement(project: Project) -> dict:
    """Agreement of the two annotators of each overlap sample (``Assignment.overlap``), per pass and overall.
    Each annotator's result is the sample as they left it when they submitted the pass (the event log
    replayed); keep/remove decisions are over model triggers. Three queries."""
    done = Assignment.objects.filter(project=project, status=Assignment.Status.DONE)
    units = set(done.filter(overlap=True).values_list("sample_id", "pass_number"))
    if not units:
        return {"units": 0, "passes": [], "overall": None}
    samples = Assignment.objects.filter(project=project, overlap=True, status=Assignment.Status.DONE).values(
        "sample_id")
    triggers = Trigger.objects.filter(sample_id__in=samples).values_list("sample_id", "id", "origin").order_by()
    events = (Event.objects.filter(sample_id__in=samples, action__in=[*stats.FATE_ACTIONS, "sample.submitted"])
              .order_by("sample_id", "id")
              .values_list("sample_id", "id", "action", "pass_number", "actor_id", "trigger_id", "after"))
    decisions, kept_sets = stats.replay_passes(triggers.iterator(chunk_size=5000),
                                               events.iterator(chunk_size=5000), units)
    passes = []
    for p in (1, 2, 3, None):
        here = {u: v for u, v in decisions.items() if p is None or u[1] == p}
        sets = {u: v for u, v in kept_sets.items() if p is None or u[1] == p}
        keep_triples = [(actor, f"{u[0]}:{u[1]}:{t}", kept) for u, by in here.items() for actor, d in by.items()
                        for t, kept in d.items()]
        # elements scoped to their unit: sets of different units are disjoint (the fast MASI alpha relies on it)
        set_triples = [(actor, f"{u[0]}:{u[1]}", frozenset((f"{u[0]}:{u[1]}", t) for t in s))
                       for u, by in sets.items() for actor, s in by.items()]
        f1, f1_units = stats.mean_pairwise_f1(sets)
        row = {"pass": p or "all", "units": sum(1 for by in sets.values() if len(by) >= 2),
               "keep_remove_alpha": stats.krippendorff_alpha(keep_triples, "nominal").as_dict(),
               "masi_alpha": stats.krippendorff_alpha(set_triples, "masi").as_dict(),
               "mean_f1": f1, "f1_units": f1_units}
        if p is None:
            overall = row
        else:
            passes.append(row)
    return {"units": len(units), "passes": passes, "overall": overall}


def pipeline_quality(project: Project) -> dict:
    """Model triggers removed as hallucination / irrelevant, per model and prompt version (from the providers
    in settings.EISTUDIO_MODEL_TRIGGER_STATS), and a row for model triggers no run recorded."""
    totals = dict(Trigger.objects.filter(sample__project=project, origin=Trigger.Origin.MODEL)
                  .values_list("fate").annotate(n=Count("id")).values_list("fate", "n").order_by())
    rows = []
    for path in getattr(settings, "EISTUDIO_MODEL_TRIGGER_STATS", []):
        rows.extend(import_string(path)(project))
    recorded = {k: sum(r[k] for r in rows) for k in ("triggers", "kept", "hallucination", "irrelevant")}
    all_model = sum(totals.values())
    rest = {"triggers": all_model - recorded["triggers"],
            "kept": totals.get(Trigger.Fate.KEPT, 0) - recorded["kept"],
            "hallucination": totals.get(Trigger.Fate.HALLUCINATION, 0) - recorded["hallucination"],
            "irrelevant": totals.get(Trigger.Fate.IRRELEVANT, 0) - recorded["irrelevant"]}
    if rest["triggers"] > 0:
        rows.append({"model": "(no run recorded)", "prompt_version": None, **rest})
    for r in [*rows]:
        n = r["triggers"] or 0
        r["share_hallucination"] = r["hallucination"] / n if n else None
        r["share_irrelevant"] = r["irrelevant"] / n if n else None
        r["share_removed"] = (r["hallucination"] + r["irrelevant"]) / n if n else None
    total = {"model": "all", "prompt_version": None, "triggers": all_model,
             "kept": totals.get(Trigger.Fate.KEPT, 0), "hallucination": totals.get(Trigger.Fate.HALLUCINATION, 0),
             "irrelevant": totals.get(Trigger.Fate.IRRELEVANT, 0)}
    n = total["triggers"]
    total.update(share_hallucination=total["hallucination"] / n if n else None,
                 share_irrelevant=total["irrelevant"] / n if n else None,
                 share_removed=(total["hallucination"] + total["irrelevant"]) / n if n else None)
    return {"rows": rows, "total": total}


def added_triggers(project: Project) -> list[dict]:
    """Per emotion category: samples, triggers annotators added (and kept), per sample, by trigger category."""
    samples = dict(Sample.objects.filter(project=project).values_list("emotion").annotate(n=Count("id"))
                   .values_list("emotion", "n").order_by())
    added = (Trigger.objects.filter(sample__project=project, origin=Trigger.Origin.ANNOTATOR)
             .exclude(fate=Trigger.Fate.WITHDRAWN)
             .values_list("sample__emotion", "category").annotate(
                 n=Count("id"), kept=Count("id", filter=Q(fate=Trigger.Fate.KEPT))).order_by())
    by_emotion: dict[str, dict] = {}
    for emotion, category, n, kept in added:
        row = by_emotion.setdefault(emotion, {"added": 0, "kept": 0, "by_category": {}})
        row["added"] += n
        row["kept"] += kept
        row["by_category"][category or "(none)"] = row["by_category"].get(category or "(none)", 0) + n
    emotions = [e for e in project.emotions if e in samples or e in by_emotion] + sorted(
        e for e in {*samples, *by_emotion} if e not in project.emotions)
    out = []
    for e in emotions:
        row = by_emotion.get(e, {"added": 0, "kept": 0, "by_category": {}})
        out.append({"emotion": e, "samples": samples.get(e, 0), "added": row["added"], "kept": row["kept"],
                    "per_sample": row["added"] / samples[e] if samples.get(e) else None,
                    "by_category": row["by_category"]})
    return out


def throughput(project: Project) -> dict:
    """Passes done per annotator per day (one grouped query), and each annotator's totals."""
    rows = list(Assignment.objects.filter(project=project, status=Assignment.Status.DONE, finished_at__isnull=False)
                .annotate(day=TruncDate("finished_at")).values_list("day", "annotator__username")
                .annotate(n=Count("id")).order_by("day", "annotator__username"))
    days = sorted({d for d, _u, _n in rows})
    people = sorted({u for _d, u, _n in rows})
    series = {u: {d.isoformat(): 0 for d in days} for u in people}
    for d, u, n in rows:
        series[u][d.isoformat()] = n
    return {"days": [d.isoformat() for d in days], "series": series,
            "rows": [{"day": d.isoformat(), "annotator": u, "done": n} for d, u, n in rows],
            "totals": {u: sum(series[u].values()) for u in people}}


def review_progress(project: Project) -> dict:
    counts: dict[str, dict] = defaultdict(dict)
    for emotion, status, n in (QualitySample.objects.filter(project=project).exclude(status="imported")
                               .values_list("emotion", "status").annotate(n=Count("id")).order_by()):
        counts[emotion][status] = n
    return dict(counts)


def compute(project: Project, *, draw: int | None = None, source: str | None = None) -> dict:
    """Every section, computed now (no cache)."""
    return {
        "project": {"id": project.pk, "name": project.name, "threshold": project.rework_threshold},
        "scope": {"draw": draw, "source": source or "all"},
        **rating_figures(project, rating_rows(project, draw, source)),
        "annotators": annotator_agreement(project),
        "pipeline": pipeline_quality(project),
        "added": added_triggers(project),
        "throughput": throughput(project),
        "progress": review_progress(project),
    }


def fingerprints(project: Project) -> dict[str, str]:
    """What each group of sections depends on, cheaply (three aggregates): ``ratings`` changes with a rating or a
    quality sample's round or status; ``work`` with a finished pass (annotator agreement takes each annotator's
    state at submit; throughput counts passes); ``events`` with anything at all (every write writes an Event)."""
    base = f"{project.pk}:{project.created_at.timestamp():.6f}:{project.rework_threshold}:{','.join(project.emotions)}"
    r = Rating.objects.filter(project=project).aggregate(m=Max("id"))["m"] or 0
    q = QualitySample.objects.filter(project=project).aggregate(m=Max("updated_at"))["m"]
    w = Assignment.objects.filter(project=project, status=Assignment.Status.DONE).aggregate(
        m=Max("finished_at"), n=Count("id"))
    return {"ratings": f"{base}:{r}:{q.timestamp() if q else 0}",
            "work": f"{base}:{w['m'].timestamp() if w['m'] else 0}:{w['n']}",
            "events": fingerprint(project)}


def _cached(key: str, fn):
    data = cache.get(key)
    if data is None:
        data = fn()
        cache.set(key, data, CACHE_SECONDS)
    return data


def figures(project: Project, *, draw: int | None = None, source: str | None = None) -> dict:
    """:func:`compute`, each group of sections cached until what it depends on changes (:func:`fingerprints`):
    a new rating recomputes the rating figures only; a finished pass the annotator figures; the cheap trigger
    counts follow every Event."""
    fp = fingerprints(project)
    scope = f"{draw or 0}:{source or 'all'}"
    ratings = _cached(f"review:ratings:{fp['ratings']}:{scope}",
                      lambda: rating_figures(project, rating_rows(project, draw, source)))
    return {
        "project": {"id": project.pk, "name": project.name, "threshold": project.rework_threshold},
        "scope": {"draw": draw, "source": source or "all"},
        **ratings,
        "annotators": _cached(f"review:annotators:{fp['work']}", lambda: annotator_agreement(project)),
        "pipeline": _cached(f"review:pipeline:{fp['events']}", lambda: pipeline_quality(project)),
        "added": _cached(f"review:added:{fp['events']}", lambda: added_triggers(project)),
        "throughput": _cached(f"review:throughput:{fp['work']}", lambda: throughput(project)),
        "progress": _cached(f"review:progress:{fp['ratings']}", lambda: review_progress(project)),
    }


def draws(project: Project):
    return Draw.objects.filter(project=project).order_by("-id")


# ------------------------------------------------------------------------------------------------- CSV
def _fmt(v):
    if isinstance(v, float):
        return f"{v:.6f}"
    return "" if v is None else v


def csv_rows(data: dict, section: str) -> tuple[list[str], list[list]]:
    """Header and rows of one section, as the dashboard's table shows it."""
    if section == "categories":
        head = ["emotion", "ratings", "items", "mean", "sd", "min", "max", "below_3", "share_below_3",
                "items_below_threshold", *[f"score_{s}" for s in stats.SCORES]]
        rows = [[r["emotion"], r["n"], r["items"], r["mean"], r["sd"], r["min"], r["max"], r["below"],
                 r["share_below"], r["items_below_threshold"], *r["histogram"]] for r in data["categories"]]
    elif section == "reviewers":
        head = ["reviewer", "ratings", "mean", "sd", "min", "max", "below_3", "share_below_3", "bias",
                *[f"score_{s}" for s in stats.SCORES]]
        rows = [[r["rater"], r["n"], r["mean"], r["sd"], r["min"], r["max"], r["below"], r["share_below"],
                 r["bias"], *r["histogram"]] for r in data["reviewers"]]
    elif section == "agreement":
        a = data["agreement"]
        head = ["statistic", "value", "items", "note"]
        icc = a["icc"]
        rows = [["krippendorff_alpha_ordinal", a["alpha_ordinal"]["value"], a["alpha_ordinal"]["items"], ""],
                ["krippendorff_alpha_interval", a["alpha_interval"]["value"], a["alpha_interval"]["items"], ""],
                ["fleiss_kappa", a["fleiss_kappa"]["value"], a["fleiss_kappa"]["items"],
                 f"{a['fleiss_kappa']['raters_per_item']} ratings per item"],
                *[[f"icc_{name}", icc[name], icc["items"], f"{icc['design']}, {icc['raters_per_item']} raters"]
                  for name in ("icc1", "icc1k", "icc2", "icc2k", "icc3", "icc3k")]]
    elif section == "annotators":
        head = ["pass", "units", "keep_remove_alpha", "keep_remove_items", "masi_alpha", "masi_items", "mean_f1"]
        a = data["annotators"]
        rows = [[r["pass"], r["units"], r["keep_remove_alpha"]["value"], r["keep_remove_alpha"]["items"],
                 r["masi_alpha"]["value"], r["masi_alpha"]["items"], r["mean_f1"]]
                for r in [*a["passes"], *([a["overall"]] if a["overall"] else [])]]
    elif section == "pipeline":
        head = ["model", "prompt_version", "model_triggers", "kept", "hallucination", "irrelevant",
                "share_hallucination", "share_irrelevant", "share_removed"]
        p = data["pipeline"]
        rows = [[r["model"], r["prompt_version"], r["triggers"], r["kept"], r["hallucination"], r["irrelevant"],
                 r["share_hallucination"], r["share_irrelevant"], r["share_removed"]]
                for r in [*p["rows"], p["total"]]]
    elif section == "added":
        categories = sorted({c for r in data["added"] for c in r["by_category"]})
        head = ["emotion", "samples", "added", "kept", "per_sample", *categories]
        rows = [[r["emotion"], r["samples"], r["added"], r["kept"], r["per_sample"],
                 *[r["by_category"].get(c, 0) for c in categories]] for r in data["added"]]
    elif section == "throughput":
        head = ["day", "annotator", "passes_done"]
        rows = [[r["day"], r["annotator"], r["done"]] for r in data["throughput"]["rows"]]
    else:
        raise KeyError(section)
    return head, [[_fmt(v) for v in row] for row in rows]


def to_csv(data: dict, section: str) -> str:
    head, rows = csv_rows(data, section)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(head)
    writer.writerows(rows)
    return out.getvalue()


def report(data: dict) -> dict:
    """What ``agreement_report --json`` prints: the per-category table, alpha ordinal / interval, Fleiss' kappa,
    ICC (and the rest of the dashboard's figures)."""
    return {k: data[k] for k in ("project", "scope", "categories", "reviewers", "agreement", "annotators",
                                 "pipeline", "added", "throughput")}
