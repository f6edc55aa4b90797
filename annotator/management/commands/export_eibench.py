import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from annotator.exporting import provenance_lines, write_eibench
from annotator.models import Project


class Command(BaseCommand):
    help = (
        "Export a project. --format eibench (default) writes the final samples as DIR/EI_Basic/user.jsonl, "
        "DIR/EI_Basic/basic_ground_truth.json and DIR/EI_Complex/ec_complex.jsonl (only the parts the project "
        "has), byte-for-byte in the EIBench layout and record order. --format provenance writes one JSON line "
        "per sample with all its triggers (origin, fate, lineage) and its event history to "
        "DIR/provenance.jsonl (or stdout with --out -)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--project", required=True)
        parser.add_argument("--out", required=True, metavar="DIR",
                            help="output folder ('-' for stdout, provenance only)")
        parser.add_argument("--format", choices=["eibench", "provenance"], default="eibench")

    def handle(self, *args, **opts):
        project = Project.objects.filter(name=opts["project"]).first()
        if project is None:
            raise CommandError(f"no project named {opts['project']!r}")
        if opts["format"] == "provenance":
            if opts["out"] == "-":
                for line in provenance_lines(project):
                    sys.stdout.write(line)
                return
            out = Path(opts["out"])
            out.mkdir(parents=True, exist_ok=True)
            with open(out / "provenance.jsonl", "w", encoding="utf-8") as fh:
                for line in provenance_lines(project):
                    fh.write(line)
            self.stdout.write(self.style.SUCCESS(f"wrote {out / 'provenance.jsonl'}"))
            return
        if opts["out"] == "-":
            raise CommandError("--out - is for --format provenance; EIBench exports are several files")
        written = write_eibench(project, Path(opts["out"]))
        if not written:
            self.stdout.write(self.style.WARNING("the project has no final samples: nothing written"))
        for path in written:
            self.stdout.write(self.style.SUCCESS(f"wrote {path}"))
