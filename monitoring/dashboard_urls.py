"""The dashboard's pages, mounted at ``/admin/`` before the admin's own (``config/urls.py``)."""

from __future__ import annotations

from django.contrib import admin
from django.urls import URLPattern, path

from monitoring import dashboard

app_name = "dashboard"

urlpatterns: list[URLPattern] = [
    path("", admin.site.admin_view(dashboard.dashboard), name="dashboard"),
    path("apps/", admin.site.admin_view(dashboard.all_applications), name="all-applications"),
]
