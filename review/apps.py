from django.apps import AppConfig


class ReviewConfig(AppConfig):
    """Quality ratings, agreement statistics, rework, frozen benchmark versions. Depends on annotator only."""

    name = "review"
    verbose_name = "Review"

    def ready(self):
        from django.db.models.signals import post_save

        from annotator.models import Event

        from .actions import on_event_saved

        # A reworked sample that is refined again starts its next rating round (annotator knows nothing of review).
        post_save.connect(on_event_saved, sender=Event, dispatch_uid="review-next-round")
