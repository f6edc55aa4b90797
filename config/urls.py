from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.routers import DefaultRouter

from annotator import api
from annotator.auth import LoginView
from pipeline import api as pipeline_api
from review import api as review_api

router = DefaultRouter()
router.register("projects", api.ProjectViewSet, basename="api-project")
router.register("samples", api.SampleViewSet, basename="api-sample")
router.register("triggers", api.TriggerViewSet, basename="api-trigger")
router.register("imports", api.ImportJobViewSet, basename="api-import")
router.register("assignments", api.AssignmentViewSet, basename="api-assignment")
router.register("work/samples", api.WorkSampleViewSet, basename="api-work-sample")
router.register("work/triggers", api.WorkTriggerViewSet, basename="api-work-trigger")
pipeline_api.register(router)
review_api.register(router)

urlpatterns = [
    path("accounts/login/", LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    path("api/", include(router.urls)),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="swagger-ui"),
    path("", include("annotator.urls")),
    path("", include("pipeline.urls")),
    path("", include("review.urls")),
]
