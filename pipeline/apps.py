from django.apps import AppConfig


class PipelineConfig(AppConfig):
    """CFSA auto-labelling (stages, backends, Celery tasks, runs and traces). Depends on annotator only."""

    name = "pipeline"
    verbose_name = "CFSA pipeline"
