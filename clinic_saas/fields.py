"""Input fields as strict as the OpenAPI schema says, shared by every serializer and filter.

* `DateField` (DRF) and `DateFilter` (django-filter) accept only dates from DATE_MIN to
  DATE_MAX (clinic_saas.validators): a year like 9999 would otherwise reach arithmetic such
  as `start + timedelta(...)` and overflow (a 500), and no clinic record is dated outside it.
* `CharField` refuses a value that is not a JSON string: DRF's own turns `0` or `true` into
  "0"/"True", so `"address": 0` was accepted where the schema says string.
* `BooleanField` accepts JSON true/false and, in forms and multipart bodies (where every
  value is text), only the literals "true" and "false" that the schema documents.

`clinic_saas.api.StrictSerializerMixin` maps the model fields of every ModelSerializer to
these, and the project's serializers declare them explicitly.
"""

from __future__ import annotations

import datetime

import django_filters
from django import forms
from rest_framework import serializers

from clinic_saas.validators import DATE_MAX, DATE_MIN, DATE_RANGE_MESSAGE


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


class CharField(serializers.CharField):
    default_error_messages = {"not_a_string": "Must be a string."}

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("not_a_string")
        return super().to_internal_value(data)


class BooleanField(serializers.BooleanField):
    """JSON booleans, or the text "true"/"false" (any case) from a form or multipart body."""

    default_error_messages = {"invalid": 'Must be a boolean: true or false ("true"/"false").'}

    def to_internal_value(self, data):
        if data is True or data is False:
            return data
        if isinstance(data, str) and data.lower() in ("true", "false"):
            return data.lower() == "true"
        self.fail("invalid", input=data)


class BoundedDateFormField(forms.DateField):
    """The django-filter form field of DateFilter: ISO dates within DATE_MIN..DATE_MAX."""

    def to_python(self, value):
        parsed = super().to_python(value)
        if parsed is not None and not DATE_MIN <= parsed <= DATE_MAX:
            raise forms.ValidationError(DATE_RANGE_MESSAGE, code="out_of_range")
        return parsed


class DateFilter(django_filters.DateFilter):
    field_class = BoundedDateFormField
