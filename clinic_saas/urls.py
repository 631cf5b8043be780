from __future__ import annotations

from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from clinic_saas import views

handler400 = "core.api.bad_request"
handler403 = "core.api.permission_denied"
handler404 = "core.api.not_found"
handler500 = "core.api.server_error"

urlpatterns = [
    path("healthz", views.healthz, name="healthz"),
    path("readyz", views.readyz, name="readyz"),
    path("metrics", views.metrics, name="metrics"),
    path("api/v1/tenants/", include("clinics.urls")),
    path("api/v1/billing/", include("clinics.billing.urls")),
    # The earlier mobile clients' login, refresh and logout (clinics.compat), before the
    # project's own auth routes.
    path("api/v1/auth/", include("clinics.compat_urls")),
    path("api/v1/auth/", include("accounts.urls")),
    path("api/v1/auth/", include("clinics.invitation_urls")),
    path("api/v1/", include("clinics.audit_urls")),
    path("api/v1/", include("clinical.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="swagger-ui"),
    path("admin/", admin.site.urls),
    # Server-rendered pages for people using a browser.
    path("", include("clinics.page_urls")),
    path("", include("clinical.page_urls")),
    path("", include("accounts.page_urls")),
]
