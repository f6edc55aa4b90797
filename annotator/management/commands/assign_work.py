from django.core.management.base import BaseCommand, CommandError

from annotator import actions
from annotator.actions.members import MemberError, user_by_name
from annotator.models import Project, ProjectAnnotator
from annotator.queries import queue_rows


class Command(BaseCommand):
    help = (
        "Give a project's refinement passes to annotators, or show who has what. With --annotators: pick the "
        "annotators (members of the project), move its auto-labelled samples into pass 1 and spread every "
        "(sample, pass) still to do over them, with --overlap of the samples done by two annotators in each pass "
        "(for agreement); work already given is kept, so run it again after more samples were auto-labelled. "
        "Without --annotators: the queue of each annotator per pass. The same as Assign on the project's "
        "workspace panel and POST /api/assignments/assign/. "
        "Example: assign_work --project 'Wave 2' --annotators ann1,ann2,ann3,ann4 --overlap 0.1"
    )

    def add_arguments(self, parser):
        parser.add_argument("--project", required=True, help="the project's name, exactly")
        parser.add_argument("--annotators", metavar="USER,USER,...",
                            help="the annotators who share the work (usernames, comma-separated; the project's "
                                 "annotators or leads, see project_members); those picked before and left out "
                                 "here get no new work")
        parser.add_argument("--overlap", type=float, metavar="FRACTION",
                            help="share of samples done independently by a second annotator in each pass, "
                                 "0 to 1 (default: the project's, 0.1 for a new project)")
        parser.add_argument("--distinct-per-pass", action="store_true",
                            help="a different annotator for each pass of a sample, where there are enough")
        parser.add_argument("--seed", type=int, help="seed of the balancing (default: the project's id)")

    def handle(self, *args, **opts):
        project = Project.objects.filter(name=opts["project"]).first()
        if project is None:
            raise CommandError(f"no project named {opts['project']!r}")
        if opts["annotators"] is not None:
            names = [n.strip() for n in opts["annotators"].split(",") if n.strip()]
            if not names:
                raise CommandError("--annotators: give at least one username")
            try:
                ids = [user_by_name(n).pk for n in names]
                created = actions.do_assign_project(project.pk, ids, actor=None, overlap_fraction=opts["overlap"],
                                                    distinct_per_pass=opts["distinct_per_pass"], seed=opts["seed"])
            except (MemberError, ValueError) as exc:
                raise CommandError(str(exc)) from None
            project.refresh_from_db()
            self.stdout.write(f"{created:,} assignments created for {len(ids)} annotators "
                              f"(overlap {project.overlap_fraction:.0%})")
        elif opts["overlap"] is not None or opts["distinct_per_pass"] or opts["seed"] is not None:
            raise CommandError("--overlap, --distinct-per-pass and --seed go with --annotators")
        self.show(project)

    def show(self, project):
        rows = queue_rows(projects=Project.objects.filter(pk=project.pk))
        picked = sorted(ProjectAnnotator.objects.filter(project=project).values_list("user__username", flat=True))
        self.stdout.write(f"annotators: {', '.join(picked) or '(none picked yet)'}")
        if not rows:
            self.stdout.write("no work given yet")
            return
        self.stdout.write(f"{'annotator':<16} {'pass':>4} {'ready':>7} {'waiting':>7} {'leased':>6} "
                          f"{'done':>7} {'skipped':>7} {'avg s':>6}")
        for r in rows:
            avg = "" if r["avg_seconds"] is None else f"{r['avg_seconds']:.0f}"
            self.stdout.write(f"{r['annotator__username']:<16} {r['pass_number']:>4} {r['ready']:>7,} "
                              f"{r['waiting']:>7,} {r['leased']:>6,} {r['done']:>7,} {r['skipped']:>7,} {avg:>6}")
