"""Model quality for the review dashboards (settings.EISTUDIO_MODEL_TRIGGER_STATS): how the model triggers of each
model and prompt version fared in refinement. Review reads it through the setting, never importing pipeline."""
from __future__ import annotations

from django.db.models import Count, Q

from annotator.models import Project, Trigger

from .models import ModelProposal


def trigger_fates(project: Project) -> list[dict]:
    """Per (model, prompt version): model triggers proposed and how many were kept, removed as hallucination,
    removed as irrelevant (one grouped query)."""
    fate = "trigger__fate"
    rows = (ModelProposal.objects.filter(run__project=project)
            .values("trace__model", "run__prompt_version__number")
            .annotate(triggers=Count("pk"),
                      kept=Count("pk", filter=Q(**{fate: Trigger.Fate.KEPT})),
                      hallucination=Count("pk", filter=Q(**{fate: Trigger.Fate.HALLUCINATION})),
                      irrelevant=Count("pk", filter=Q(**{fate: Trigger.Fate.IRRELEVANT})))
            .order_by("trace__model", "run__prompt_version__number"))
    return [{"model": r["trace__model"], "prompt_version": r["run__prompt_version__number"],
             "triggers": r["triggers"], "kept": r["kept"], "hallucination": r["hallucination"],
             "irrelevant": r["irrelevant"]} for r in rows]
