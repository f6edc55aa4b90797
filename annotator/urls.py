from django.urls import path, re_path

from . import views
from . import workspace_views as work

urlpatterns = [
    path("", views.project_list, name="project-list"),
    path("projects/<int:pk>/", views.project_detail, name="project-detail"),
    path("projects/<int:pk>/import/", views.import_start, name="import-start"),
    path("projects/<int:pk>/import/<int:job_id>/", views.import_job, name="import-job"),
    re_path(r"^projects/(?P<pk>\d+)/export/(?P<what>[\w./-]+)$", views.export, name="export"),
    path("samples/<int:pk>/", views.sample_detail, name="sample-detail"),
    path("images/<int:pk>/", views.image_file, name="image-file"),
    # the annotation workspace
    path("work/", work.home, name="work-home"),
    path("work/projects/<int:pk>/next/<int:pass_number>/", work.take_next, name="work-next"),
    path("work/projects/<int:pk>/panel/", work.project_panel, name="work-project-panel"),
    path("work/projects/<int:pk>/assign/", work.assign, name="work-assign"),
    path("work/assignments/<int:pk>/release/", work.release, name="work-release"),
    path("work/assignments/<int:pk>/reassign/", work.reassign, name="work-reassign"),
    path("work/samples/<int:pk>/", work.pass_screen, name="work-sample"),
    path("work/samples/<int:pk>/export.txt", work.sample_export, name="work-sample-export"),
    path("work/samples/<int:pk>/passes/", work.sample_panel, name="work-sample-panel"),
    path("work/samples/<int:pk>/<slug:op>/", work.work_change, name="work-change"),
    path("work/triggers/<int:pk>/history/", work.trigger_history, name="work-trigger-history"),
]
