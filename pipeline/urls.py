"""Pipeline pages and htmx partials (included at the site root by config/urls.py)."""
from django.urls import path

from . import views

urlpatterns = [
    path("projects/<int:pk>/pipeline/", views.config_page, name="pipeline-config"),
    path("projects/<int:pk>/pipeline/panel/", views.project_panel, name="pipeline-project-panel"),
    path("projects/<int:pk>/pipeline/runs/", views.run_start, name="pipeline-run-start"),
    path("pipeline/runs/<int:run_id>/", views.run_row, name="pipeline-run-row"),
    path("pipeline/runs/<int:run_id>/cancel/", views.run_cancel, name="pipeline-run-cancel"),
    path("pipeline/runs/<int:run_id>/retry/", views.run_retry, name="pipeline-run-retry"),
    path("samples/<int:pk>/pipeline/", views.sample_panel, name="pipeline-sample-panel"),
    path("samples/<int:pk>/pipeline/relabel/", views.sample_relabel, name="pipeline-sample-relabel"),
]
