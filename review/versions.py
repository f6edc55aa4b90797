"""Frozen benchmark versions: the snapshot of a project's final samples, the EIBench files rendered from it
(with ``annotator.formats.eibench``'s writers, as ``annotator.exporting`` writes them), their digests, the
version checksum, a deterministic zip, and the changelog between two versions.

Freezing checks that the files rendered from the snapshot are byte-identical to what ``annotator.exporting``
writes at that moment; exporting a version later renders them again from the stored entries and refuses to
hand out anything whose digest differs from the one frozen.
"""
from __future__ import annotations

import hashlib
import io
import zipfile
from collections.abc import Iterator

from django.db.models import Q

from annotator.exporting import EIBENCH_FILES, eibench_file
from annotator.formats import eibench
from annotator.models import Project, Sample, Trigger

ENTRY_FIELDS = ("sample_id", "kind", "ordinal", "truth_ordinal", "truth_position", "dataset_key", "question",
                "emotion", "triggers")
ZIP_NAME = "eibench.zip"
ZIP_DATE = (1980, 1, 1, 0, 0, 0)  # fixed member timestamps: the same entries give the same zip bytes
CHANGES_SHOWN = 200


class VersionCorrupt(Exception):
    """A version's files no longer render to the bytes that were frozen."""


def snapshot(project: Project) -> list[dict]:
    """The final samples as they are exported: one dict per sample with ``ENTRY_FIELDS`` (three queries)."""
    final = Sample.objects.filter(project=project, state=Sample.State.FINAL)
    rows = list(final.order_by("kind", "ordinal", "id").values_list(
        "id", "kind", "ordinal", "truth_ordinal", "image__dataset_key", "question", "emotion"))
    lists: dict[int, list[tuple]] = {}
    for sid, label, text in (Trigger.objects.filter(Q(sample__in=final), fate=Trigger.Fate.KEPT)
                             .order_by("sample_id", "position", "id").values_list("sample_id", "label", "text")
                             .iterator(chunk_size=20000)):
        lists.setdefault(sid, []).append((label, text))
    truth_order = {sid: i for i, sid in enumerate(
        final.filter(kind=Sample.Kind.BASIC).order_by("truth_ordinal", "ordinal", "id").values_list("id", flat=True))}
    return [{"sample_id": sid, "kind": kind, "ordinal": ordinal, "truth_ordinal": truth_ordinal,
             "truth_position": truth_order.get(sid), "dataset_key": key, "question": question, "emotion": emotion,
             "triggers": eibench.render_trigger_list(lists.get(sid, []))}
            for sid, kind, ordinal, truth_ordinal, key, question, emotion in rows]


def render(entries: list[dict], name: str) -> Iterator[str]:
    """One EIBench file of a snapshot."""
    basic = [e for e in entries if e["kind"] == Sample.Kind.BASIC]
    if name == eibench.QUESTIONS_FILE:
        return eibench.write_questions((e["dataset_key"], e["question"])
                                       for e in sorted(basic, key=lambda e: (e["ordinal"], e["sample_id"])))
    if name == eibench.GROUND_TRUTH_FILE:
        return eibench.write_ground_truth((e["dataset_key"], e["triggers"])
                                          for e in sorted(basic, key=lambda e: e["truth_position"]))
    if name == eibench.COMPLEX_FILE:
        rows = sorted((e for e in entries if e["kind"] == Sample.Kind.COMPLEX),
                      key=lambda e: (e["ordinal"], e["sample_id"]))
        return eibench.write_complex((e["dataset_key"], e["question"], e["triggers"]) for e in rows)
    raise ValueError(f"unknown file {name!r}; one of {', '.join(EIBENCH_FILES)}")


def parts(entries: list[dict]) -> list[str]:
    """The EIBench files a snapshot has something for (as ``annotator.exporting.eibench_parts``)."""
    kinds = {e["kind"] for e in entries}
    names = []
    if Sample.Kind.BASIC in kinds:
        names += [eibench.QUESTIONS_FILE, eibench.GROUND_TRUTH_FILE]
    if Sample.Kind.COMPLEX in kinds:
        names.append(eibench.COMPLEX_FILE)
    return names


def file_bytes(entries: list[dict], name: str) -> bytes:
    return "".join(render(entries, name)).encode("utf-8")


def digests(entries: list[dict]) -> dict[str, dict]:
    """name → {sha256, bytes} of each file of the snapshot."""
    out = {}
    for name in parts(entries):
        data = file_bytes(entries, name)
        out[name] = {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}
    return out


def checksum(files: dict[str, dict]) -> str:
    """sha256 over ``"<name> <sha256>\\n"`` lines in file-name order (like ``sha256sum`` output, sorted)."""
    text = "".join(f"{name} {files[name]['sha256']}\n" for name in sorted(files))
    return hashlib.sha256(text.encode()).hexdigest()


def matches_export(project: Project, entries: list[dict]) -> list[str]:
    """Names of the files whose snapshot rendering differs from ``annotator.exporting``'s output now."""
    differ = []
    for name in EIBENCH_FILES:
        exported = "".join(eibench_file(project, name)) if name in parts(entries) else None
        mine = "".join(render(entries, name)) if name in parts(entries) else None
        if exported != mine:
            differ.append(name)
    return differ


def verified_file(version, entries: list[dict], name: str) -> bytes:
    """A version's file, checked against its frozen digest."""
    if name not in version.files:
        raise KeyError(name)
    data = file_bytes(entries, name)
    if hashlib.sha256(data).hexdigest() != version.files[name]["sha256"]:
        raise VersionCorrupt(f"{name} of version {version.number} does not match its frozen sha256")
    return data


def zip_bytes(version, entries: list[dict]) -> bytes:
    """All files of a version as a zip with fixed timestamps and order: the same bytes every time."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name in sorted(version.files):
            info = zipfile.ZipInfo(name, date_time=ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, verified_file(version, entries, name), compresslevel=9)
        manifest = "".join(f"{version.files[n]['sha256']}  {n}\n" for n in sorted(version.files))
        info = zipfile.ZipInfo("SHA256SUMS", date_time=ZIP_DATE)
        info.external_attr = 0o644 << 16
        archive.writestr(info, manifest)
    return buffer.getvalue()


def _key(e: dict) -> tuple[str, str, str]:
    return e["kind"], e["dataset_key"], e["question"]


def diff(before: list[dict], after: list[dict]) -> dict:
    """Samples added, removed and changed (trigger list or emotion) between two snapshots,
    keyed by (kind, image path, question)."""
    old = {_key(e): e for e in before}
    new = {_key(e): e for e in after}
    added = [k for k in new if k not in old]
    removed = [k for k in old if k not in new]
    changed = []
    for k in new:
        if k in old:
            a, b = old[k], new[k]
            fields = [f for f in ("triggers", "emotion") if a[f] != b[f]]
            if fields:
                changed.append({"kind": k[0], "image": k[1], "question": k[2], "fields": fields,
                                "before": a["triggers"], "after": b["triggers"]})
    return {"added": [{"kind": k[0], "image": k[1], "question": k[2]} for k in added],
            "removed": [{"kind": k[0], "image": k[1], "question": k[2]} for k in removed],
            "changed": changed, "unchanged": len(new) - len(added) - len(changed)}


def changelog(before: list[dict], after: list[dict], previous_number: int | None) -> dict:
    """The stored summary: counts, and the first ``CHANGES_SHOWN`` of each list (the full diff is computed from
    the entries on demand)."""
    d = diff(before, after)
    return {"previous": previous_number, "added": len(d["added"]), "removed": len(d["removed"]),
            "changed": len(d["changed"]), "unchanged": d["unchanged"],
            "added_keys": d["added"][:CHANGES_SHOWN], "removed_keys": d["removed"][:CHANGES_SHOWN],
            "changed_keys": [{k: c[k] for k in ("kind", "image", "question", "fields")}
                             for c in d["changed"][:CHANGES_SHOWN]]}


def entries_of(version) -> list[dict]:
    return list(version.entries.order_by("kind", "ordinal", "id").values(*ENTRY_FIELDS))
