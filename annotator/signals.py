from django.db.models.signals import post_migrate
from django.dispatch import receiver

from .roles import ensure_role_groups


@receiver(post_migrate)
def create_role_groups(sender, **kwargs):
    if sender.name == "annotator":
        ensure_role_groups()
