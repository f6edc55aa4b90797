"""The Celery application. Workers: `celery -A config worker` (see README)."""
import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("eistudio")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
