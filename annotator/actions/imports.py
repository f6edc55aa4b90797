"""Imports: EIBench benchmark files and manifests of new images.

Each import runs in two phases. The first streams every file, checks every line and every image and writes
nothing; any problem (file, line, message) refuses the whole import. The second streams the files again and
inserts in bulk inside one transaction, writing one ``sample.imported`` Event per sample (file and line)
and one ``project.imported`` Event with the summary.
"""
from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from itertools import count
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.db.models import Max, Q
from django.utils import timezone

from ..bulk import db_datetime, insert_rows, reserve_ids
from ..formats import eibench
from ..formats.eibench import ImportProblem
from ..formats.manifest import read_manifest
from ..images import ImageInfo, ImageRejected, inspect_image, resolve_under, store_image
from ..models import Event, Image, ImportJob, Project, Sample, Trigger
from .projects import get_or_create_project

MAX_PROBLEMS = 200
Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class Source:
    """A file to import and the name to show in messages (the uploaded name, or the path as given)."""

    path: Path
    name: str

    @classmethod
    def of(cls, path, name: str | None = None) -> Source | None:
        return None if path is None else cls(Path(path), name or str(path))


@dataclass
class ImportResult:
    project_id: int = 0
    project: str = ""
    samples: int = 0
    final_samples: int = 0
    triggers: int = 0
    images_created: int = 0
    images_attached: int = 0
    images_missing: int = 0

    def as_dict(self):
        return asdict(self)


class ImportRefused(Exception):
    """The import was refused and nothing was written; ``problems`` says where and why."""

    def __init__(self, problems: list[ImportProblem], more: int = 0):
        self.problems = problems
        self.more = more
        super().__init__(self.report())

    def report(self) -> str:
        lines = [str(p) for p in self.problems]
        if self.more:
            lines.append(f"... and {self.more} more problems")
        return "\n".join(lines)


@dataclass
class _Problems:
    items: list[ImportProblem] = field(default_factory=list)
    more: int = 0

    def add(self, problem: ImportProblem):
        if len(self.items) < MAX_PROBLEMS:
            self.items.append(problem)
        else:
            self.more += 1

    def raise_if_any(self):
        if self.items:
            raise ImportRefused(self.items, self.more)


@dataclass
class _ImagePlan:
    """What the import does about each image path it meets."""

    first_seen: dict[str, tuple[str, int]] = field(default_factory=dict)  # key -> (file, line)
    found: dict[str, ImageInfo] = field(default_factory=dict)

    def note(self, key: str, where: tuple[str, int]):
        self.first_seen.setdefault(key, where)

    def inspect(self, images_root: Path | None, problems: _Problems, *, required: bool):
        if images_root is None:
            return
        for key, (name, line) in self.first_seen.items():
            try:
                path = resolve_under(images_root, key)
                if not path.is_file():
                    if required:
                        problems.add(ImportProblem(name, line, f"no image file {key!r} under the images root"))
                    continue
                self.found[key] = inspect_image(path)
            except ImageRejected as exc:
                problems.add(ImportProblem(name, line, f"{key}: {exc}"))


def _existing(project: Project | None):
    """Keys already in the project, and where new ordinals start."""
    if project is None:
        return {}, set(), set(), {"basic": 0, "complex": 0, "truth": 0}
    images = dict(Image.objects.filter(project=project).values_list("dataset_key", "id"))
    samples = Sample.objects.filter(project=project)
    basic = set(samples.filter(kind=Sample.Kind.BASIC).values_list("image__dataset_key", flat=True))
    complex_pairs = set(samples.filter(kind=Sample.Kind.COMPLEX).values_list("image__dataset_key", "question"))
    top = samples.aggregate(
        basic=Max("ordinal", filter=Q(kind=Sample.Kind.BASIC)),
        complex=Max("ordinal", filter=Q(kind=Sample.Kind.COMPLEX)),
        truth=Max("truth_ordinal"),
    )
    starts = {k: (v + 1 if v is not None else 0) for k, v in top.items()}
    return images, basic, complex_pairs, starts


class _Writer:
    """Phase two: rows for images, samples, triggers and events, inserted in bulk."""

    SAMPLE_COLUMNS = ("id", "project_id", "image_id", "kind", "question", "emotion", "state", "ordinal",
                      "truth_ordinal", "version", "error", "created_at", "updated_at")
    TRIGGER_COLUMNS = ("sample_id", "text", "label", "position", "kind", "category", "explicit", "origin", "fate",
                       "created_at")
    EVENT_COLUMNS = ("project_id", "sample_id", "action", "after", "created_at")

    def __init__(self, project: Project, actor, existing_images: dict[str, int], plan: _ImagePlan,
                 progress: Progress | None, total: int):
        self.project = project
        self.actor = actor
        self.now = db_datetime(timezone.now())
        self.image_ids = dict(existing_images)
        self.plan = plan
        self.progress = progress
        self.total = total
        self.done = 0
        self.result = ImportResult(project_id=project.pk, project=project.name)
        self.samples: list[tuple] = []
        self.triggers: list[tuple] = []
        self.events: list[tuple] = []

    def images(self, keys: list[str]):
        """Create the project's new images and attach files found for images that were missing."""
        new = [k for k in keys if k not in self.image_ids]
        ids = reserve_ids(Image, len(new))
        rows = []
        for key, pk in zip(new, ids, strict=True):
            info = self.plan.found.get(key)
            stored = store_image(info) if info else ""
            rows.append((pk, self.project.pk, key, stored, info.sha256 if info else "",
                         info.width if info else None, info.height if info else None))
            self.image_ids[key] = pk
            self.result.images_attached += bool(info)
            self.result.images_missing += not info
        insert_rows(Image, ("id", "project_id", "dataset_key", "file", "sha256", "width", "height"), rows)
        self.result.images_created = len(rows)
        created = set(new)
        reattach = [k for k in keys if k not in created and k in self.plan.found]
        if reattach:
            for img in Image.objects.filter(project=self.project, dataset_key__in=reattach, file=""):
                info = self.plan.found[img.dataset_key]
                img.file.name, img.sha256, img.width, img.height = (
                    store_image(info), info.sha256, info.width, info.height)
                img.save(update_fields=["file", "sha256", "width", "height"])
                self.result.images_attached += 1

    def sample(self, pk, key, kind, question, emotion, ordinal, truth_ordinal, *, final: bool, source):
        self.samples.append((pk, self.project.pk, self.image_ids[key], kind, question, emotion,
                             Sample.State.FINAL if final else Sample.State.IMPORTED, ordinal, truth_ordinal, 1, "",
                             self.now, self.now))
        self.result.final_samples += final
        self.events.append((self.project.pk, pk, "sample.imported",
                            _json({"file": source[0], "line": source[1]}), self.now))
        self.result.samples += 1
        if len(self.samples) >= 5000:
            self.flush()

    def trigger_list(self, sample_id: int, value: str):
        """The sample's imported triggers, parsed losslessly from a numbered list."""
        for position, (label, text) in enumerate(eibench.parse_trigger_list(value), start=1):
            self.triggers.append((sample_id, text, label, position, "", "", None, Trigger.Origin.IMPORTED,
                                  Trigger.Fate.KEPT, self.now))
        if len(self.triggers) >= 25000:
            self.flush()

    def flush(self):
        insert_rows(Sample, self.SAMPLE_COLUMNS, self.samples)
        self.result.triggers += insert_rows(Trigger, self.TRIGGER_COLUMNS, self.triggers)
        insert_rows(Event, self.EVENT_COLUMNS, self.events)
        self.done += len(self.samples)
        self.samples, self.triggers, self.events = [], [], []
        if self.progress:
            self.progress(self.done, self.total)

    def finish(self, files: dict[str, str]) -> ImportResult:
        self.flush()
        Event.objects.create(project=self.project, actor=self.actor, action="project.imported",
                             after={"files": files, **self.result.as_dict()})
        return self.result


def _json(value) -> str:
    return json.dumps(value)


def import_eibench(*, project_name: str, questions: Source | None = None, ground_truth: Source | None = None,
                   complex: Source | None = None, images_root: Path | None = None, actor=None,
                   progress: Progress | None = None) -> ImportResult:
    """Import EIBench files (``user.jsonl``, ``basic_ground_truth.json``, ``ec_complex.jsonl``).

    Samples that come with ground truth are imported as final, their triggers with origin "imported".
    Raises :class:`ImportRefused` (and writes nothing) on any problem.
    """
    problems = _Problems()
    if not (questions or ground_truth or complex):
        problems.add(ImportProblem("(arguments)", None, "give at least one EIBench file"))
    if ground_truth and not questions:
        problems.add(ImportProblem(ground_truth.name, None,
                                   "ground truth needs its questions: give user.jsonl too (--basic-questions)"))
    problems.raise_if_any()
    if images_root is not None and not Path(images_root).is_dir():
        raise ImportRefused([ImportProblem(str(images_root), None, "the images root is not a directory")])

    project = Project.objects.filter(name=project_name).first()
    existing_images, existing_basic, existing_complex, starts = _existing(project)
    plan = _ImagePlan()

    # Phase one: read and check everything, write nothing.
    basic_lines: dict[str, int] = {}
    if questions:
        for rec in eibench.read_questions(questions.path, questions.name):
            if isinstance(rec, ImportProblem):
                problems.add(rec)
                continue
            line, key, _question = rec
            if key in basic_lines:
                problems.add(ImportProblem(questions.name, line,
                                           f"duplicate image path {key!r} (first on line {basic_lines[key]})"))
            elif key in existing_basic:
                problems.add(ImportProblem(questions.name, line, f"{key!r} is already in project {project_name!r}"))
            else:
                basic_lines[key] = line
                plan.note(key, (questions.name, line))
    truth_index: dict[str, int] = {}
    if ground_truth:
        truth_lines: dict[str, int] = {}
        for rec in eibench.read_ground_truth(ground_truth.path, ground_truth.name):
            if isinstance(rec, ImportProblem):
                problems.add(rec)
                continue
            line, key, _value = rec
            if key in truth_lines:
                problems.add(ImportProblem(ground_truth.name, line,
                                           f"duplicate image path {key!r} (first on line {truth_lines[key]})"))
            elif key not in basic_lines:
                problems.add(ImportProblem(ground_truth.name, line,
                                           f"{key!r} has ground truth but no question in {questions.name}"))
            else:
                truth_lines[key] = line
                truth_index[key] = len(truth_index)
    complex_lines: dict[tuple[str, str], int] = {}
    if complex:
        for rec in eibench.read_complex(complex.path, complex.name):
            if isinstance(rec, ImportProblem):
                problems.add(rec)
                continue
            line, key, question, _value = rec
            if (key, question) in complex_lines:
                problems.add(ImportProblem(complex.name, line, f"duplicate question for {key!r} "
                                                               f"(first on line {complex_lines[key, question]})"))
            elif (key, question) in existing_complex:
                problems.add(ImportProblem(complex.name, line,
                                           f"this question for {key!r} is already in project {project_name!r}"))
            else:
                complex_lines[key, question] = line
                plan.note(key, (complex.name, line))
    problems.raise_if_any()
    plan.inspect(images_root, problems, required=False)
    problems.raise_if_any()

    # Phase two: write, in bulk, in one transaction.
    total = len(basic_lines) + len(complex_lines)
    with transaction.atomic():
        project = project or get_or_create_project(project_name, actor=actor)
        writer = _Writer(project, actor, existing_images, plan, progress, total)
        writer.images(list(plan.first_seen))
        if questions:
            ids = iter(reserve_ids(Sample, len(basic_lines)))
            ordinal = count(starts["basic"])
            basic_ids = {}
            for line, key, question in _ok(eibench.read_questions(questions.path, questions.name)):
                index = truth_index.get(key)
                basic_ids[key] = pk = next(ids)
                writer.sample(pk, key, Sample.Kind.BASIC, question, eibench.emotion_from_path(key),
                              next(ordinal), None if index is None else starts["truth"] + index,
                              final=index is not None, source=(questions.name, line))
            writer.flush()
            if ground_truth:
                for _line, key, value in _ok(eibench.read_ground_truth(ground_truth.path, ground_truth.name)):
                    writer.trigger_list(basic_ids[key], value)
        if complex:
            ids = iter(reserve_ids(Sample, len(complex_lines)))
            ordinal = count(starts["complex"])
            for line, key, question, value in _ok(eibench.read_complex(complex.path, complex.name)):
                emotion = eibench.emotion_from_question(question, eibench.emotion_from_path(key))
                pk = next(ids)
                writer.sample(pk, key, Sample.Kind.COMPLEX, question, emotion, next(ordinal), None, final=True,
                              source=(complex.name, line))
                writer.trigger_list(pk, value)
        files = {role: src.name for role, src in
                 (("questions", questions), ("ground_truth", ground_truth), ("complex", complex)) if src}
        return writer.finish(files)


def _ok(records):
    """Records of a file already checked in phase one."""
    for rec in records:
        if isinstance(rec, ImportProblem):  # the file changed between the two phases
            raise ImportRefused([rec])
        yield rec


def import_manifest(*, project_name: str, manifest: Source, images_root: Path, actor=None,
                    progress: Progress | None = None) -> ImportResult:
    """Import new images listed in a CSV or JSONL manifest (``path``, ``emotion``, ``question``).

    An image with one row becomes a basic sample; an image with several rows becomes complex samples, one per
    row. A row without a question gets the project's default question for its emotion.
    """
    problems = _Problems()
    if not Path(images_root).is_dir():
        raise ImportRefused([ImportProblem(str(images_root), None, "the images root is not a directory")])
    project = Project.objects.filter(name=project_name).first()
    emotions = project.emotions if project else Project._meta.get_field("emotions").get_default()
    questions_for = project or Project(name=project_name)
    existing_images, existing_basic, existing_complex, starts = _existing(project)
    taken = existing_basic | {k for k, _q in existing_complex}
    plan = _ImagePlan()
    rows, seen = [], {}
    for row in read_manifest(manifest.path, manifest.name):
        if isinstance(row, ImportProblem):
            problems.add(row)
            continue
        if row.emotion not in emotions:
            problems.add(ImportProblem(manifest.name, row.line,
                                       f"unknown emotion {row.emotion!r} (this project has: {', '.join(emotions)})"))
            continue
        question = row.question or questions_for.default_question_for(row.emotion)
        if (row.path, question) in seen:
            problems.add(ImportProblem(manifest.name, row.line, f"duplicate of line {seen[row.path, question]}"))
            continue
        if row.path in taken:
            problems.add(ImportProblem(manifest.name, row.line, f"{row.path!r} is already in project {project_name!r}"))
            continue
        seen[row.path, question] = row.line
        plan.note(row.path, (manifest.name, row.line))
        rows.append((row.line, row.path, row.emotion, question))
    if not rows and not problems.items:
        problems.add(ImportProblem(manifest.name, None, "the manifest has no rows"))
    problems.raise_if_any()
    plan.inspect(images_root, problems, required=True)
    problems.raise_if_any()

    per_image: dict[str, int] = {}
    for _line, key, _emotion, _question in rows:
        per_image[key] = per_image.get(key, 0) + 1
    with transaction.atomic():
        project = project or get_or_create_project(project_name, actor=actor)
        writer = _Writer(project, actor, existing_images, plan, progress, len(rows))
        writer.images(list(plan.first_seen))
        ids = iter(reserve_ids(Sample, len(rows)))
        basic_ordinal, truth_ordinal, complex_ordinal = (count(starts["basic"]), count(starts["truth"]),
                                                         count(starts["complex"]))
        for line, key, emotion, question in rows:
            if per_image[key] == 1:
                writer.sample(next(ids), key, Sample.Kind.BASIC, question, emotion, next(basic_ordinal),
                              next(truth_ordinal), final=False, source=(manifest.name, line))
            else:
                writer.sample(next(ids), key, Sample.Kind.COMPLEX, question, emotion, next(complex_ordinal),
                              None, final=False, source=(manifest.name, line))
        return writer.finish({"manifest": manifest.name})


def start_import_job(*, project: Project, actor, format: str, files: dict, images_root: str = "") -> ImportJob:
    """Store the uploaded files and queue an import for a Celery worker; returns the job to watch.

    ``files`` maps a role (``questions``, ``ground_truth``, ``complex`` or ``manifest``) to an uploaded file.
    """
    from ..tasks import run_import_job

    folder = Path(settings.MEDIA_ROOT) / "uploads" / uuid.uuid4().hex
    folder.mkdir(parents=True)
    stored = {}
    for role, upload in files.items():
        target = folder / f"{role}{Path(upload.name).suffix.lower()}"
        with open(target, "wb") as fh:
            for chunk in upload.chunks():
                fh.write(chunk)
        stored[role] = {"path": str(target), "name": Path(upload.name).name}
    with transaction.atomic():
        job = ImportJob.objects.create(project=project, created_by=actor, format=format, files=stored,
                                       images_root=images_root)
        Event.objects.create(project=project, actor=actor, action="import.queued",
                             after={"job": job.pk, "format": format,
                                    "files": {r: f["name"] for r, f in stored.items()}})
        transaction.on_commit(lambda: run_import_job.delay(job.pk))
    return job
