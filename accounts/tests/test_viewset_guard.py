"""The base API view owns tenant scoping and the membership check; subclasses cannot drop
either (accounts.viewsets)."""

from __future__ import annotations

import pytest
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.test import APIRequestFactory

from accounts.testing import bearer, create_clinic
from accounts.viewsets import ClinicAPIView, ClinicScopedViewSet
from clinical.models import Patient


@pytest.mark.parametrize("method", ["get_queryset", "get_object"])
def test_a_viewset_that_overrides_a_scoping_method_is_refused(method):
    with pytest.raises(TypeError, match=method):
        type("Widened", (ClinicScopedViewSet,), {"model": Patient, method: lambda self: None})


def test_a_view_that_overrides_get_permissions_is_refused():
    with pytest.raises(TypeError, match="get_permissions"):
        type("Open", (ClinicAPIView,), {"get_permissions": lambda self: [AllowAny()]})


class OpenLookingView(ClinicAPIView):
    # A view that tries to open itself up: the membership check still comes first.
    permission_classes = [AllowAny]

    def get(self, request):
        return Response({"secret": "clinic data"})


def test_allow_any_does_not_drop_the_membership_check(db):
    request = APIRequestFactory().get("/open/")
    response = OpenLookingView.as_view()(request)
    assert response.status_code == 401
    assert "secret" not in response.data


def test_a_member_passes_the_membership_check(db):
    clinic = create_clinic("Guarded Clinic")
    request = APIRequestFactory().get("/open/", **bearer(clinic.owner, clinic))
    response = OpenLookingView.as_view()(request)
    assert response.status_code == 200
