"""`manage.py cfsa_run --project NAME [--backend tiny|transformers|openai] [--limit N] [--only-failed] [--wait]`"""
import time

from django.core.management.base import BaseCommand, CommandError

from annotator.models import Project
from pipeline import actions
from pipeline.backends import BACKENDS
from pipeline.models import PipelineRun
from pipeline.queries import progress


class Command(BaseCommand):
    help = (
        "Queue CFSA auto-labelling of a project's unlabelled samples (imported or failed; human work is never "
        "touched) on the Celery workers: model work goes to the 'gpu' queue, so start a worker with "
        "`celery -A config worker -Q celery,gpu`. Backend and model options change the project's pipeline config "
        "(a new prompt version, as in the web settings). With --wait, prints progress until the run ends and exits "
        "with status 1 if any sample failed."
    )

    def add_arguments(self, parser):
        parser.add_argument("--project", required=True, help="project name")
        parser.add_argument("--backend", choices=BACKENDS,
                            help="backend of both roles (VLM and LLM); tiny = placeholder model with random weights")
        parser.add_argument("--vlm-model", help="VLM: hub id or local folder (transformers), served name (openai)")
        parser.add_argument("--llm-model", help="LLM: hub id or local folder (transformers), served name (openai)")
        parser.add_argument("--base-url", help="OpenAI-compatible server, e.g. http://gpu-box:8000/v1")
        parser.add_argument("--limit", type=int, help="label at most N samples")
        parser.add_argument("--only-failed", action="store_true", help="only samples whose labelling failed")
        parser.add_argument("--sample", type=int, action="append", dest="samples", metavar="ID",
                            help="only this sample (repeat for several)")
        parser.add_argument("--wait", action="store_true", help="print progress until the run ends")
        parser.add_argument("--skip-if-none", action="store_true",
                            help="exit quietly (status 0) when no sample is waiting for auto-labelling")
        parser.add_argument("--timeout", type=float, default=0, help="with --wait: give up after this many seconds")

    def handle(self, *args, **o):
        project = Project.objects.filter(name=o["project"]).first()
        if project is None:
            raise CommandError(f"no project named {o['project']!r}")
        if o["limit"] is not None and o["limit"] < 1:
            raise CommandError("--limit must be at least 1")
        overrides: dict = {}
        for role in ("vlm", "llm"):
            r = {k: v for k, v in (("backend", o["backend"]), ("model", o[f"{role}_model"]),
                                   ("base_url", o["base_url"])) if v}
            if r:
                overrides[role] = r
        selection = (PipelineRun.Selection.SELECTED if o["samples"] else
                     PipelineRun.Selection.FAILED if o["only_failed"] else PipelineRun.Selection.ALL)
        try:
            run = actions.start_run(project, actor=None, selection=selection, sample_ids=o["samples"],
                                    limit=o["limit"], overrides=overrides)
        except actions.NothingToLabel as exc:
            if o["skip_if_none"]:
                self.stdout.write(f"{project.name}: {exc}")
                return
            raise CommandError(str(exc)) from None
        except actions.ConfigInvalid as exc:
            raise CommandError("the pipeline config is not usable:\n  " + "\n  ".join(exc.problems)) from None
        self.stdout.write(f"run #{run.pk}: {run.total} samples queued ({run.models_used()}, "
                          f"prompt v{run.prompt_version.number})")
        if run.placeholder:
            self.stdout.write(self.style.WARNING("placeholder model: outputs are random (tiny backend)"))
        if o["wait"]:
            self._wait(run, o["timeout"])

    def _wait(self, run: PipelineRun, timeout: float):
        started, last, hinted = time.monotonic(), None, False
        while True:
            run.refresh_from_db()
            p = progress(run)
            line = (f"run #{run.pk} {run.status}: {p.done} done, {p.failed} failed, {p.remaining} remaining of "
                    f"{p.total}" + (f" · {p.per_minute}/min" if p.per_minute else "")
                    + (f" · ETA {p.eta_seconds}s" if p.eta_seconds is not None else ""))
            if line != last:
                self.stdout.write(line)
                last = line
            if not run.active:
                break
            waited = time.monotonic() - started
            if not hinted and waited > 30 and p.done + p.failed == 0:
                self.stderr.write("no progress yet: is a worker running? celery -A config worker -Q celery,gpu")
                hinted = True
            if timeout and waited > timeout:
                raise CommandError(f"gave up waiting after {timeout:g}s; the run goes on (run #{run.pk})")
            time.sleep(1)
        if run.status == PipelineRun.Status.CANCELLED:
            raise CommandError(f"run #{run.pk} was cancelled")
        if run.failed:
            errors = run.items.filter(status="failed").values_list("sample_id", "error")[:5]
            detail = "\n".join(f"  sample {sid}: {err}" for sid, err in errors)
            raise CommandError(f"{run.failed} of {run.total} samples failed:\n{detail}")
        self.stdout.write(self.style.SUCCESS(f"run #{run.pk}: all {run.done} samples auto-labelled"))
