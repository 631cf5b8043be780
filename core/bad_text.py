"""Text no field can store or echo: unpaired UTF-16 surrogates and NUL characters.

A lone surrogate (`"\\ud800"`) is valid JSON but not encodable as UTF-8, so any error message
or page that echoes it back (DRF's "is not a valid choice", a re-rendered form) fails with a
UnicodeEncodeError, a 500. A NUL character cannot be stored in a PostgreSQL text column. Both
are refused once, where text enters the application, instead of field by field:

* the API's parsers (core.api) check every key and value of a JSON, form or multipart
  body, and multipart file names;
* `RejectBadTextMiddleware` checks every query string, and the form fields and file names of
  POSTed pages and admin forms (DRF views parse their own bodies, through those parsers).

The answer is a 400 with `code: "invalid"` naming the field: JSON for /api/ paths, Django's
plain 400 page elsewhere.
"""

from __future__ import annotations

import re

from django.http import JsonResponse

MESSAGE = "Text must not contain NUL characters or unpaired UTF-16 surrogates."

# JSON bodies are checked for surrogates only: a NUL in a JSON string reaches the serializer
# fields, whose own validator answers with a message naming the field.
_SURROGATE = re.compile("[\ud800-\udfff]")
_SURROGATE_OR_NUL = re.compile("[\x00\ud800-\udfff]")


class BadText(ValueError):
    """Raised with the name of the field (a dotted path for nested JSON) that holds it."""

    def __init__(self, field: str):
        super().__init__(MESSAGE)
        self.field = field or "non_field_errors"


def check_json(data, path: str = "") -> None:
    """Raise BadText for the first key or string value of parsed JSON with a surrogate."""
    if isinstance(data, str):
        if _SURROGATE.search(data):
            raise BadText(path)
    elif isinstance(data, dict):
        for key, value in data.items():
            name = f"{path}.{key}" if path else str(key)
            if isinstance(key, str) and _SURROGATE.search(key):
                # The key itself cannot be echoed back as a field name either.
                raise BadText(path)
            check_json(value, name)
    elif isinstance(data, list):
        for index, value in enumerate(data):
            check_json(value, f"{path}[{index}]")


def check_form(data, files=None) -> None:
    """Raise BadText for a QueryDict (query string or form) key or value, or a file name,
    holding a surrogate or a NUL."""
    for key, values in data.lists():
        if _SURROGATE_OR_NUL.search(key):
            raise BadText("")
        for value in values:
            if isinstance(value, str) and _SURROGATE_OR_NUL.search(value):
                raise BadText(key)
    if files is not None:
        for key, uploads in files.lists():
            if _SURROGATE_OR_NUL.search(key):
                raise BadText("")
            for upload in uploads:
                if _SURROGATE_OR_NUL.search(upload.name or ""):
                    raise BadText(key)


def _is_drf_view(view_func) -> bool:
    from rest_framework.views import APIView

    cls = getattr(view_func, "cls", None)
    return isinstance(cls, type) and issubclass(cls, APIView)


class RejectBadTextMiddleware:
    """Answers 400 before any view sees a query string, form field or file name that holds
    a NUL or a lone surrogate. Placed after CsrfViewMiddleware, so a forged form is still a
    403 first."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        try:
            check_form(request.GET)
            # Django parses a body into request.POST only for POST; DRF views parse their own
            # (and check it in core.api's parsers), so only pages and admin forms here.
            if request.method == "POST" and not _is_drf_view(view_func):
                check_form(request.POST, request.FILES)
        except BadText as exc:
            return bad_text_response(request, exc)
        return None


def bad_text_response(request, exc: BadText):
    if request.path.startswith("/api/"):
        return JsonResponse(
            {"code": "invalid", "detail": MESSAGE, "errors": {exc.field: [MESSAGE]}},
            status=400,
        )
    from django.views.defaults import bad_request

    return bad_request(request, exc)
