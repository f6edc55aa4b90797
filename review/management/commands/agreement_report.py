import json

from django.core.management.base import BaseCommand

from review import dashboard

from ._project import project_named


def _f(v, digits=3):
    return "-" if v is None else f"{v:.{digits}f}"


class Command(BaseCommand):
    help = (
        "Print a project's quality and agreement figures, the same as its dashboard: the per-category table "
        "(n, mean, standard deviation, min-max, share below 3), per reviewer, Krippendorff's alpha (ordinal and "
        "interval), Fleiss' kappa, ICC, annotator agreement on overlap samples, model triggers removed per model "
        "and prompt version, triggers added, throughput. --json prints them as one JSON object."
    )

    def add_arguments(self, parser):
        parser.add_argument("--project", required=True, help="the project's name")
        parser.add_argument("--json", action="store_true", help="print JSON (default: a readable summary)")
        parser.add_argument("--draw", type=int, help="only the ratings of this draw (id)")
        parser.add_argument("--source", choices=["review", "imported"], help="only ratings made here, or imported")

    def handle(self, *args, **opts):
        project = project_named(opts["project"])
        data = dashboard.report(dashboard.compute(project, draw=opts["draw"], source=opts["source"]))
        if opts["json"]:
            self.stdout.write(json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False))
            return
        w = self.stdout.write
        w(f"{project.name}: ratings per emotion category")
        w(f"{'emotion':<12} {'n':>6} {'items':>6} {'mean':>6} {'sd':>6} {'min-max':>8} {'<3':>6}")
        for r in data["categories"]:
            span = f"{r['min']}-{r['max']}" if r["n"] else "-"
            share = "-" if r["share_below"] is None else f"{r['share_below']:.1%}"
            w(f"{r['emotion']:<12} {r['n']:>6} {r['items']:>6} {_f(r['mean'], 2):>6} {_f(r['sd'], 2):>6} "
              f"{span:>8} {share:>6}")
        a = data["agreement"]
        w("")
        w(f"Krippendorff's alpha ordinal  {_f(a['alpha_ordinal']['value'])} ({a['alpha_ordinal']['items']} items)")
        w(f"Krippendorff's alpha interval {_f(a['alpha_interval']['value'])} ({a['alpha_interval']['items']} items)")
        w(f"Fleiss' kappa                 {_f(a['fleiss_kappa']['value'])} ({a['fleiss_kappa']['items']} items)")
        w(f"ICC ({a['icc']['design']})          {_f(a['icc']['value'])} ({a['icc']['items']} items)")
