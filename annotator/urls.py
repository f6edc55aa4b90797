from django.urls import path, re_path

from . import views

urlpatterns = [
    path("", views.project_list, name="project-list"),
    path("projects/<int:pk>/", views.project_detail, name="project-detail"),
    path("projects/<int:pk>/import/", views.import_start, name="import-start"),
    path("projects/<int:pk>/import/<int:job_id>/", views.import_job, name="import-job"),
    re_path(r"^projects/(?P<pk>\d+)/export/(?P<what>[\w./-]+)$", views.export, name="export"),
    path("samples/<int:pk>/", views.sample_detail, name="sample-detail"),
    path("images/<int:pk>/", views.image_file, name="image-file"),
]
