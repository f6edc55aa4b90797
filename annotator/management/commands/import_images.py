from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from annotator.actions import Source, import_manifest

from ._common import refusal_as_command_error, stderr_progress


class Command(BaseCommand):
    help = (
        "Import new images from a manifest (CSV with a header, or JSONL) with fields path, emotion and "
        "question. One row per sample: an image with one row becomes a basic sample, an image with several "
        "rows complex samples. A row without a question gets the project's default question for its emotion. "
        "Every image is validated with Pillow; any bad row refuses the whole import (nothing is written)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--project", required=True, help="project name (created when it does not exist)")
        parser.add_argument("--images-root", type=Path, required=True, metavar="DIR",
                            help="folder the manifest's paths are relative to")
        parser.add_argument("--manifest", type=Path, required=True, metavar="FILE",
                            help="a .csv or .jsonl manifest")

    def handle(self, *args, **opts):
        if not opts["manifest"].is_file():
            raise CommandError(f"--manifest: no such file {opts['manifest']}")
        with refusal_as_command_error():
            result = import_manifest(
                project_name=opts["project"],
                manifest=Source.of(opts["manifest"]),
                images_root=opts["images_root"],
                progress=stderr_progress("importing samples") if opts["verbosity"] >= 1 else None,
            )
        self.stdout.write(self.style.SUCCESS(
            f"project {result.project!r}: {result.samples:,} samples, {result.images_created:,} new images"
        ))
