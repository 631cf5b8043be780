"""Serializer helpers: flat field errors and the small nested summaries."""

from __future__ import annotations

from rest_framework import serializers

# One flattening for every error body: the API's exception handler uses the same function.
from core.api import flatten_errors
from core.fields import StrictInputMixin


class FlatErrorsMixin:
    def is_valid(self, *, raise_exception: bool = False) -> bool:
        valid = super().is_valid(raise_exception=False)
        if not valid:
            self._errors = flatten_errors(self._errors)
            if raise_exception:
                raise serializers.ValidationError(self._errors)
        return valid


class InputSerializer(FlatErrorsMixin, StrictInputMixin, serializers.Serializer):
    """Base of request bodies. Unknown fields (a client-sent `tenant`, say) are ignored; a
    value of the wrong type is refused (core.fields.StrictInputMixin)."""


def text(max_length: int, *, required: bool = False, **kwargs) -> serializers.CharField:
    kwargs.setdefault("allow_blank", not required)
    return serializers.CharField(max_length=max_length, required=required, **kwargs)


class PatientSummarySerializer(serializers.Serializer):
    id = serializers.UUIDField()
    full_name = serializers.CharField()
    mobile_number = serializers.CharField(source="mobile")
    age = serializers.IntegerField(allow_null=True)
    gender = serializers.CharField()


class DoctorSummarySerializer(serializers.Serializer):
    id = serializers.UUIDField()
    full_name = serializers.CharField()
    specialization = serializers.CharField()


class OfficeSummarySerializer(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField()


class MedicineSummarySerializer(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField()
    generic_name = serializers.CharField()
    strength = serializers.CharField()
    dosage_form = serializers.CharField()
