from django.apps import AppConfig


class ReviewConfig(AppConfig):
    """Quality ratings, agreement statistics, rework, frozen benchmark versions. Depends on annotator only."""

    name = "review"
    verbose_name = "Review"
