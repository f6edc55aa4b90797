import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from review import actions, versions
from review.models import BenchmarkVersion

from ._project import project_named


class Command(BaseCommand):
    help = (
        "Frozen benchmark versions. 'freeze' freezes the project's final samples as the next version (immutable, "
        "sha256 checksum, changelog against the previous version); 'list' lists them; 'export --version N --out "
        "DIR' writes version N's EIBench files (EI_Basic/user.jsonl, EI_Basic/basic_ground_truth.json, "
        "EI_Complex/ec_complex.jsonl) byte-for-byte as frozen, whatever changed in the project since, and "
        "'--zip FILE' writes the zip the web page serves (with SHA256SUMS). Exports are checked against the "
        "frozen digests; a mismatch is an error, never a silently different file."
    )

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="what", required=True)
        freeze = sub.add_parser("freeze", help="freeze the final samples as the next version")
        freeze.add_argument("--project", required=True)
        freeze.add_argument("--note", default="", help="the changelog note")
        freeze.add_argument("--by", metavar="USERNAME", help="the lead to record as freezing it (default: the "
                                                              "command line, recorded as system)")
        listing = sub.add_parser("list", help="list the project's versions")
        listing.add_argument("--project", required=True)
        export = sub.add_parser("export", help="write a version's files")
        export.add_argument("--project", required=True)
        export.add_argument("--version", type=int, required=True, help="the version number")
        export.add_argument("--out", metavar="DIR", help="write the EIBench files under DIR")
        export.add_argument("--zip", metavar="FILE", help="write the zip to FILE ('-' for stdout)")

    def handle(self, *args, **opts):
        project = project_named(opts["project"])
        if opts["what"] == "freeze":
            from django.contrib.auth import get_user_model

            actor = None
            if opts["by"]:
                actor = get_user_model().objects.filter(username=opts["by"]).first()
                if actor is None:
                    raise CommandError(f"no user named {opts['by']!r}")
            try:
                v = actions.do_freeze_version(project.pk, actor=actor, note=opts["note"])
            except (ValueError, versions.VersionCorrupt, actions.NotAllowed) as exc:
                raise CommandError(str(exc)) from None
            log = v.changelog
            self.stdout.write(self.style.SUCCESS(
                f"froze {project.name} v{v.number}: {v.samples} samples, sha256 {v.checksum}"))
            if log.get("previous"):
                self.stdout.write(f"against v{log['previous']}: +{log['added']} -{log['removed']} ~{log['changed']}")
            return
        if opts["what"] == "list":
            for v in BenchmarkVersion.objects.filter(project=project).order_by("number"):
                self.stdout.write(f"v{v.number}\t{v.created_at:%Y-%m-%d %H:%M}\t{v.samples} samples\t{v.checksum}"
                                  f"\t{v.note}")
            return
        v = BenchmarkVersion.objects.filter(project=project, number=opts["version"]).first()
        if v is None:
            raise CommandError(f"{project.name} has no version {opts['version']}")
        if not opts["out"] and not opts["zip"]:
            raise CommandError("give --out DIR and/or --zip FILE")
        entries = versions.entries_of(v)
        try:
            if opts["out"]:
                for name in sorted(v.files):
                    path = Path(opts["out"]) / name
                    path.parent.mkdir(parents=True, exist_ok=True)
                    path.write_bytes(versions.verified_file(v, entries, name))
                    self.stdout.write(self.style.SUCCESS(f"wrote {path}"))
            if opts["zip"]:
                data = versions.zip_bytes(v, entries)
                if opts["zip"] == "-":
                    sys.stdout.buffer.write(data)
                else:
                    Path(opts["zip"]).write_bytes(data)
                    self.stdout.write(self.style.SUCCESS(f"wrote {opts['zip']}"))
        except versions.VersionCorrupt as exc:
            raise CommandError(str(exc)) from None

