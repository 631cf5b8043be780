from __future__ import annotations

from rest_framework.routers import SimpleRouter

from clinics.audit_api import AuditEventViewSet

router = SimpleRouter()
router.trailing_slash = "/?"
router.register("audit", AuditEventViewSet, basename="audit")

urlpatterns = router.urls
