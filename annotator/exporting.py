"""Exports, as generators of text (or bytes) that stream with flat memory and a fixed number of queries.

The EIBench export holds the project's **final** samples: ``user.jsonl`` and ``basic_ground_truth.json`` for
basic samples (in their own record orders), ``ec_complex.jsonl`` for complex ones; each trigger list is the
kept triggers in position order. The provenance export has one JSON line per sample with every trigger
(whatever its fate) and the sample's whole event history.
"""
from __future__ import annotations

import json
import queue
import threading
import zipfile
from collections.abc import Iterator
from contextlib import suppress
from pathlib import Path

from django.conf import settings
from django.db import connection, transaction
from django.utils.module_loading import import_string

from .formats import eibench
from .models import Event, Project, Sample, Trigger, import_source
from .provenance import decisions

CHUNK = 5000
AHEAD_ROWS, AHEAD_PARTS = 1000, 4  # rows read ahead by _ahead's thread: at most this many parts of this many
EIBENCH_FILES = (eibench.QUESTIONS_FILE, eibench.GROUND_TRUTH_FILE, eibench.COMPLEX_FILE)


def _final(project: Project, kind: str):
    return Sample.objects.filter(project=project, kind=kind, state=Sample.State.FINAL)


def _first(row):
    return row[0]


_END = object()


class _Failed:
    def __init__(self, error: BaseException):
        self.error = error


def _ahead(rows: Iterator) -> Iterator:
    """The rows of a streamed query (``QuerySet.iterator()``), read by a thread while the caller works on the
    previous ones (PostgreSQL; elsewhere ``rows`` as they are).

    A server-side cursor runs its query a ``FETCH`` at a time: read in one thread, the server would be idle while
    Python writes the rows it fetched, and Python idle while the server finds the next ones. The thread waits
    for the server with the GIL released. The query starts in the caller's thread (Django's connection is the
    caller's: its cursor is created there, so it is counted there too); the thread only fetches, through the
    same connection (psycopg connections take one command at a time, from any thread). At most ``AHEAD_PARTS``
    parts of ``AHEAD_ROWS`` rows wait, so memory stays flat. Leaving early (an error, a closed download) stops
    the thread and closes the cursor before the transaction ends."""
    if connection.vendor != "postgresql":
        yield from rows
        return
    first = next(rows, _END)  # executes the query, here
    if first is _END:
        return
    waiting: queue.Queue = queue.Queue(maxsize=AHEAD_PARTS)
    chunk = AHEAD_ROWS
    stop = threading.Event()

    def fetch():
        try:
            part = []
            for row in rows:
                part.append(row)
                if len(part) >= chunk:
                    waiting.put(part)
                    if stop.is_set():
                        return
                    part = []
            waiting.put(part)
            waiting.put(_END)
        except BaseException as exc:  # handed to the caller, raised there
            waiting.put(_Failed(exc))

    thread = threading.Thread(target=fetch, name="export-fetch", daemon=True)
    thread.start()
    try:
        yield first
        while (part := waiting.get()) is not _END:
            if isinstance(part, _Failed):
                raise part.error
            yield from part
    finally:
        stop.set()
        while thread.is_alive():  # left early: let it out of a full queue's put (at the end it is leaving)
            with suppress(queue.Empty):
                waiting.get(timeout=0.01)
        thread.join()
        close = getattr(rows, "close", None)
        if close is not None:
            close()  # the server-side cursor, closed (if not already) inside the transaction


def _merge(parents, children, parent_id=_first):
    """Pair each parent row with its child rows (a merge join on the children's first column); both come ordered
    the same way. It runs once per exported row: no call per child beyond ``next``."""
    children = iter(children)
    pending = next(children, None)
    for parent in parents:
        mine = []
        pid = parent_id(parent)
        while pending is not None and pending[0] == pid:
            mine.append(pending)
            pending = next(children, None)
        yield parent, mine


class _Section:
    """Rows ``(sample_id, item)`` ordered by sample id, handed out sample by sample (a merge join)."""

    def __init__(self, rows):
        self.rows = iter(rows)
        self.pending = next(self.rows, None)

    def take(self, sample_id: int) -> list:
        while self.pending is not None and self.pending[0] < sample_id:
            self.pending = next(self.rows, None)
        out = []
        while self.pending is not None and self.pending[0] == sample_id:
            out.append(self.pending[1])
            self.pending = next(self.rows, None)
        return out


def _trigger_lists(project: Project, kind: str, order: tuple[str, ...]) -> Iterator[tuple[tuple, str]]:
    """``(sample row, rendered kept-trigger list)`` for the final samples of ``kind`` in ``order``: two streamed
    queries (the triggers' filters on their sample, not ``sample__in``: one join, not two)."""
    rows = _final(project, kind).order_by(*order, "id").values_list("id", "image__dataset_key", "question")
    kept = (
        Trigger.objects.filter(sample__project=project, sample__kind=kind, sample__state=Sample.State.FINAL,
                               fate=Trigger.Fate.KEPT)
        .order_by(*(f"sample__{o}" for o in order), "sample_id", "position", "id")
        .values_list("sample_id", "label", "text")
    )
    for sample, triggers in _merge(_ahead(rows.iterator(chunk_size=CHUNK)),
                                   _ahead(kept.iterator(chunk_size=CHUNK * 5))):
        yield sample, eibench.render_trigger_rows(triggers)


def eibench_parts(project: Project) -> dict[str, bool]:
    """Which EIBench files the project has something for."""
    basic = _final(project, Sample.Kind.BASIC).exists()
    return {
        eibench.QUESTIONS_FILE: basic,
        eibench.GROUND_TRUTH_FILE: basic,
        eibench.COMPLEX_FILE: _final(project, Sample.Kind.COMPLEX).exists(),
    }


def _snapshot(chunks: Iterator):
    """Stream inside one transaction: one consistent snapshot, and PostgreSQL's server-side cursors need no
    WITH HOLD (which would materialise the whole result before the first row)."""
    with transaction.atomic():
        yield from chunks


def eibench_file(project: Project, name: str) -> Iterator[str]:
    """The text of one EIBench file, streamed."""
    return _snapshot(_eibench_file(project, name))


def _eibench_file(project: Project, name: str) -> Iterator[str]:
    if name == eibench.QUESTIONS_FILE:
        rows = _final(project, Sample.Kind.BASIC).order_by("ordinal", "id")
        return eibench.write_questions(
            _ahead(rows.values_list("image__dataset_key", "question").iterator(chunk_size=CHUNK)))
    if name == eibench.GROUND_TRUTH_FILE:
        lists = _trigger_lists(project, Sample.Kind.BASIC, ("truth_ordinal", "ordinal"))
        return eibench.write_ground_truth((row[1], text) for row, text in lists)
    if name == eibench.COMPLEX_FILE:
        lists = _trigger_lists(project, Sample.Kind.COMPLEX, ("ordinal",))
        return eibench.write_complex((row[1], row[2], text) for row, text in lists)
    raise ValueError(f"unknown EIBench file {name!r}; one of {', '.join(EIBENCH_FILES)}")


def write_eibench(project: Project, out_dir: Path) -> list[Path]:
    """Write the project's EIBench files under ``out_dir`` (all from one snapshot); returns the paths written."""
    written = []
    with transaction.atomic():
        for name, present in eibench_parts(project).items():
            if not present:
                continue
            path = Path(out_dir) / name
            path.parent.mkdir(parents=True, exist_ok=True)
            with open(path, "w", encoding="utf-8", newline="") as fh:
                pending = []  # a write per few hundred records, not per record
                for chunk in _eibench_file(project, name):
                    pending.append(chunk)
                    if len(pending) >= 512:
                        fh.write("".join(pending))
                        pending.clear()
                fh.write("".join(pending))
            written.append(path)
    return written


class _Sink:
    """A write-only file object that hands over what was written (for streaming a zip)."""

    def __init__(self):
        self.parts: list[bytes] = []
        self.size = 0

    def write(self, data):
        if data:  # zipfile writes b"" whenever the compressor holds its output back
            self.parts.append(bytes(data))
            self.size += len(data)
        return len(data)

    def flush(self):
        pass

    def take(self) -> bytes:
        data, self.parts, self.size = b"".join(self.parts), [], 0
        return data


def eibench_zip(project: Project) -> Iterator[bytes]:
    """All of the project's EIBench files as one zip archive, streamed (deflated, no seeking)."""
    return _snapshot(_eibench_zip(project))


def _eibench_zip(project: Project) -> Iterator[bytes]:
    sink = _Sink()
    with zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, present in eibench_parts(project).items():
            if not present:
                continue
            with archive.open(name, "w", force_zip64=True) as member:
                pending, pending_size = [], 0
                for chunk in _eibench_file(project, name):
                    pending.append(chunk)
                    pending_size += len(chunk)
                    if pending_size > 1 << 16:  # compress in 64 KiB pieces, not line by line
                        member.write("".join(pending).encode("utf-8"))
                        pending, pending_size = [], 0
                        if sink.size:
                            yield sink.take()
                member.write("".join(pending).encode("utf-8"))
            yield sink.take()
    yield sink.take()


def provenance_lines(project: Project) -> Iterator[str]:
    """One JSON line per sample: the sample, all its triggers (origin, fate, lineage) and its events."""
    return _snapshot(_provenance_lines(project))


def _provenance_lines(project: Project) -> Iterator[str]:
    samples = (
        Sample.objects.filter(project=project).order_by("id")
        .values_list("id", "image__dataset_key", "kind", "question", "emotion", "state", "version", "ordinal")
    )
    triggers = (
        Trigger.objects.filter(sample__project=project).order_by("sample_id", "position", "id")
        .values_list("sample_id", "id", "position", "label", "text", "origin", "fate", "kind", "category",
                     "explicit", "parent_id")
    )
    events = (
        Event.objects.filter(project=project, sample__isnull=False).order_by("sample_id", "id")
        .values_list("sample_id", "id", "action", "pass_number", "actor__username", "trigger_id", "before",
                     "after", "created_at")
    )
    # An EIBench import records each sample's file and line once, in its project.imported Event (see
    # Sample.imported_from): shown here as the sample's first event, as a per-sample Event would be.
    imports = list(
        Event.objects.filter(project=project, action="project.imported").order_by("id")
        .values_list("id", "actor__username", "after", "created_at")
    )
    merged = _merge(
        _merge(_ahead(samples.iterator(chunk_size=CHUNK)), _ahead(triggers.iterator(chunk_size=CHUNK * 5))),
        _ahead(events.iterator(chunk_size=CHUNK * 2)),
        parent_id=lambda pair: pair[0][0],
    )
    # Sections other apps add (settings.EISTUDIO_PROVENANCE_SECTIONS: name → function(project) yielding
    # (sample_id, item) ordered by sample id), merged in the same way: still a fixed number of queries.
    sections = {name: _Section(import_string(path)(project))
                for name, path in settings.EISTUDIO_PROVENANCE_SECTIONS.items()}
    for (sample, trigger_rows), event_rows in merged:
        sid, key, kind, question, emotion, state, version, ordinal = sample
        extra = {name: section.take(sid) for name, section in sections.items()}
        kept = [t for t in trigger_rows if t[6] == Trigger.Fate.KEPT]
        decided, submitted = decisions(event_rows)  # the pass and person that decided each fate
        position_in_export = {t[1]: i for i, t in enumerate(kept, start=1)}
        imported = _imported_event(imports, kind, ordinal)
        yield json.dumps({
            "sample": sid, "image": key, "kind": kind, "question": question, "emotion": emotion,
            "state": state, "version": version, "ordinal": ordinal,
            "triggers": [
                {"id": t[1], "position": t[2], "exported_as": position_in_export.get(t[1]),
                 "text": t[4], "label": t[3], "origin": t[5], "fate": t[6], "kind": t[7], "category": t[8],
                 "explicit": t[9], "parent": t[10], "decided": decided.get(t[1], submitted)}
                for t in trigger_rows
            ],
            "events": [*imported, *(
                {"id": e[1], "action": e[2], "pass": e[3], "actor": e[4], "trigger": e[5], "before": e[6],
                 "after": e[7], "at": e[8].isoformat()}
                for e in event_rows)],
            **extra,
        }, ensure_ascii=False) + "\n"


def _imported_event(imports, kind: str, ordinal: int) -> list[dict]:
    """The sample's "sample.imported" event (a list of one, or none), derived from the project.imported Event
    that brought it in."""
    for event_id, actor, after, at in imports:
        where = import_source(after, kind, ordinal)
        if where:
            return [{"id": event_id, "action": "sample.imported", "pass": None, "actor": actor, "trigger": None,
                     "before": None, "after": where, "at": at.isoformat()}]
    return []
