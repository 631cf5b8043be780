from __future__ import annotations

from django.urls import re_path
from rest_framework.routers import SimpleRouter

from tenants import api

router = SimpleRouter()
router.trailing_slash = "/?"  # mobile clients call both /offices and /offices/
router.register("offices", api.OfficeViewSet, basename="office")

urlpatterns = [
    re_path(r"^register-clinic/?$", api.RegisterClinicView.as_view(), name="register-clinic"),
    re_path(r"^doctors/?$", api.DoctorInviteView.as_view(), name="tenant-doctors"),
    re_path(r"^limits/?$", api.LimitsView.as_view(), name="tenant-limits"),
    re_path(r"^me/?$", api.TenantMeView.as_view(), name="tenant-me"),
    re_path(r"^plan/?$", api.PlanView.as_view(), name="tenant-plan"),
    *router.urls,
]
