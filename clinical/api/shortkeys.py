from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.response import Response

from clinical.api.base import ClinicalViewSet
from clinical.filters import ShortKeyFilter
from clinical.models import ShortKey
from clinical.selectors import short_key_items_prefetch, short_keys_visible_to
from clinical.serializers.shortkeys import (
    ShortKeyInputSerializer,
    ShortKeySerializer,
    ShortKeyUpdateSerializer,
)
from clinical.services import short_key_create, short_key_delete, short_key_update, short_key_use


@extend_schema(tags=["short-keys"])
class ShortKeyViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ClinicalViewSet):
    """Named medicine sets, by code: the clinic's shared ones and your personal ones."""

    model = ShortKey
    resource = "short_keys"
    serializer_class = ShortKeySerializer
    filterset_class = ShortKeyFilter
    ordering_fields = ["code", "usage_count", "created_at"]
    lookup_field = "code"
    lookup_value_regex = "[A-Za-z0-9_-]{1,40}"
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def narrow_queryset(self, queryset):
        # Another doctor's personal key does not exist for you (404, like a missing one).
        return short_keys_visible_to(self.request.user, queryset).prefetch_related(
            short_key_items_prefetch()
        )

    def normalize_lookup(self, value: str) -> str:
        return value.upper()  # keys are stored in capitals

    def _answer(self, key, status_code=status.HTTP_200_OK):
        key = self.get_queryset().get(pk=key.pk)
        return Response(ShortKeySerializer(key).data, status=status_code)

    @extend_schema(request=ShortKeyInputSerializer, responses={201: ShortKeySerializer})
    def create(self, request, *args, **kwargs):
        data = ShortKeyInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        key = short_key_create(tenant=request.tenant, actor=request.user, **data.validated_data)
        return self._answer(key, status.HTTP_201_CREATED)

    @extend_schema(request=ShortKeyUpdateSerializer, responses=ShortKeySerializer)
    def partial_update(self, request, *args, **kwargs):
        data = ShortKeyUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        key = short_key_update(
            tenant=request.tenant,
            actor=request.user,
            short_key=self.get_object(),
            **data.validated_data,
        )
        return self._answer(key)

    @extend_schema(responses={204: None})
    def destroy(self, request, *args, **kwargs):
        short_key_delete(tenant=request.tenant, actor=request.user, short_key=self.get_object())
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=None, responses=ShortKeySerializer)
    @action(detail=True, methods=["post"], matrix_action="use")
    def use(self, request, code=None):
        """The items to pre-fill a prescription with, in order; counts one use."""
        key = short_key_use(tenant=request.tenant, actor=request.user, short_key=self.get_object())
        return self._answer(key)
