"""Pages and htmx partials of the review app (included at the site root by config/urls.py)."""
from django.urls import path, re_path

from . import views

urlpatterns = [
    path("review/", views.my_reviews, name="review-home"),
    path("review/projects/<int:pk>/next/", views.next_review, name="review-next"),
    path("review/assignments/<int:pk>/", views.rate_screen, name="review-rate"),
    path("review/assignments/<int:pk>/rate/", views.rate, name="review-rate-submit"),
    path("review/quality-samples/<int:pk>/rework/", views.rework, name="review-rework"),
    path("review/draws/<int:pk>/finalise/", views.finalise, name="review-finalise"),
    path("projects/<int:pk>/review/", views.project_review, name="review-project"),
    path("projects/<int:pk>/review/draw/", views.draw, name="review-draw"),
    path("projects/<int:pk>/review/panel/", views.project_panel, name="review-project-panel"),
    path("projects/<int:pk>/review/dashboard/", views.dashboard_page, name="review-dashboard"),
    path("projects/<int:pk>/review/dashboard/<slug:section>.csv", views.dashboard_csv, name="review-dashboard-csv"),
    path("projects/<int:pk>/versions/", views.versions_page, name="review-versions"),
    path("projects/<int:pk>/versions/freeze/", views.freeze, name="review-freeze"),
    path("versions/<int:pk>/", views.version_page, name="review-version"),
    re_path(r"^versions/(?P<pk>\d+)/files/(?P<what>[\w./-]+)$", views.version_file, name="review-version-file"),
    path("samples/<int:pk>/review/", views.sample_panel, name="review-sample-panel"),
]
