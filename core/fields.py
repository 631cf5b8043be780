"""Input as strict as the OpenAPI schema says, shared by every serializer and filter.

* `DateField` (DRF) and `DateFilter` (django-filter) accept only dates from DATE_MIN to
  DATE_MAX (core.validators): a year like 9999 would otherwise reach arithmetic such
  as `start + timedelta(...)` and overflow (a 500), and no clinic record is dated outside it.
* `StrictInputMixin`, mixed into every input serializer, refuses a JSON value of the wrong
  type before DRF coerces it: DRF's CharField turns `0` into "0", its IntegerField takes
  "5", its BooleanField takes "0" or 1, its UUIDField takes an integer, so `"address": 0`
  was accepted where the schema says string. In form and multipart bodies every value is
  text; there a boolean is only one of the literals "true" and "false" the schema documents.
"""

from __future__ import annotations

import datetime

import django_filters
from django import forms
from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import serializers

from core.validators import (
    DATE_MAX,
    DATE_MIN,
    DATE_RANGE_MESSAGE,
    normalize_indian_mobile,
    normalize_phone,
)


class DateField(serializers.DateField):
    default_error_messages = {"out_of_range": DATE_RANGE_MESSAGE}

    def to_internal_value(self, value):
        if isinstance(value, datetime.date) and not isinstance(value, datetime.datetime):
            parsed = value
        else:
            parsed = super().to_internal_value(value)
        if not DATE_MIN <= parsed <= DATE_MAX:
            self.fail("out_of_range")
        return parsed


def _json_type_error(field, value) -> str | None:
    """Why `value`, decoded from JSON, cannot be what the schema documents for `field`."""
    if value is None:
        return None  # DRF's own allow_null check answers this one
    if isinstance(field, serializers.BooleanField):
        return None if isinstance(value, bool) else "Must be a boolean: true or false."
    if isinstance(field, serializers.IntegerField):
        ok = isinstance(value, int) and not isinstance(value, bool)
        return None if ok else "Must be a whole number."
    if isinstance(field, serializers.FloatField):
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        return None if ok else "Must be a number."
    textual = (
        serializers.CharField,
        serializers.UUIDField,
        serializers.DateField,
        serializers.TimeField,
        serializers.DateTimeField,
        serializers.DecimalField,
    )
    if isinstance(field, textual):
        return None if isinstance(value, str) else "Must be a string."
    if isinstance(field, serializers.ChoiceField) and all(
        isinstance(choice, str) for choice in field.choices
    ):
        return None if isinstance(value, str) else "Must be a string."
    return None


def _form_type_error(field, value) -> str | None:
    if isinstance(field, serializers.BooleanField) and value.lower() not in ("true", "false"):
        return 'Must be "true" or "false".'
    return None


class StrictInputMixin:
    """Checks the type of every value sent for a writable field before DRF's own
    validation, naming the field: `{"address": ["Must be a string."]}`."""

    def to_internal_value(self, data):
        from django.http import QueryDict

        errors = {}
        if isinstance(data, QueryDict):
            for field in self._writable_fields:
                for value in data.getlist(field.field_name):
                    message = isinstance(value, str) and _form_type_error(field, value)
                    if message:
                        errors[field.field_name] = [message]
        elif isinstance(data, dict):
            for field in self._writable_fields:
                if field.field_name in data:
                    message = _json_type_error(field, data[field.field_name])
                    if message:
                        errors[field.field_name] = [message]
        if errors:
            raise serializers.ValidationError(errors)
        return super().to_internal_value(data)


class BoundedDateFormField(forms.DateField):
    """The django-filter form field of DateFilter: ISO dates within DATE_MIN..DATE_MAX."""

    def to_python(self, value):
        parsed = super().to_python(value)
        if parsed is not None and not DATE_MIN <= parsed <= DATE_MAX:
            raise forms.ValidationError(DATE_RANGE_MESSAGE, code="out_of_range")
        return parsed


class DateFilter(django_filters.DateFilter):
    field_class = BoundedDateFormField


def _drf(validator):
    def run(value):
        try:
            return validator(value)
        except DjangoValidationError as exc:
            raise serializers.ValidationError(list(exc.messages)) from exc

    return run


class PhoneField(serializers.CharField):
    """A phone number, stored normalised (see core.validators)."""

    def __init__(self, *, mobile: bool = False, **kwargs):
        kwargs.setdefault("max_length", 20)
        super().__init__(**kwargs)
        self.normalize = normalize_indian_mobile if mobile else normalize_phone

    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        if value == "" and (self.allow_blank or not self.required):
            return value
        return _drf(self.normalize)(value)
