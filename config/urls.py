from __future__ import annotations

from django.contrib import admin
from django.urls import URLPattern, URLResolver, include, path, re_path, reverse_lazy
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from core.views import ApiNotFound, HealthApi

api_v1: list[URLPattern | URLResolver] = [
    path("health", HealthApi.as_view(), name="health"),
    path("", include("single_window.urls")),
    path("", include("declarations.urls")),
    path("", include("credit.urls")),
    path("", include("finance.urls")),
    path("", include("logistics.urls")),
    path("", include("monitoring.urls")),
]

# The admin's "View site" leads to the API documentation: the single window has no public site.
admin.site.site_url = reverse_lazy("docs")  # type: ignore[assignment] # a lazy URL is a str when rendered

urlpatterns = [
    # The root has no page of its own: it leads to the API documentation.
    path("", RedirectView.as_view(pattern_name="docs", permanent=False), name="root"),
    path("api/v1/", include(api_v1)),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="docs"),
    re_path(r"^api/", ApiNotFound.as_view()),
    path("i18n/", include("django.conf.urls.i18n")),
    # The regulators' dashboard is the admin's home page; the application index is at admin/apps/.
    path("admin/", include("monitoring.dashboard_urls")),
    path("admin/", admin.site.urls),
]

handler400 = "core.problems.handler400"
handler403 = "core.problems.handler403"
handler404 = "core.problems.handler404"
handler500 = "core.problems.handler500"
