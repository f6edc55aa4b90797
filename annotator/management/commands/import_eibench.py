from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from annotator.actions import Source, import_eibench

from ._common import refusal_as_command_error, stderr_progress


class Command(BaseCommand):
    help = (
        "Import EIBench benchmark files into a project (created if needed). Samples that come with ground "
        "truth are imported as final, their triggers with origin 'imported'. Images found under --images-root "
        "are validated and attached; a sample whose image is missing is imported and marked so. Any bad line "
        "refuses the whole import (nothing is written) and is reported as FILE, line N: problem."
    )

    def add_arguments(self, parser):
        parser.add_argument("--project", required=True, help="project name (created when it does not exist)")
        parser.add_argument("--basic-questions", type=Path, metavar="user.jsonl",
                            help='EI_Basic/user.jsonl: {"<image path>": "<question>"} per line')
        parser.add_argument("--basic-ground-truth", type=Path, metavar="basic_ground_truth.json",
                            help="EI_Basic/basic_ground_truth.json (needs --basic-questions)")
        parser.add_argument("--complex", type=Path, metavar="ec_complex.jsonl",
                            help='EI_Complex/ec_complex.jsonl: {"<image path>": {"<question>": "1. ..."}} per line')
        parser.add_argument("--images-root", type=Path, metavar="DIR",
                            help="folder the image paths are relative to (optional)")

    def handle(self, *args, **opts):
        for option in ("basic_questions", "basic_ground_truth", "complex"):
            path = opts[option]
            if path is not None and not path.is_file():
                raise CommandError(f"--{option.replace('_', '-')}: no such file {path}")
        with refusal_as_command_error():
            result = import_eibench(
                project_name=opts["project"],
                questions=Source.of(opts["basic_questions"]),
                ground_truth=Source.of(opts["basic_ground_truth"]),
                complex=Source.of(opts["complex"]),
                images_root=opts["images_root"],
                progress=stderr_progress("importing samples") if opts["verbosity"] >= 1 else None,
            )
        self.stdout.write(self.style.SUCCESS(
            f"project {result.project!r}: {result.samples:,} samples ({result.final_samples:,} final), "
            f"{result.triggers:,} triggers, {result.images_created:,} new images "
            f"({result.images_attached:,} attached, {result.images_missing:,} missing)"
        ))
