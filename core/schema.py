"""OpenAPI: every operation documents the errors it can answer, in the common format."""

from __future__ import annotations

from django.core.exceptions import FieldDoesNotExist
from django.db import models
from drf_spectacular.contrib.rest_framework_simplejwt import SimpleJWTScheme
from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter
from rest_framework import permissions, serializers


class ErrorSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="Stable machine-readable error code.")
    detail = serializers.CharField(help_text="Human-readable explanation.")
    errors = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        required=False,
        help_text="Messages per invalid field.",
    )


ERROR_DESCRIPTIONS = {
    "400": "Invalid input (`code` invalid or a specific code; `errors` per field).",
    "401": "Missing, expired or revoked token, or wrong credentials.",
    "402": "The clinic is read-only (`subscription_inactive`): trial ended or suspended.",
    "403": "Not allowed for your role, or a plan limit was reached (`plan_limit_reached`).",
    "404": "Not found (also for another clinic's objects).",
    "429": "Too many requests or failed logins; try again later.",
    "409": "`edit_conflict`: the record changed since the version named in If-Match; "
    "nothing was saved.",
}

IF_MATCH = OpenApiParameter(
    "If-Match",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    required=False,
    description="The record's ETag as last read: the change is made only if nobody changed "
    "the record since (otherwise 409 `edit_conflict`). Without it the change is made.",
)


class AutoSchema(SpectacularAutoSchema):
    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        if direction != "response":
            return responses
        view = self.view
        public = (
            any(isinstance(p, permissions.AllowAny) for p in view.get_permissions())
            or not view.get_authenticators()
        )
        writes = self.method in ("POST", "PUT", "PATCH", "DELETE")
        codes = []
        if writes or self._is_list_view() or self.get_filter_backends():
            codes.append("400")
        if not public:
            codes += ["401", "403"]
            if writes and not getattr(view, "allow_when_inactive", True):
                codes.append("402")
        elif getattr(view, "error_codes", None):
            codes += list(view.error_codes)
        if "{" in self.path:
            codes.append("404")
        if getattr(view, "throttle_scope", None):
            codes.append("429")
        if self._honours_if_match():
            codes.append("409")
        for code in codes:
            if code not in responses:
                response = self._get_response_for_code(ErrorSerializer, code, direction=direction)
                response["description"] = ERROR_DESCRIPTIONS[code]
                responses[code] = response
        return responses

    def _honours_if_match(self) -> bool:
        return getattr(self.view, "versioned", False) and self.method in ("PATCH", "PUT")

    def get_override_parameters(self):
        parameters = super().get_override_parameters()
        if self._honours_if_match():
            parameters = [*parameters, IF_MATCH]
        return parameters

    def _map_serializer_field(self, field, direction, bypass_extensions=False):
        if field.read_only and _blank_in_model(field):
            # DRF drops allow_blank from read-only model fields, so the schema would promise
            # a choice or an e-mail address where the response may carry "" (not recorded).
            field.allow_blank = True
        schema = super()._map_serializer_field(field, direction, bypass_extensions)
        if isinstance(field, serializers.TimeField):
            # Times are answered "10:00" and accepted with or without seconds; JSON Schema's
            # `time` format demands seconds and a zone, so it called every answer wrong.
            schema.pop("format", None)
            schema["pattern"] = TIME_PATTERN
        elif isinstance(field, serializers.EmailField) and field.allow_blank:
            # "" (no address) is allowed, and is not an e-mail address.
            schema.pop("format", None)
        return schema


TIME_PATTERN = r"^([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9](\.[0-9]{1,6})?)?$"


def _blank_in_model(field) -> bool:
    model = getattr(getattr(field.parent, "Meta", None), "model", None)
    if model is None or not isinstance(field.source, str) or "." in field.source:
        return False
    try:
        model_field = model._meta.get_field(field.source)
    except FieldDoesNotExist:
        return False
    return bool(getattr(model_field, "blank", False)) and isinstance(
        model_field, models.CharField | models.TextField
    )


class TenantJWTScheme(SimpleJWTScheme):
    """Documents ClinicJWTAuthentication as the Bearer JWT scheme it is."""

    target_class = "accounts.authentication.ClinicJWTAuthentication"
    name = "jwtAuth"
