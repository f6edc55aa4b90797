"""A small world for the permission walk, the CSRF walk and the XSS walk: two projects, one person per role, one
of every kind of object, and (for the XSS walk) an HTML/JS payload in every text a person can write.

Project A ("alpha") has a lead, a reviewer, an annotator holding a pass-1 sample (``on_sample``) and an annotator
member without work (``off_sample``); project B ("beta") has its own lead (``other_lead``), who must see nothing of A.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from django.core.files.base import ContentFile
from rest_framework.authtoken.models import Token

from annotator import actions
from annotator.models import Image, ImportJob, Project, Sample, Trigger
from annotator.roles import ANNOTATOR, LEAD, REVIEWER
from tests.conftest import _user, join, png_bytes

PAYLOAD = '<script>alert(1)</script>"><img src=x onerror=alert(2)>'
MARKERS = ("<script>alert(1)", "<img src=x onerror")  # what must never appear unescaped in HTML
ROLES = ("anonymous", "no_role", "other_lead", "off_sample", "reviewer", "on_sample", "lead")
MEMBERS = {"off_sample", "reviewer", "on_sample", "lead"}


@dataclass
class World:
    a: Project
    b: Project
    users: dict
    sample: Sample  # in pass 1, leased to on_sample
    other_sample: Sample  # in pass 1 of A, assigned to nobody in particular
    trigger: Trigger
    removed: Trigger
    assignment: object
    job: ImportJob
    b_sample: Sample
    extra: dict = field(default_factory=dict)

    def token(self, role):
        return Token.objects.get_or_create(user=self.users[role])[0].key

    def a_ids(self) -> dict[str, set[int]]:
        """Ids of A's objects by kind (a list endpoint seen by another project's lead must show none)."""
        return {"project": {self.a.pk}, "sample": set(Sample.objects.filter(project=self.a).values_list("id", flat=True))}


def _labelled(name, n, payload, members):
    project = join(Project.objects.create(name=name + (" " + payload if payload else ""),
                                          description=payload or "a project"), *members)
    for i in range(n):
        key = f"Happy/{i:04d}{(' ' + payload.replace('/', '')) if payload else ''}.png"
        image = Image.objects.create(project=project, dataset_key=key, width=64, height=48)
        image.file.save(f"{i:04d}.png", ContentFile(png_bytes((64, 48))), save=True)
        sample = Sample.objects.create(project=project, image=image, kind="basic", emotion="happy", ordinal=i,
                                       question=f"What made the man happy? {payload}", state=Sample.State.LABELLED,
                                       error=payload)
        Trigger.objects.bulk_create([
            Trigger(sample=sample, text=f"{text} {payload}".strip(), position=p, category="Objects", origin="model")
            for p, text in enumerate(["Broad smile.", "A unicorn overhead.", "A trophy."], start=1)])
    return project


def build_world(django_user_model, *, payload: str = "") -> World:
    users = {"anonymous": None,
             "no_role": _user(django_user_model, "nobody"),
             "other_lead": _user(django_user_model, "lead_b", LEAD),
             "off_sample": _user(django_user_model, "ann_off", ANNOTATOR),
             "reviewer": _user(django_user_model, "rev_a", REVIEWER),
             "on_sample": _user(django_user_model, "ann_on", ANNOTATOR),
             "lead": _user(django_user_model, "lead_a", LEAD)}
    a = _labelled("alpha", 3, payload, [users[r] for r in ("lead", "reviewer", "on_sample", "off_sample")])
    b = _labelled("beta", 1, "", [users["other_lead"]])
    lead, on = users["lead"], users["on_sample"]
    # every sample of A in pass 1 for on_sample (all three passes planned); B's for its lead
    actions.do_assign_project(a.pk, [on.pk], actor=lead)
    actions.do_assign_project(b.pk, [users["other_lead"].pk], actor=users["other_lead"])
    assignment = actions.do_take_next(a.pk, 1, actor=on)
    sample = Sample.objects.get(pk=assignment.sample_id)
    triggers = list(Trigger.objects.filter(sample=sample).order_by("position"))
    actions.do_set_trigger_fate(triggers[1].pk, "hallucination", actor=on, pass_number=1, reason=payload or "no")
    if payload:
        actions.do_update_trigger(triggers[0].pk, text=f"Edited {payload}", actor=on, pass_number=1)
    sample.refresh_from_db()
    other_sample = Sample.objects.filter(project=a).exclude(pk=sample.pk).order_by("id").first()
    job = ImportJob.objects.create(project=a, created_by=lead, format="eibench", status="failed",
                                   errors=[{"file": f"user.jsonl {payload}", "line": 3, "message": payload or "bad"}])
    world = World(a=a, b=b, users=users, sample=sample, other_sample=other_sample, trigger=triggers[0],
                  removed=triggers[1], assignment=assignment, job=job,
                  b_sample=Sample.objects.get(project=b))
    _pipeline(world, payload)
    _review(world, payload)
    return world


def _pipeline(world: World, payload: str) -> None:
    from pipeline import actions as pipeline_actions
    from pipeline.models import PipelineRun, RunSample, StageTrace

    lead = world.users["lead"]
    config = pipeline_actions.current_config(world.a)
    if payload:
        config["persona"] = payload
    version = pipeline_actions.save_config(world.a, config, actor=lead, note=payload or "v1")
    run = PipelineRun.objects.create(project=world.a, prompt_version=version, config=version.config,
                                     status=PipelineRun.Status.DONE, total=1, failed=1, error=payload, created_by=lead)
    RunSample.objects.create(run=run, sample=world.other_sample, status=RunSample.Status.FAILED, error=payload or "x")
    trace = StageTrace.objects.create(run=run, sample=world.sample, stage="summarise", role="llm", model="tiny",
                                      prompt=f"prompt {payload}", reply=f"1. reply {payload}")
    world.extra.update(run=run, version=version, trace=trace)


def _review(world: World, payload: str) -> None:
    """A quality-sample draw with a rating, and a frozen version, when the review app offers them."""
    try:
        from review import actions as review_actions
        from review.models import ReviewAssignment
    except ImportError:  # pragma: no cover - review not there yet
        return
    lead, rev = world.users["lead"], world.users["reviewer"]
    for ordinal in (0, 1):
        refined = Sample.objects.create(project=world.a, image=world.sample.image, kind="complex", emotion="happy",
                                        ordinal=ordinal, question=f"Why refined {ordinal}? {payload}",
                                        state=Sample.State.REFINED)
        Trigger.objects.create(sample=refined, text=f"Refined trigger {payload}", position=1, origin="model")
    final = Sample.objects.create(project=world.a, image=world.sample.image, kind="complex", emotion="happy",
                                  ordinal=2, question=f"Why final? {payload}", state=Sample.State.FINAL)
    Trigger.objects.create(sample=final, text=f"Final trigger {payload}", position=1, origin="imported")
    draw = review_actions.do_draw_quality_sample(world.a.pk, actor=lead, per_emotion=2, reviewers_per_item=1,
                                                 reviewers=[rev.pk], emotions=["happy"], seed=1)
    rated, assignment = ReviewAssignment.objects.filter(project=world.a, reviewer=rev).order_by("id")[:2]
    review_actions.do_rate(rated.pk, 2, f"note {payload}", actor=rev)
    version = review_actions.do_freeze_version(world.a.pk, actor=lead, note=payload or "v1")
    world.extra.update(draw=draw, review_assignment=assignment, quality_sample=assignment.quality_sample,
                       rated_quality_sample=rated.quality_sample, benchmark_version=version)
