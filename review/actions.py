"""Review actions: every write of the review app. Each owns its transaction and writes annotator Events
(append-only) in it; pages, the API and the commands call these.

Events name what happened without giving a score away: a reviewer must not learn another's rating before
rating (the sample history and the provenance export show events to every role), so ``rating.submitted``
carries the rating's id and round only; the round's mean is written once the round is complete.
"""
from __future__ import annotations

import hashlib
import json
import random
import statistics
from collections import Counter
from collections.abc import Sequence

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.db.models import Count, F
from django.utils import timezone

from annotator.actions import do_reopen_pass
from annotator.formats.text import check_key_text
from annotator.models import Event, Image, Project, Sample
from annotator.permissions import has_project_role
from annotator.roles import LEAD, REVIEWER

from . import versions
from .models import BenchmarkVersion, Draw, QualitySample, Rating, ReviewAssignment, VersionEntry
from .strategies import assign_reviewers, draw_sample

OPEN, DONE, CANCELLED = (ReviewAssignment.Status.OPEN, ReviewAssignment.Status.DONE,
                         ReviewAssignment.Status.CANCELLED)
QS = QualitySample.Status
GUIDANCE = ("Rate how well the final triggers explain the emotion: 4–5 if the triggers make sense; below 3 only "
            "for errors (a wrong or made-up trigger) or missing triggers.")


class NotAllowed(Exception):
    """The actor may not do this (HTTP 403)."""


class Conflict(Exception):
    """The state changed or does not allow this now (HTTP 409)."""


def _event(project_id: int, action: str, *, actor, sample_id: int | None = None, before=None, after=None) -> Event:
    return Event.objects.create(project_id=project_id, sample_id=sample_id, actor=actor, action=action,
                                before=before, after=after)


def _require_lead(actor, project_id: int) -> None:
    """A lead of the project only; ``None`` is the command line (whoever runs manage.py), recorded as the system."""
    if actor is not None and not has_project_role(actor, project_id, LEAD):
        raise NotAllowed("only a lead of this project may do this")


def reviewer_pool(project):
    """The project's reviewers: its members with the reviewer role."""
    return (get_user_model().objects.filter(project_memberships__project=project,
                                            project_memberships__role=REVIEWER, is_active=True)
            .order_by("username").distinct())


# ------------------------------------------------------------------------------------------------- draw
def do_draw_quality_sample(project_id: int, *, actor, per_emotion: int | None = None,
                           reviewers_per_item: int | None = None, reviewers: Sequence[int] | None = None,
                           emotions: Sequence[str] | None = None, seed: int | None = None) -> Draw:
    """Draw a seeded random sample of ``per_emotion`` refined samples per emotion category (default the
    project's ``sample_size_per_emotion``), move them to ``sampled`` and give each ``reviewers_per_item``
    reviewers (default the project's ``reviewers_per_item``) from ``reviewers`` (default: every reviewer).
    The refined samples it was drawn from are recorded (``Draw.population``)."""
    _require_lead(actor, project_id)
    with transaction.atomic():
        project = Project.objects.select_for_update().get(pk=project_id)
        per_emotion = int(per_emotion or project.sample_size_per_emotion)
        per_item = int(reviewers_per_item or project.reviewers_per_item)
        pool = list(reviewer_pool(project).values_list("pk", flat=True))
        chosen = [int(r) for r in reviewers] if reviewers else pool
        unknown = set(chosen) - set(pool)
        if unknown:
            raise ValueError(f"not reviewers of this project: user {', '.join(map(str, sorted(unknown)))}")
        seed = int(seed) if seed is not None else random.SystemRandom().randrange(2**31)
        refined = Sample.objects.filter(project=project, state=Sample.State.REFINED)
        if emotions:
            refined = refined.filter(emotion__in=list(emotions))
        population: dict[str, list[int]] = {}
        for sid, emotion in refined.order_by("id").values_list("id", "emotion"):
            population.setdefault(emotion, []).append(sid)
        if not population:
            raise ValueError("no refined sample to draw from" + (f" in {', '.join(emotions)}" if emotions else ""))
        drawn = draw_sample(population, per_emotion, seed)
        ids = [sid for e in sorted(drawn) for sid in drawn[e]]
        load = dict(ReviewAssignment.objects.filter(status=OPEN, reviewer_id__in=chosen)
                    .values_list("reviewer_id").annotate(n=Count("id")).values_list("reviewer_id", "n"))
        plan = assign_reviewers(ids, chosen, per_item, seed=seed, load=load)
        draw = Draw.objects.create(project=project, seed=seed, per_emotion=per_emotion, reviewers_per_item=per_item,
                                   emotions=sorted(drawn), population=population, reviewers=sorted(set(chosen)),
                                   created_by=actor)
        emotion_of = {sid: e for e, sids in drawn.items() for sid in sids}
        items = QualitySample.objects.bulk_create([
            QualitySample(draw=draw, project=project, sample_id=sid, emotion=emotion_of[sid]) for sid in ids
        ], batch_size=2000)
        qs_of = {q.sample_id: q.pk for q in items}
        if any(v is None for v in qs_of.values()):  # backends without RETURNING ids
            qs_of = dict(QualitySample.objects.filter(draw=draw).values_list("sample_id", "id"))
        ReviewAssignment.objects.bulk_create([
            ReviewAssignment(quality_sample_id=qs_of[sid], project=project, reviewer_id=r, round=1)
            for sid, r in plan
        ], batch_size=5000)
        now = timezone.now()
        for part in _chunks(ids):
            Sample.objects.filter(id__in=part).update(state=Sample.State.SAMPLED, version=F("version") + 1,
                                                      updated_at=now)
        Event.objects.bulk_create([
            Event(project=project, sample_id=sid, actor=actor, action="sample.sampled",
                  before={"state": Sample.State.REFINED},
                  after={"state": Sample.State.SAMPLED, "draw": draw.pk, "quality_sample": qs_of[sid]})
            for sid in ids
        ], batch_size=5000)
        _event(project.pk, "review.drawn", actor=actor, after={
            "draw": draw.pk, "seed": seed, "per_emotion": per_emotion, "reviewers_per_item": per_item,
            "reviewers": draw.reviewers, "drawn": {e: len(v) for e, v in drawn.items()},
            "population": {e: len(v) for e, v in population.items()}})
    return draw


# ------------------------------------------------------------------------------------------------- rate
def do_rate(assignment_id: int, score, note: str = "", *, actor) -> Rating:
    """The assigned reviewer rates the sample 0-5 with a note; once every reviewer of the round has rated it,
    the round's mean decides: at or above the project's threshold the quality sample passes, below it waits
    for the lead to send it to rework. Either way the sample becomes ``rated``."""
    try:
        score = int(str(score).strip())
    except (TypeError, ValueError):
        raise ValueError("the rating is a whole number from 0 to 5") from None
    if not 0 <= score <= 5:
        raise ValueError("the rating is a whole number from 0 to 5")
    note = (note or "").strip()
    with transaction.atomic():
        a = (ReviewAssignment.objects.select_for_update().select_related("quality_sample")
             .get(pk=assignment_id))
        if not has_project_role(actor, a.project_id, REVIEWER):
            raise NotAllowed("only the project's reviewers rate")
        if a.reviewer_id != actor.pk:
            raise NotAllowed("this review is assigned to someone else")
        if a.status != OPEN:
            raise Conflict("this review is closed" + (" (already rated)" if a.status == DONE else ""))
        qs = QualitySample.objects.select_for_update().get(pk=a.quality_sample_id)
        if qs.round != a.round or qs.status != QS.PENDING:
            raise Conflict("this sample is not waiting for ratings in this round")
        if score < 3 and not note:
            raise ValueError("say what is wrong or missing: a rating below 3 needs a note")
        try:
            with transaction.atomic():
                rating = Rating.objects.create(quality_sample=qs, project_id=qs.project_id, assignment=a,
                                               reviewer=actor, rater=actor.get_username(), round=a.round,
                                               score=score, note=note)
        except IntegrityError:
            raise Conflict("you already rated this sample in this round") from None
        a.status, a.finished_at = DONE, timezone.now()
        a.save(update_fields=["status", "finished_at"])
        _event(qs.project_id, "rating.submitted", actor=actor, sample_id=qs.sample_id,
               after={"rating": rating.pk, "quality_sample": qs.pk, "round": a.round})
        if not ReviewAssignment.objects.filter(quality_sample=qs, round=qs.round, status=OPEN).exists():
            _close_round(qs, actor=actor)
    return rating


def _close_round(qs: QualitySample, *, actor) -> None:
    scores = list(Rating.objects.filter(quality_sample=qs, round=qs.round).values_list("score", flat=True))
    project = Project.objects.get(pk=qs.project_id)
    qs.mean = statistics.fmean(scores) if scores else None
    qs.status = QS.PASSED if qs.mean is not None and qs.mean >= project.rework_threshold else QS.BELOW
    qs.save(update_fields=["mean", "status", "updated_at"])
    sample = Sample.objects.select_for_update().get(pk=qs.sample_id)
    before = {"state": sample.state}
    if sample.state == Sample.State.SAMPLED:
        Sample.objects.filter(pk=sample.pk).update(state=Sample.State.RATED, version=F("version") + 1,
                                                   updated_at=timezone.now())
    _event(qs.project_id, "sample.rated", actor=actor, sample_id=qs.sample_id, before=before,
           after={"state": Sample.State.RATED, "quality_sample": qs.pk, "round": qs.round, "mean": qs.mean,
                  "ratings": len(scores), "threshold": project.rework_threshold, "status": qs.status})


# ----------------------------------------------------------------------------------------------- rework
def rework_notes(qs: QualitySample) -> list[str]:
    """The reviewers' ratings and notes of the current round, as the annotator will read them."""
    return [f"{r.rater} rated {r.score}/5" + (f": {r.note}" if r.note else "")
            for r in Rating.objects.filter(quality_sample=qs, round=qs.round).order_by("score", "id")]


def do_send_to_rework(quality_sample_id: int, pass_number: int, *, actor) -> QualitySample:
    """A lead sends a sample whose mean is below the threshold back to ``pass_number`` (1-3), with the
    reviewers' ratings and notes shown on the pass screen (annotator's ``do_reopen_pass``). It is rated
    again, by the same reviewers, once it is refined again (:func:`do_start_next_round`)."""
    with transaction.atomic():
        qs = QualitySample.objects.select_for_update().get(pk=quality_sample_id)
        _require_lead(actor, qs.project_id)
        if qs.status != QS.BELOW:
            raise Conflict(f"only a sample rated below the threshold goes to rework (this one is "
                           f"{qs.get_status_display()})")
        project = Project.objects.get(pk=qs.project_id)
        reason = (f"Quality review round {qs.round}: mean rating {qs.mean:.2f} is below the threshold "
                  f"{project.rework_threshold:g}.")
        do_reopen_pass(qs.sample_id, int(pass_number), actor=actor, reason=reason, notes=rework_notes(qs))
        qs.status, qs.rework_pass = QS.REWORK, int(pass_number)
        qs.save(update_fields=["status", "rework_pass", "updated_at"])
        _event(qs.project_id, "review.rework", actor=actor, sample_id=qs.sample_id,
               after={"quality_sample": qs.pk, "round": qs.round, "pass": int(pass_number), "mean": qs.mean})
    return qs


def do_start_next_round(quality_sample_id: int, *, actor=None) -> QualitySample:
    """A reworked sample is refined again: it goes back to ``sampled`` and the same reviewers (those still
    reviewers; others from the pool to make up the number) rate it in a new round."""
    with transaction.atomic():
        qs = QualitySample.objects.select_for_update().select_related("draw").get(pk=quality_sample_id)
        if qs.status != QS.REWORK:
            raise Conflict("this sample is not in rework")
        sample = Sample.objects.select_for_update().get(pk=qs.sample_id)
        if sample.state != Sample.State.REFINED:
            raise Conflict("the sample is not refined yet")
        previous = list(ReviewAssignment.objects.filter(quality_sample=qs, round=qs.round)
                        .exclude(status=CANCELLED).values_list("reviewer_id", flat=True))
        pool = list(reviewer_pool(qs.project_id).values_list("pk", flat=True))
        keep = [r for r in previous if r in pool]
        need = max(0, qs.draw.reviewers_per_item - len(keep))
        extra = []
        others = [r for r in pool if r not in keep]
        if need and others:  # as many as there are: an annotator's submit never fails for want of reviewers
            extra = [r for _s, r in assign_reviewers([qs.sample_id], others, min(need, len(others)),
                                                      seed=qs.draw.seed + qs.round)]
        qs.round += 1
        qs.status, qs.mean = QS.PENDING, None
        qs.save(update_fields=["round", "status", "mean", "updated_at"])
        ReviewAssignment.objects.bulk_create([
            ReviewAssignment(quality_sample=qs, project_id=qs.project_id, reviewer_id=r, round=qs.round)
            for r in [*keep, *extra]])
        Sample.objects.filter(pk=sample.pk).update(state=Sample.State.SAMPLED, version=F("version") + 1,
                                                   updated_at=timezone.now())
        _event(qs.project_id, "sample.sampled", actor=actor, sample_id=qs.sample_id,
               before={"state": Sample.State.REFINED},
               after={"state": Sample.State.SAMPLED, "quality_sample": qs.pk, "round": qs.round,
                      "reviewers": [*keep, *extra]})
    return qs


def on_event_saved(sender, instance: Event, created: bool, **kwargs) -> None:
    """post_save of annotator's Event: a reworked sample submitted to ``refined`` starts its next round
    (annotator knows nothing of review; this runs inside do_submit_pass's transaction)."""
    if not created or instance.action != "sample.submitted" or not instance.sample_id:
        return
    if (instance.after or {}).get("state") != Sample.State.REFINED:
        return
    for qs_id in QualitySample.objects.filter(sample_id=instance.sample_id, status=QS.REWORK).values_list(
            "id", flat=True):
        do_start_next_round(qs_id, actor=instance.actor)


# --------------------------------------------------------------------------------------------- finalise
def _chunks(ids: list[int], size: int = 5000):
    for i in range(0, len(ids), size):
        yield ids[i:i + size]


def category_status(draw: Draw) -> dict[str, dict]:
    """Per emotion of a draw: counts by quality-sample status and whether it can be finalised (every drawn
    sample passed)."""
    counts: dict[str, Counter] = {}
    for emotion, status, n in (QualitySample.objects.filter(draw=draw).values_list("emotion", "status")
                               .annotate(n=Count("id")).order_by()):
        counts.setdefault(emotion, Counter())[status] = n
    out = {}
    for emotion in draw.emotions:
        c = counts.get(emotion, Counter())
        total = sum(c.values())
        out[emotion] = {"drawn": total, "passed": c[QS.PASSED], "pending": c[QS.PENDING], "below": c[QS.BELOW],
                        "rework": c[QS.REWORK], "population": len(draw.population.get(emotion, [])),
                        "finalised": emotion in draw.finalised,
                        "ready": total > 0 and c[QS.PASSED] == total and emotion not in draw.finalised}
    return out


def do_finalise_category(draw_id: int, emotion: str, *, actor) -> int:
    """Once every drawn sample of ``emotion`` has passed (reworked ones after re-rating), the lead finalises the
    category: its passed samples and every sample of the draw's population still ``refined`` (not drawn) become
    ``final``. Returns how many samples became final."""
    with transaction.atomic():
        draw = Draw.objects.select_for_update().get(pk=draw_id)
        _require_lead(actor, draw.project_id)
        status = category_status(draw).get(emotion)
        if status is None:
            raise ValueError(f"the draw has no category {emotion!r}")
        if status["finalised"]:
            raise Conflict(f"{emotion} is already finalised")
        if not status["ready"]:
            raise Conflict(f"{emotion} cannot be finalised yet: {status['pending']} waiting for ratings, "
                           f"{status['below']} below the threshold, {status['rework']} in rework")
        passed = list(QualitySample.objects.filter(draw=draw, emotion=emotion, status=QS.PASSED,
                                                   sample__state=Sample.State.RATED)
                      .values_list("sample_id", flat=True))
        population = draw.population.get(emotion, [])
        rest = [sid for part in _chunks(population) for sid in Sample.objects.filter(
            id__in=part, state=Sample.State.REFINED).values_list("id", flat=True)]
        states = {**dict.fromkeys(passed, Sample.State.RATED), **dict.fromkeys(rest, Sample.State.REFINED)}
        ids = sorted(states)
        now = timezone.now()
        for part in _chunks(ids):  # bounded IN lists (SQLite limits bound parameters)
            Sample.objects.filter(id__in=part).update(state=Sample.State.FINAL, version=F("version") + 1,
                                                      updated_at=now)
        Event.objects.bulk_create([
            Event(project_id=draw.project_id, sample_id=sid, actor=actor, action="sample.finalised",
                  before={"state": states[sid]}, after={"state": Sample.State.FINAL, "draw": draw.pk})
            for sid in ids], batch_size=5000)
        draw.finalised = sorted({*draw.finalised, emotion})
        draw.save(update_fields=["finalised"])
        _event(draw.project_id, "review.finalised", actor=actor, after={
            "draw": draw.pk, "emotion": emotion, "rated": len(passed), "not_drawn": len(rest)})
    return len(ids)


# ------------------------------------------------------------------------------------- imported ratings
class RatingsRefused(Exception):
    """An import of ratings with problems: nothing was imported. ``problems``: ``(file, line, message)``."""

    def __init__(self, problems: list[tuple[str, int | None, str]]):
        self.problems = problems
        super().__init__(self.report())

    def report(self) -> str:
        return "\n".join(f"{f}, line {n}: {m}" if n else f"{f}: {m}" for f, n, m in self.problems)


MAX_PROBLEMS = 50


def parse_rater_file(name: str, raw: bytes) -> tuple[list[tuple[int, str, int]], list[tuple]]:
    """Lines ``{"<image path>": "<0-5>"}`` → ``[(line, path, score)]`` and problems ``(file, line, message)``."""
    rows, problems, first_line = [], [], {}
    lines = raw.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    if not lines:
        return [], [(name, None, "the file is empty")]
    for number, line in enumerate(lines, start=1):
        try:
            text = line.decode("utf-8").rstrip("\r")
        except UnicodeDecodeError as exc:
            problems.append((name, number, f"not UTF-8: byte 0x{line[exc.start]:02x} at column {exc.start + 1} "
                                           "(save the file as UTF-8)"))
            continue
        if not text.strip():
            problems.append((name, number, "empty line"))
            continue
        try:
            record = json.loads(text)
        except json.JSONDecodeError as exc:
            problems.append((name, number, f"malformed JSON: {exc.msg} at column {exc.colno}"))
            continue
        except RecursionError:
            problems.append((name, number, "malformed JSON: nested too deeply"))
            continue
        if not isinstance(record, dict) or len(record) != 1:
            problems.append((name, number, 'expected one {"<image path>": "<0-5>"} object per line'))
            continue
        ((path, value),) = record.items()
        # NUL, lone surrogates, control characters (the path is only looked up, never opened: a traversal is just
        # an image the project does not have)
        why = check_key_text(path) if path else "empty image path"
        if why:
            problems.append((name, number, _short(why)))
            continue
        score = _score(value)
        if score is None:
            problems.append((name, number, f"rating {_short(repr(value))} is not a whole number from 0 to 5"))
            continue
        if path in first_line:
            problems.append((name, number, f"duplicate image path {_short(repr(path))} (first on line "
                                           f"{first_line[path]})"))
            continue
        first_line[path] = number
        rows.append((number, path, score))
    return rows, problems


def _short(text: str, limit: int = 200) -> str:
    """A problem message never echoes a whole oversized line."""
    return text if len(text) <= limit else text[:limit] + "…"


def _score(value) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if 0 <= value <= 5 else None
    if isinstance(value, str) and value.strip().isdigit():
        n = int(value.strip())
        return n if 0 <= n <= 5 else None
    return None


def do_import_ratings(project_id: int, rater: str, name: str, raw: bytes, *, actor=None) -> int:
    """Import one rater's file of the original benchmark's format into the project's imported-ratings draw.
    Every line is checked first (format, score, image known in the project with one sample, not rated by this
    rater before); with any problem, :class:`RatingsRefused` lists them all and nothing is written."""
    rater = (rater or "").strip()
    if not rater:
        raise ValueError("name the rater")
    rows, problems = parse_rater_file(name, raw)
    with transaction.atomic():
        project = Project.objects.select_for_update().get(pk=project_id)
        paths = [p for _n, p, _s in rows]
        samples: dict[str, list[tuple[int, str]]] = {}
        known_images: set[str] = set()
        for part in _chunks(paths):
            for key, sid, emotion in (Sample.objects.filter(project=project, image__dataset_key__in=part)
                                      .values_list("image__dataset_key", "id", "emotion")):
                samples.setdefault(key, []).append((sid, emotion))
            known_images.update(Image.objects.filter(project=project, dataset_key__in=part)
                                .values_list("dataset_key", flat=True))
        draw = Draw.objects.filter(project=project, source=Draw.Source.IMPORTED).first()
        already = set()
        if draw is not None:
            already = set(Rating.objects.filter(quality_sample__draw=draw, rater=rater)
                          .values_list("quality_sample__sample_id", flat=True))
        resolved = []
        for number, path, score in rows:
            found = samples.get(path, [])
            if not found:
                problems.append((name, number, f"image {_short(repr(path))} is not in project {project.name!r}"
                                 if path not in known_images else f"image {_short(repr(path))} has no sample"))
            elif len(found) > 1:
                problems.append((name, number, f"image {_short(repr(path))} has {len(found)} samples (complex "
                                               "questions): ratings are per basic sample"))
            elif found[0][0] in already:
                problems.append((name, number, f"{rater} already has a rating of {_short(repr(path))} (imported "
                                               "before?)"))
            else:
                resolved.append((number, found[0][0], found[0][1], score))
        if problems:
            problems.sort(key=lambda p: (p[1] or 0))
            raise RatingsRefused(problems[:MAX_PROBLEMS] + (
                [(name, None, f"... and {len(problems) - MAX_PROBLEMS} more problems")]
                if len(problems) > MAX_PROBLEMS else []))
        if draw is None:
            draw = Draw.objects.create(project=project, source=Draw.Source.IMPORTED, per_emotion=0,
                                       reviewers_per_item=0, created_by=actor)
        existing = dict(QualitySample.objects.filter(draw=draw).values_list("sample_id", "id"))
        new = [QualitySample(draw=draw, project=project, sample_id=sid, emotion=emotion, status=QS.IMPORTED)
               for _n, sid, emotion, _s in resolved if sid not in existing]
        QualitySample.objects.bulk_create(new, batch_size=2000)
        existing = dict(QualitySample.objects.filter(draw=draw).values_list("sample_id", "id"))
        Rating.objects.bulk_create([
            Rating(quality_sample_id=existing[sid], project=project, rater=rater, round=1, score=score,
                   source=Rating.Source.IMPORTED)
            for _n, sid, _e, score in resolved], batch_size=5000)
        emotions = sorted({*draw.emotions, *(e for _n, _sid, e, _s in resolved)})
        if emotions != draw.emotions:
            Draw.objects.filter(pk=draw.pk).update(emotions=emotions)
        _event(project.pk, "review.ratings_imported", actor=actor, after={
            "draw": draw.pk, "rater": rater, "file": name, "ratings": len(resolved),
            "sha256": hashlib.sha256(raw).hexdigest()})
    return len(resolved)


# ---------------------------------------------------------------------------------------------- versions
def do_freeze_version(project_id: int, *, actor, note: str = "") -> BenchmarkVersion:
    """Freeze the project's final samples as the next benchmark version: entries as exported, the files'
    digests and a checksum, and the changelog against the previous version. Immutable from then on."""
    _require_lead(actor, project_id)
    with transaction.atomic():
        project = Project.objects.select_for_update().get(pk=project_id)
        entries = versions.snapshot(project)
        if not entries:
            raise ValueError("the project has no final samples to freeze")
        differ = versions.matches_export(project, entries)
        if differ:
            raise versions.VersionCorrupt(f"the snapshot does not render as the export writes {', '.join(differ)}")
        files = versions.digests(entries)
        previous = BenchmarkVersion.objects.filter(project=project).order_by("-number").first()
        before = list(VersionEntry.objects.filter(version=previous).values(*versions.ENTRY_FIELDS)) if previous else []
        version = BenchmarkVersion.objects.create(
            project=project, number=(previous.number + 1) if previous else 1, note=(note or "").strip(),
            checksum=versions.checksum(files), files=files, samples=len(entries),
            changelog=versions.changelog(before, entries, previous.number if previous else None),
            previous=previous, created_by=actor)
        VersionEntry.objects.bulk_create([VersionEntry(version=version, **e) for e in entries], batch_size=5000)
        _event(project.pk, "benchmark.frozen", actor=actor, after={
            "version": version.number, "checksum": version.checksum, "samples": version.samples,
            "changes": {k: version.changelog.get(k) for k in ("added", "removed", "changed", "unchanged")}})
    return version
