"""OpenAPI: every operation documents the errors it can answer, in the common format."""

from __future__ import annotations

from drf_spectacular.contrib.rest_framework_simplejwt import SimpleJWTScheme
from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
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
}


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
        for code in codes:
            if code not in responses:
                response = self._get_response_for_code(ErrorSerializer, code, direction=direction)
                response["description"] = ERROR_DESCRIPTIONS[code]
                responses[code] = response
        return responses


class TenantJWTScheme(SimpleJWTScheme):
    """Documents TenantJWTAuthentication as the Bearer JWT scheme it is."""

    target_class = "accounts.authentication.TenantJWTAuthentication"
    name = "jwtAuth"
