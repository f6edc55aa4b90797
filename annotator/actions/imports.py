"""Imports: EIBench benchmark files and manifests of new images.

An EIBench import reads each file once, checking and writing in the same pass inside one transaction (rows
go to the database in bulk while the next lines are read, see :mod:`annotator.bulk`); any problem (file, line,
message) stops the writing, the files are still read to the end to report every problem, and the transaction is
rolled back.
It writes one ``project.imported`` Event: the files, the summary, and which ordinals came from which file,
from which every sample's file and line follow (``Sample.imported_from``) without an Event per sample.
A manifest import checks every row and image first, then writes, with a ``sample.imported`` Event per sample.
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

from ..bulk import BulkWriter, db_datetime, reserve_ids
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
    """What a manifest import does about each image path it meets (checked before anything is written)."""

    first_seen: dict[str, tuple[str, int]] = field(default_factory=dict)  # key -> (file, line)
    found: dict[str, ImageInfo] = field(default_factory=dict)

    def note(self, key: str, where: tuple[str, int]):
        self.first_seen.setdefault(key, where)

    def inspect(self, images_root: Path | None, problems: _Problems, *, required: bool):
        if images_root is None:
            return
        for key, (name, line) in self.first_seen.items():
            info = _inspect(images_root, key, name, line, problems, required=required)
            if info:
                self.found[key] = info


def _inspect(images_root: Path, key: str, name: str, line: int, problems, *, required: bool) -> ImageInfo | None:
    """The image file for ``key`` under the images root, checked with Pillow; None (and maybe a problem) if not."""
    try:
        path = resolve_under(images_root, key)
        if not path.is_file():
            if required:
                problems.add(ImportProblem(name, line, f"no image file {key!r} under the images root"))
            return None
        return inspect_image(path)
    except ImageRejected as exc:
        problems.add(ImportProblem(name, line, f"{key}: {exc}"))
        return None


def _existing(project: Project | None):
    """Images already in the project (key -> (id, has a file)), keys already taken, where new ordinals start."""
    if project is None:
        return {}, set(), set(), {"basic": 0, "complex": 0, "truth": 0}
    images = {key: (pk, bool(file)) for key, pk, file in
              Image.objects.filter(project=project).values_list("dataset_key", "id", "file")}
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


class _Ids:
    """Primary keys drawn from the table's sequence: as many as the import can need (its files' lines), in one
    query when the first is wanted; should more be needed, in further blocks. Unused ones are just gaps."""

    def __init__(self, model, expected: int, bulk: BulkWriter):
        self.model = model
        self.block = max(expected, 1)
        self.bulk = bulk
        self.pending = iter(())

    def next(self) -> int:
        pk = next(self.pending, None)
        if pk is None:
            with self.bulk.exclusive():
                self.pending = iter(reserve_ids(self.model, self.block))
            self.block = max(self.block, 1024)
            pk = next(self.pending)
        return pk


class _Writer:
    """Rows for images, samples and triggers, handed to a :class:`BulkWriter` as the files are read.

    Nothing is written once a problem was found (reading goes on, to report every problem); the caller then
    raises :class:`ImportRefused` inside the transaction, so the rows already sent are rolled back.
    """

    IMAGE_COLUMNS = ("id", "project_id", "dataset_key", "file", "sha256", "width", "height")
    SAMPLE_COLUMNS = ("id", "project_id", "image_id", "kind", "question", "emotion", "state", "ordinal",
                      "truth_ordinal", "version", "error", "created_at", "updated_at")
    TRIGGER_COLUMNS = ("sample_id", "text", "label", "position", "kind", "category", "explicit", "origin", "fate",
                       "created_at")
    EVENT_COLUMNS = ("project_id", "sample_id", "action", "after", "created_at")
    PROGRESS_EVERY = 10_000

    def __init__(self, project: Project, actor, bulk: BulkWriter, existing_images: dict[str, tuple[int, bool]],
                 images_root: Path | None, found: dict[str, ImageInfo] | None, problems: _Problems,
                 progress: Progress | None, total: int, *, sample_events: bool):
        """``total``: how many samples the import can have at most (its files' lines), for ids and progress."""
        self.project = project
        self.project_id = project.pk
        self.actor = actor
        self.bulk = bulk
        self.now = db_datetime(timezone.now())
        self.existing = existing_images
        self.image_ids = {key: pk for key, (pk, _has_file) in existing_images.items()}
        self.images_root = images_root
        self.found = found  # images already inspected (manifest), else inspected here as they come
        self.problems = problems
        self.file_problems = problems  # where problems with images go (the file being read)
        self.progress = progress
        self.total = total
        self.sample_events = sample_events
        self.result = ImportResult(project_id=project.pk, project=project.name)
        self.images = bulk.table(Image, self.IMAGE_COLUMNS)
        self.samples = bulk.table(Sample, self.SAMPLE_COLUMNS)
        self.triggers = bulk.table(Trigger, self.TRIGGER_COLUMNS)
        self.events = bulk.table(Event, self.EVENT_COLUMNS) if sample_events else None
        self.image_pks = _Ids(Image, total, bulk)
        self.sample_pks = _Ids(Sample, total, bulk)
        self.to_store: list[tuple[int, ImageInfo]] = []  # files copied into storage once the import is accepted
        self.reattach: dict[str, ImageInfo] = {}
        self.states = {True: Sample.State.FINAL, False: Sample.State.IMPORTED}
        self.trigger_tail = ("", "", None, Trigger.Origin.IMPORTED, Trigger.Fate.KEPT, self.now)

    @property
    def writing(self) -> bool:
        return not self.problems.items

    def image(self, key: str, name: str, line: int) -> int | None:
        """The id of the project's image ``key``: new images are written (with their file when found)."""
        pk = self.image_ids.get(key)
        if pk is not None:
            existing = self.existing.get(key)
            if existing and not existing[1] and key not in self.reattach:  # a missing image: is it here now?
                info = self._info(key, name, line)
                if info:
                    self.reattach[key] = info
            return pk
        info = self._info(key, name, line)
        if not self.writing:
            self.image_ids[key] = 0
            return None
        self.image_ids[key] = pk = self.image_pks.next()
        if info:
            self.to_store.append((pk, info))
            self.images.append((pk, self.project_id, key, info.storage_name, info.sha256, info.width, info.height))
            self.result.images_attached += 1
        else:
            self.images.append((pk, self.project_id, key, "", "", None, None))
            self.result.images_missing += 1
        self.result.images_created += 1
        return pk  # (its sample comes next, and sends the batch when it is full)

    def _info(self, key, name, line) -> ImageInfo | None:
        if self.found is not None:
            return self.found.get(key)
        if self.images_root is None:
            return None
        return _inspect(self.images_root, key, name, line, self.file_problems, required=False)

    def new_sample_id(self) -> int | None:
        """An id for a sample written later (None once nothing is written any more)."""
        return self.sample_pks.next() if self.writing else None

    def sample(self, image_id, kind, question, emotion, ordinal, truth_ordinal, *, final: bool, source,
               pk: int | None = None) -> int | None:
        """Write a sample (with the id drawn for it before, or a new one); returns its id (None once nothing is
        written any more)."""
        if not self.writing:
            return None
        if pk is None:
            pk = self.sample_pks.next()
        self.samples.append((pk, self.project_id, image_id, kind, question, emotion, self.states[final], ordinal,
                             truth_ordinal, 1, "", self.now, self.now))
        self.result.final_samples += final
        if self.events is not None:
            after = {"file": source[0], "line": source[1]}
            self.events.append((self.project_id, pk, "sample.imported", _jsonb(after) if self.bulk.postgres
                                else _json(after), self.now))
        self.result.samples += 1
        self.bulk.maybe_send()
        if self.progress and self.result.samples % self.PROGRESS_EVERY == 0:
            with self.bulk.exclusive():
                self.progress(self.result.samples, self.total)
        return pk

    def trigger_list(self, sample_id: int | None, value: str):
        """The sample's imported triggers, parsed losslessly from a numbered list."""
        if sample_id is None:
            return
        kind, category, explicit, origin, fate, now = self.trigger_tail
        parsed = eibench.parse_trigger_list(value)
        self.triggers.extend([(sample_id, text, label, position, kind, category, explicit, origin, fate, now)
                              for position, (label, text) in enumerate(parsed, start=1)])
        self.result.triggers += len(parsed)
        self.bulk.maybe_send()

    def finish(self, files: dict[str, str], sources: dict[str, dict]) -> ImportResult:
        """Write what is left, store the image files and the ``project.imported`` Event (the import's record:
        its files, and which ordinals came from which file, so every sample knows its file and line)."""
        self.bulk.close()
        for pk, info in self.to_store:
            stored = store_image(info)
            if stored != info.storage_name:
                Image.objects.filter(pk=pk).update(file=stored)
        for img in Image.objects.filter(project=self.project, dataset_key__in=list(self.reattach), file=""):
            info = self.reattach[img.dataset_key]
            img.file.name, img.sha256, img.width, img.height = (
                store_image(info), info.sha256, info.width, info.height)
            img.save(update_fields=["file", "sha256", "width", "height"])
            self.result.images_attached += 1
        Event.objects.create(project=self.project, actor=self.actor, action="project.imported",
                             after={"files": files, **self.result.as_dict(), "sources": sources})
        if self.progress:
            self.progress(self.result.samples, self.result.samples)
        return self.result


def _json(value) -> str:
    return json.dumps(value)


def _jsonb(value):
    from psycopg.types.json import Jsonb

    return Jsonb(value)


def _count_lines(source: Source | None) -> int:
    """Lines in a file (a JSONL file's records: the most samples it can bring), counted fast (newlines, plus a
    last line without one): ids for them are drawn in one query, and progress has a total."""
    if source is None:
        return 0
    lines, last = 0, b"\n"
    with open(source.path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            lines += chunk.count(b"\n")
            last = chunk[-1:]
    return lines + (last != b"\n")


def import_eibench(*, project_name: str, questions: Source | None = None, ground_truth: Source | None = None,
                   complex: Source | None = None, images_root: Path | None = None, actor=None,
                   progress: Progress | None = None) -> ImportResult:
    """Import EIBench files (``user.jsonl``, ``basic_ground_truth.json``, ``ec_complex.jsonl``).

    Samples that come with ground truth are imported as final, their triggers with origin "imported".
    Raises :class:`ImportRefused` (and writes nothing) on any problem.

    Each file is read once, checked and written in the same pass, inside one transaction: the ground truth
    first (its triggers, for sample ids drawn then; only its keys, ids and ordinals are kept), then the
    questions (images and samples), then the complex file (image, sample, triggers per line). The server
    stores the rows of one file while Python reads the next lines, and the heavy part of each is on both
    sides at once: triggers while the ground truth is parsed, images and samples while the questions are.
    A problem stops the writing; reading goes on to report every problem, then the transaction is rolled back.
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

    # Problems are reported file by file in this order, whichever file was read first.
    questions_problems, truth_problems, complex_problems = _Problems(), _Problems(), _Problems()
    found = _Problems()  # all problems, to know whether to go on writing

    class _Both:
        """Problems of one file, also counted among all problems (which stop the writing)."""

        def __init__(self, part: _Problems):
            self.part = part

        def add(self, item: ImportProblem):
            self.part.add(item)
            found.add(item)

    def problem(where: _Problems, item: ImportProblem):
        _Both(where).add(item)

    total = _count_lines(questions) + _count_lines(complex)  # at most one sample (and image) per line
    with transaction.atomic():
        project = Project.objects.filter(name=project_name).first()
        existing_images, existing_basic, existing_complex, starts = _existing(project)
        project = project or get_or_create_project(project_name, actor=actor)
        sources = {}
        with BulkWriter() as bulk:
            writer = _Writer(project, actor, bulk, existing_images, images_root, None, found, progress, total,
                             sample_events=False)
            # The ground truth first: its order gives truth_ordinal, and its triggers go in as it is read (for
            # sample ids drawn now; the foreign keys are checked when the writer closes, whatever the order).
            truth: dict[str, tuple[int | None, int, int]] = {}  # key -> (sample id, truth ordinal, line)
            if ground_truth:
                truth_ordinal = count(starts["truth"])
                # Nothing but triggers here: they go into one COPY as they come (BulkWriter.streaming).
                with bulk.streaming(Trigger):
                    for rec in eibench.read_ground_truth(ground_truth.path, ground_truth.name):
                        if isinstance(rec, ImportProblem):
                            problem(truth_problems, rec)
                            continue
                        line, key, value = rec
                        seen = truth.get(key)
                        if seen is not None:
                            problem(truth_problems, ImportProblem(
                                ground_truth.name, line, f"duplicate image path {key!r} (first on line {seen[2]})"))
                            continue
                        pk = writer.new_sample_id()
                        truth[key] = (pk, next(truth_ordinal), line)
                        writer.trigger_list(pk, value)
            # Then the questions: each line's image and sample (final if it had ground truth).
            if questions:
                writer.file_problems = _Both(questions_problems)
                basic_lines: dict[str, int] = {}
                ordinal = count(starts["basic"])
                with bulk.streaming(Sample):  # samples into one COPY, images in batches meanwhile
                    for rec in eibench.read_questions(questions.path, questions.name):
                        if isinstance(rec, ImportProblem):
                            problem(questions_problems, rec)
                            continue
                        line, key, question = rec
                        first = basic_lines.get(key)
                        if first is not None:
                            problem(questions_problems, ImportProblem(
                                questions.name, line, f"duplicate image path {key!r} (first on line {first})"))
                            continue
                        if key in existing_basic:
                            problem(questions_problems, ImportProblem(
                                questions.name, line, f"{key!r} is already in project {project_name!r}"))
                            continue
                        basic_lines[key] = line
                        image_id = writer.image(key, questions.name, line)
                        known = truth.get(key)
                        writer.sample(image_id, Sample.Kind.BASIC, question, eibench.emotion_from_path(key),
                                      next(ordinal), None if known is None else known[1], final=known is not None,
                                      source=None, pk=None if known is None else known[0])
                for key, (_pk, _ordinal, line) in truth.items():
                    if key not in basic_lines:
                        problem(truth_problems, ImportProblem(
                            ground_truth.name, line, f"{key!r} has ground truth but no question in {questions.name}"))
                if basic_lines:
                    sources[Sample.Kind.BASIC] = {
                        "file": questions.name,
                        "ordinals": [starts["basic"], starts["basic"] + len(basic_lines) - 1]}
                del basic_lines
            del truth
            if complex:
                writer.file_problems = _Both(complex_problems)
                complex_lines: dict[tuple[str, str], int] = {}
                ordinal = count(starts["complex"])
                with bulk.streaming(Trigger):  # most of its rows; images and samples in batches
                    for rec in eibench.read_complex(complex.path, complex.name):
                        if isinstance(rec, ImportProblem):
                            problem(complex_problems, rec)
                            continue
                        line, key, question, value = rec
                        first = complex_lines.get((key, question))
                        if first is not None:
                            problem(complex_problems, ImportProblem(
                                complex.name, line, f"duplicate question for {key!r} (first on line {first})"))
                            continue
                        if (key, question) in existing_complex:
                            problem(complex_problems, ImportProblem(
                                complex.name, line,
                                f"this question for {key!r} is already in project {project_name!r}"))
                            continue
                        complex_lines[key, question] = line
                        image_id = writer.image(key, complex.name, line)
                        emotion = eibench.emotion_from_question(question, eibench.emotion_from_path(key))
                        pk = writer.sample(image_id, Sample.Kind.COMPLEX, question, emotion, next(ordinal), None,
                                           final=True, source=None)
                        writer.trigger_list(pk, value)
                if complex_lines:
                    sources[Sample.Kind.COMPLEX] = {
                        "file": complex.name,
                        "ordinals": [starts["complex"], starts["complex"] + len(complex_lines) - 1]}
            if found.items:
                report = _Problems()
                truth_problems.items.sort(key=lambda p: (p.line is None, p.line or 0))  # some come after the questions
                for part in (questions_problems, truth_problems, complex_problems):
                    for item in part.items:
                        report.add(item)
                    report.more += part.more
                raise ImportRefused(report.items, report.more)  # rolls the transaction back
        files = {role: src.name for role, src in
                 (("questions", questions), ("ground_truth", ground_truth), ("complex", complex)) if src}
        return writer.finish(files, sources)


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
        with BulkWriter() as bulk:
            # Manifest rows are checked before anything is written (the images must all be there), and each
            # sample gets its own "sample.imported" Event naming its line (a manifest's ordinals do not follow its
            # lines: basic and complex samples interleave, and a CSV has a header).
            writer = _Writer(project, actor, bulk, existing_images, images_root, plan.found, problems, progress,
                             len(rows), sample_events=True)
            basic_ordinal, truth_ordinal, complex_ordinal = (count(starts["basic"]), count(starts["truth"]),
                                                             count(starts["complex"]))
            for line, key, emotion, question in rows:
                image_id = writer.image(key, manifest.name, line)
                if per_image[key] == 1:
                    writer.sample(image_id, Sample.Kind.BASIC, question, emotion, next(basic_ordinal),
                                  next(truth_ordinal), final=False, source=(manifest.name, line))
                else:
                    writer.sample(image_id, Sample.Kind.COMPLEX, question, emotion, next(complex_ordinal), None,
                                  final=False, source=(manifest.name, line))
        return writer.finish({"manifest": manifest.name}, {})


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
