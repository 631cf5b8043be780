"""API-wide pieces: pagination, the filter backend and the JSON error format.

Every error answers `{"code": <stable machine code>, "detail": <human sentence>}`, plus
`"errors": {field: [messages]}` for invalid fields and any extra data the error carries (a
plan limit, for example).
"""

from __future__ import annotations

import sys

import django_filters
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import (
    RequestDataTooBig,
    TooManyFieldsSent,
    TooManyFilesSent,
)
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import InterfaceError, OperationalError
from django.http import Http404, HttpResponse, JsonResponse
from django.template.loader import render_to_string
from django_filters.rest_framework import DjangoFilterBackend
from rest_framework import exceptions, filters, parsers, status
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response
from rest_framework.serializers import as_serializer_error

from core import bad_text
from core.errors import ApplicationError

MAX_PAGE_SIZE = 100


def _bad_text_error(exc: bad_text.BadText) -> exceptions.ValidationError:
    return exceptions.ValidationError({exc.field: [bad_text.MESSAGE]}, code="invalid")


class JSONParser(parsers.JSONParser):
    """DRF's parser, plus a clean 400 for JSON nested deeper than Python can decode (a
    RecursionError would otherwise be a 500) and for text no field may hold
    (core.bad_text)."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError as exc:
            raise exceptions.ParseError(
                "JSON parse error - the document is nested too deeply."
            ) from exc
        try:
            bad_text.check_json(data)
        except bad_text.BadText as exc:
            raise _bad_text_error(exc) from exc
        return data


class FormParser(parsers.FormParser):
    """DRF's parser; refuses NUL characters and lone surrogates (core.bad_text)."""

    def parse(self, stream, media_type=None, parser_context=None):
        data = super().parse(stream, media_type, parser_context)
        try:
            bad_text.check_form(data)
        except bad_text.BadText as exc:
            raise _bad_text_error(exc) from exc
        return data


class MultiPartParser(parsers.MultiPartParser):
    """DRF's parser; refuses NUL characters and lone surrogates in field values and file
    names (file contents are the client's bytes and stay untouched)."""

    def parse(self, stream, media_type=None, parser_context=None):
        parsed = super().parse(stream, media_type, parser_context)
        if not parsed.data and not parsed.files:
            # Django reads a body without a single well-formed part as an empty form, which
            # a PATCH would take as "change nothing" and answer 200 to garbage.
            raise exceptions.ParseError("Multipart form parse error - the body holds no part.")
        try:
            bad_text.check_form(parsed.data, parsed.files)
        except bad_text.BadText as exc:
            raise _bad_text_error(exc) from exc
        return parsed


class FilterBackend(DjangoFilterBackend):
    """django-filter, without building and validating a filter form for a request that names
    none of the view's filters (most list requests): a tenth of the patient list's time in
    bench/http_load.py. A request that names one, even with a bad value, goes through
    django-filter as before (and gets its 400)."""

    def filter_queryset(self, request, queryset, view):
        names = _filter_names(view)
        # A prefix, because some filters read several parameters (`<name>_after`, ...).
        if not any(key.startswith(names) for key in request.query_params):
            return queryset
        # django-filter reads an empty value as "no filter": `?status=` would list everything
        # while the client asked for some status. An empty free-text `search` (a cleared
        # search box) keeps meaning "no search".
        empty = {
            key: ["Give a value, or leave the parameter out."]
            for key, values in request.query_params.lists()
            if key.startswith(names) and key != "search" and "" in values
        }
        if empty:
            raise exceptions.ValidationError(empty)
        # django-filter's boolean widget reads anything but true/false/1/0 as "no filter";
        # the schema says boolean, so only "true" and "false" are one.
        not_boolean = {
            name: ['Must be "true" or "false".']
            for name in self._boolean_filters(view, queryset)
            for value in request.query_params.getlist(name)
            if value not in ("true", "false")
        }
        if not_boolean:
            raise exceptions.ValidationError(not_boolean)
        return super().filter_queryset(request, queryset, view)

    def _boolean_filters(self, view, queryset) -> list[str]:
        # The view's filterset_class, or the one django-filter builds from filterset_fields.
        filterset_class = self.get_filterset_class(view, queryset)
        if filterset_class is None:
            return []
        return [
            name
            for name, declared in filterset_class.base_filters.items()
            if isinstance(declared, django_filters.BooleanFilter)
        ]


class OrderingFilter(filters.OrderingFilter):
    """DRF's ordering, but an unknown or empty field is a 400 naming the choices instead of
    being silently dropped (the client would get an order it did not ask for)."""

    def get_ordering(self, request, queryset, view):
        raw = request.query_params.get(self.ordering_param)
        if raw is None:
            return self.get_default_ordering(view)
        fields = [param.strip() for param in raw.split(",")]
        valid = self.remove_invalid_fields(queryset, fields, view, request)
        if not fields or len(valid) != len(fields):
            choices = sorted(name for name, _label in self.get_valid_fields(queryset, view))
            allowed = ", ".join(choices) or "none"
            raise exceptions.ValidationError(
                {
                    self.ordering_param: [
                        f"Order by one or more of: {allowed} (a leading - reverses)."
                    ]
                }
            )
        return valid


def _filter_names(view) -> tuple[str, ...]:
    filterset_class = getattr(view, "filterset_class", None)
    if filterset_class is not None:
        return tuple(filterset_class.base_filters)
    fields = getattr(view, "filterset_fields", None) or ()
    return tuple(fields)


class RequestTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The request is too large."
    default_code = "request_too_large"


class Pagination(PageNumberPagination):
    page_size = 20
    page_size_query_param = "page_size"
    max_page_size = MAX_PAGE_SIZE

    def get_page_size(self, request):
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        try:
            size = int(raw)
        except ValueError:
            size = 0
        if not 1 <= size <= self.max_page_size:
            raise exceptions.ValidationError(
                {"page_size": [f"Must be a whole number from 1 to {self.max_page_size}."]}
            )
        return size


def flatten_errors(detail, prefix: str = "") -> dict[str, list[str]]:
    """DRF's nested errors as flat keys: {"items[1].dosage": ["This field is required."]}."""
    flat: dict[str, list[str]] = {}
    if isinstance(detail, dict):
        for key, value in detail.items():
            if isinstance(key, int) or (isinstance(key, str) and key.isdigit() and prefix):
                name = f"{prefix}[{key}]"
            else:
                name = f"{prefix}.{key}" if prefix else str(key)
            flat.update(flatten_errors(value, name))
    elif isinstance(detail, list):
        if all(not isinstance(v, dict | list) for v in detail):
            flat[prefix or "non_field_errors"] = [str(v) for v in detail]
        else:
            for index, value in enumerate(detail):
                if value:
                    flat.update(flatten_errors(value, f"{prefix}[{index}]"))
    else:
        flat[prefix or "non_field_errors"] = [str(detail)]
    return flat


def _flatten(data) -> list[str]:
    if isinstance(data, dict):
        return [m for value in data.values() for m in _flatten(value)]
    if isinstance(data, list):
        return [m for value in data for m in _flatten(value)]
    return [str(data)]


def _code_of(exc: exceptions.APIException) -> str:
    codes = exc.get_codes()
    if isinstance(codes, str):
        return codes
    return getattr(exc, "default_code", "error")


def exception_handler(exc, context):
    # Imported here, not at the top: REST_FRAMEWORK names this module's parser and paginator,
    # and rest_framework.views reads those settings while it is imported. Importing it from
    # here at module level made the import order decide whether the app starts (a system
    # check resolving the paginator first hit a half-imported module).
    from rest_framework.views import exception_handler as drf_exception_handler
    from rest_framework.views import set_rollback

    if isinstance(exc, ApplicationError):
        body = {"code": exc.code, "detail": exc.detail, **exc.extra}
        if exc.field_errors:
            body["errors"] = exc.field_errors
        # Whatever the service wrote before it refused must not be committed.
        set_rollback()
        response = Response(body, status=exc.status_code)
        if getattr(exc, "retry_after", None):
            response["Retry-After"] = str(exc.retry_after)
        return response
    if isinstance(exc, RequestDataTooBig | TooManyFieldsSent | TooManyFilesSent):
        exc = RequestTooLarge(str(exc))
    elif isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(detail=as_serializer_error(exc))
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()

    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        # Nested errors (a list's third item, a nested object) as flat keys, so every body
        # has the documented shape {field: [messages]}: {"office_ids[3]": [...]}.
        errors = flatten_errors(exc.detail)
        non_field = errors.get("non_field_errors")
        response.data = {
            "code": "invalid",
            "detail": str(non_field[0]) if non_field else "Some fields are invalid.",
            "errors": errors,
        }
    elif isinstance(exc.detail, dict) and "detail" in exc.detail:
        # simplejwt's errors carry {"detail", "code", "messages"}; keep the first two.
        response.data = {
            "code": str(exc.detail.get("code") or _code_of(exc)),
            "detail": str(exc.detail["detail"]),
        }
    else:
        response.data = {"code": _code_of(exc), "detail": str(exc.detail)}
    return response


def _service_unavailable(request):
    if _is_api(request):
        response = JsonResponse(
            {
                "code": "service_unavailable",
                "detail": "The service is temporarily unavailable; try again shortly.",
            },
            status=503,
        )
    else:
        response = HttpResponse(render_to_string("503.html"), status=503)
    response["Retry-After"] = "5"
    return response


def _is_api(request) -> bool:
    return request.path.startswith("/api/")


def not_found(request, exception=None):
    """404 handler: the API's JSON error for /api/ paths, the usual page elsewhere."""
    if _is_api(request):
        return JsonResponse({"code": "not_found", "detail": "Not found."}, status=404)
    from django.views.defaults import page_not_found

    return page_not_found(request, exception)


def bad_request(request, exception=None):
    if _is_api(request):
        return JsonResponse({"code": "bad_request", "detail": "Bad request."}, status=400)
    from django.views.defaults import bad_request as page_bad_request

    return page_bad_request(request, exception)


def permission_denied(request, exception=None):
    if _is_api(request):
        return JsonResponse(
            {"code": "permission_denied", "detail": "You do not have permission."}, status=403
        )
    from django.views.defaults import permission_denied as page_permission_denied

    return page_permission_denied(request, exception)


def server_error(request, *args, **kwargs):
    """500 handler: JSON for the API, the plain page elsewhere; never a traceback.

    A database outage (restart, failover, network fault) answers 503 instead: nothing was
    half-written (every request is one transaction), the client may retry, and the next
    request reconnects without restarting the app. Django calls this handler while the
    exception is being handled, so sys.exc_info() tells which one it was.
    """
    exception = sys.exc_info()[1]
    if isinstance(exception, OperationalError | InterfaceError):
        return _service_unavailable(request)
    if _is_api(request):
        return JsonResponse(
            {"code": "server_error", "detail": "Something went wrong on our side."},
            status=status.HTTP_500_INTERNAL_SERVER_ERROR,
        )
    from django.views.defaults import server_error as page_server_error

    return page_server_error(request)
