from __future__ import annotations

from django.urls import re_path
from rest_framework.routers import SimpleRouter

from clinics import api, compat

router = SimpleRouter()
router.trailing_slash = "/?"  # mobile clients call both /offices and /offices/
# The views of clinics.compat are the project's, with the fields the earlier mobile clients
# read added to their answers.
router.register("offices", compat.OfficeViewSet, basename="office")

urlpatterns = [
    re_path(r"^register-clinic/?$", api.RegisterClinicView.as_view(), name="register-clinic"),
    re_path(r"^doctors/?$", compat.DoctorInviteView.as_view(), name="tenant-doctors"),
    re_path(r"^limits/?$", compat.LimitsView.as_view(), name="tenant-limits"),
    re_path(r"^me/?$", compat.ClinicMeView.as_view(), name="tenant-me"),
    re_path(r"^plan/?$", api.PlanView.as_view(), name="tenant-plan"),
    *router.urls,
]
