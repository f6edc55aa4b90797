from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from review.actions import RatingsRefused, do_import_ratings

from ._project import project_named


class Command(BaseCommand):
    help = (
        "Import one rater's quality ratings of the original benchmark's format: one {\"<image path>\": \"<0-5>\"} "
        "JSON object per line, one file per rater (e.g. the EIBench human check). Each image path must be an "
        "image of the project with one sample. Every line is checked first; with any problem the command lists "
        "them all (file, line, what is wrong), imports nothing and exits with status 1. Imported ratings go into "
        "the project's 'imported ratings' draw and count in the dashboards and agreement_report like ratings "
        "made here (filter them with source=imported)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--project", required=True, help="the project's name")
        parser.add_argument("--rater", required=True, help="the rater's name (as it will appear in the figures)")
        parser.add_argument("file", metavar="FILE", help="the rater's file (JSON lines)")

    def handle(self, *args, **opts):
        project = project_named(opts["project"])
        path = Path(opts["file"])
        try:
            raw = path.read_bytes()
        except OSError as exc:
            raise CommandError(f"{path}: cannot read: {exc.strerror}") from None
        try:
            n = do_import_ratings(project.pk, opts["rater"], path.name, raw)
        except RatingsRefused as exc:
            raise CommandError("ratings refused, nothing was imported:\n" + exc.report()) from None
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(self.style.SUCCESS(f"imported {n} ratings by {opts['rater']} into {project.name}"))
