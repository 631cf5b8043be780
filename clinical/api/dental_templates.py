"""Dental observation templates: the clinic's own and the shared starter set, listed, read
and matched to an observation as one list (clinical.models.dental)."""

from __future__ import annotations

import uuid

from django.db.models import Case, F, Q, UUIDField, Value, When
from django.http import Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, status
from rest_framework.decorators import action
from rest_framework.response import Response

from clinical.api.base import (
    ClinicalViewSet,
)
from clinical.filters import (
    DentalTemplateFilter,
)
from clinical.models import (
    DentalTemplate,
    SharedDentalTemplate,
)
from clinical.serializers.dental import (
    DentalTemplateInputSerializer,
    DentalTemplateMatchSerializer,
    DentalTemplateSerializer,
)
from clinical.services import (
    dental_template_create,
    dental_template_delete,
    dental_template_update,
)
from clinical.services.dental.templates import TEMPLATE_FIELDS
from core.api import FilterBackend, OrderingFilter

MAX_MATCHES = 10


def _specificity():
    def one(name):
        return Case(When(~Q(**{name: ""}), then=Value(1)), default=Value(0))

    return one("condition_type") + one("tooth_surface") + one("severity")


# The columns a template answer needs, in the same order from both tables, so that the
# clinic's own templates and the shared ones are read in one query (UNION ALL).
TEMPLATE_COLUMNS = ("id", "tenant_id", *TEMPLATE_FIELDS, "created_at", "updated_at")


def _templates_union(own, shared, *extra: str):
    """The clinic's own templates (`own`, a DentalTemplate queryset) and the shared set
    (`shared`, a SharedDentalTemplate queryset) as one queryset of value tuples: the shared
    ones with an empty clinic. `extra` names annotations both querysets carry."""
    columns = (*TEMPLATE_COLUMNS, *extra)
    shared = shared.annotate(tenant_id=Value(None, output_field=UUIDField()))
    return own.values_list(*columns).union(shared.values_list(*columns), all=True)


def _template_objects(rows) -> list[DentalTemplate | SharedDentalTemplate]:
    """Model objects for the rows of `_templates_union` (the shared ones as SharedDentalTemplate,
    so they answer `scope: global` and the services refuse to change them)."""
    objects = []
    for row in rows:
        values = dict(zip(TEMPLATE_COLUMNS, row, strict=False))
        if values["tenant_id"] is None:
            del values["tenant_id"]
            objects.append(SharedDentalTemplate(**values))
        else:
            objects.append(DentalTemplate(**values))
    return objects


class _TemplateFilterBackend(FilterBackend):
    """The templates' filters, applied to the clinic's own templates and to the shared set
    alike (the filtered fields are common to both tables)."""

    def get_filterset_class(self, view, queryset=None):
        return view.filterset_class


@extend_schema(tags=["dental"])
class DentalTemplateViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, ClinicalViewSet):
    """Observation note templates: the shared starter set (read-only, `scope: global`) and
    the clinic's own. The two live in separate tables (the shared one is a reference table);
    lists and matches read both in one query."""

    model = DentalTemplate
    resource = "dental_templates"
    serializer_class = DentalTemplateSerializer
    filterset_class = DentalTemplateFilter
    ordering_fields = ["name", "created_at"]
    http_method_names = ["get", "post", "patch", "delete", "head", "options"]

    def _filtered(self, queryset):
        return _TemplateFilterBackend().filter_queryset(self.request, queryset, self)

    def list(self, request, *args, **kwargs):
        own = self._filtered(self.get_queryset())
        shared = self._filtered(SharedDentalTemplate.objects.all())
        ordering = OrderingFilter().get_ordering(request, own, self) or ["name"]
        rows = _templates_union(own, shared).order_by(*ordering, "id")
        page = self.paginate_queryset(rows)
        data = DentalTemplateSerializer(_template_objects(page), many=True).data
        return self.get_paginated_response(data)

    def _template(self) -> DentalTemplate | SharedDentalTemplate:
        """The clinic's own template (through the clinic-filtered get_object), or else a
        shared one; another clinic's template answers 404 like a missing one."""
        try:
            return self.get_object()
        except Http404:
            kwarg = self.lookup_url_kwarg or self.lookup_field
            try:
                pk = uuid.UUID(str(self.kwargs[kwarg]))
            except ValueError:
                raise Http404("No template matches the given query.") from None
            template = SharedDentalTemplate.objects.filter(pk=pk).first()
            if template is None:
                raise
            self.check_object_permissions(self.request, template)
            return template

    def retrieve(self, request, *args, **kwargs):
        return Response(DentalTemplateSerializer(self._template()).data)

    @extend_schema(request=DentalTemplateInputSerializer, responses={201: DentalTemplateSerializer})
    def create(self, request, *args, **kwargs):
        """Add a template to the clinic's own set."""
        data = DentalTemplateInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        template = dental_template_create(
            tenant=request.tenant, actor=request.user, **data.validated_data
        )
        return self._answer(template, status.HTTP_201_CREATED)

    @extend_schema(request=DentalTemplateInputSerializer, responses=DentalTemplateSerializer)
    def partial_update(self, request, *args, **kwargs):
        """Change one of the clinic's own templates (a shared one answers 403)."""
        data = DentalTemplateInputSerializer(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        template = dental_template_update(
            tenant=request.tenant,
            actor=request.user,
            template=self._template(),
            **data.validated_data,
        )
        return self._answer(template)

    @extend_schema(responses={204: None})
    def destroy(self, request, *args, **kwargs):
        """Delete one of the clinic's own templates (a shared one answers 403)."""
        dental_template_delete(tenant=request.tenant, actor=request.user, template=self._template())
        return Response(status=status.HTTP_204_NO_CONTENT)

    def _answer(self, template, status_code=status.HTTP_200_OK):
        template = self.get_queryset().get(pk=template.pk)
        return Response(DentalTemplateSerializer(template).data, status=status_code)

    @extend_schema(
        parameters=[
            OpenApiParameter("condition", OpenApiTypes.STR, description="A condition_type."),
            OpenApiParameter("surface", OpenApiTypes.STR, description="A tooth_surface."),
            OpenApiParameter("severity", OpenApiTypes.STR, description="A severity."),
        ],
        responses=DentalTemplateSerializer(many=True),
        filters=False,
    )
    # Not paginated (at most ten): pagination_class=None tells the schema so too.
    @action(
        detail=False,
        methods=["get"],
        matrix_action="read",
        filter_backends=[],
        pagination_class=None,
    )
    def match(self, request):
        """The active templates that fit a finding, most specific first (then the clinic's
        own before the shared ones, then by name); at most ten. A template's blank
        condition, surface or severity fits any; a blank or missing parameter is fitted
        only by templates that leave that field blank."""
        data = DentalTemplateMatchSerializer(data=request.query_params)
        data.is_valid(raise_exception=True)
        wanted = data.validated_data
        parts = []
        for queryset in (self.get_queryset(), SharedDentalTemplate.objects.all()):
            queryset = queryset.filter(is_active=True).annotate(rank=_specificity())
            for param, name in (
                ("condition", "condition_type"),
                ("surface", "tooth_surface"),
                ("severity", "severity"),
            ):
                value = wanted.get(param) or ""
                queryset = queryset.filter(Q(**{name: ""}) | Q(**{name: value}))
            parts.append(queryset)
        rows = _templates_union(*parts, "rank").order_by(
            F("rank").desc(), F("tenant_id").asc(nulls_last=True), "name", "id"
        )[:MAX_MATCHES]
        return Response(DentalTemplateSerializer(_template_objects(rows), many=True).data)
