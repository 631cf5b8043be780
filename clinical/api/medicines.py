from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status
from rest_framework.response import Response

from clinical.api.base import ClinicalViewSet
from clinical.filters import MedicineFilter
from clinical.models import CatalogueMedicine
from clinical.serializers.medicines import MedicineInputSerializer, MedicineSerializer
from clinical.services import medicine_create, medicine_update


@extend_schema(tags=["medicines"])
class MedicineViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ClinicalViewSet):
    """The shared catalogue (read-only, `scope: global`) and the clinic's own medicines.

    Reads go through the catalogue view (CatalogueMedicine, `selectors.medicine_catalogue`):
    one queryset for both, so filters, ordering and pages work as on any list."""

    model = CatalogueMedicine
    resource = "medicines"
    serializer_class = MedicineSerializer
    filterset_class = MedicineFilter
    ordering_fields = ["name", "category", "created_at"]
    http_method_names = ["get", "post", "patch", "head", "options"]

    @extend_schema(request=MedicineInputSerializer, responses={201: MedicineSerializer})
    def create(self, request, *args, **kwargs):
        """Add a medicine to the clinic's own catalogue."""
        data = MedicineInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        medicine = medicine_create(tenant=request.tenant, actor=request.user, **data.validated_data)
        return Response(MedicineSerializer(medicine).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=MedicineInputSerializer, responses=MedicineSerializer)
    def partial_update(self, request, *args, **kwargs):
        """Change one of the clinic's own medicines (the shared catalogue answers 403)."""
        data = MedicineInputSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        medicine = medicine_update(
            tenant=request.tenant,
            actor=request.user,
            medicine=self.get_object(),
            **data.validated_data,
        )
        return Response(MedicineSerializer(medicine).data)
