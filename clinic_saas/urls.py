from __future__ import annotations

from django.contrib import admin
from django.urls import path

from clinic_saas import views

handler500 = "clinic_saas.api.server_error"

urlpatterns = [
    path("healthz", views.healthz, name="healthz"),
    path("admin/", admin.site.urls),
]
