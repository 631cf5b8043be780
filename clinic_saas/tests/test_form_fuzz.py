"""The HTML forms (signup, login, password reset, team, clinic settings, account, admin)
fuzzed with what a hostile or broken client sends: NUL characters, bytes that decode to
lone surrogates, 100 kB strings, several values for one field, files where text is
expected, and a JSON body where a form is expected. Never a 500.

Each form's fields are read from the page itself, so a form that gains a field is fuzzed
on it too."""

from __future__ import annotations

import json
import urllib.parse
from html.parser import HTMLParser

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from accounts.testing import session_login
from clinics.tests.admin_helpers import log_in, staff

BIG = "x" * 100_000


class _Forms(HTMLParser):
    """The POST forms of a page: [(action, [field names])]."""

    def __init__(self):
        super().__init__()
        self.forms: list[tuple[str, list[str]]] = []
        self._current: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form" and (attrs.get("method") or "get").lower() == "post":
            self._current = []
            self.forms.append((attrs.get("action") or "", self._current))
        elif tag in ("input", "select", "textarea") and self._current is not None:
            name = attrs.get("name")
            if name and name != "csrfmiddlewaretoken" and name not in self._current:
                self._current.append(name)

    def handle_endtag(self, tag):
        if tag == "form":
            self._current = None


def post_forms(client, page_url: str) -> list[tuple[str, list[str]]]:
    response = client.get(page_url)
    assert response.status_code == 200, (page_url, response.status_code)
    parser = _Forms()
    parser.feed(response.content.decode())
    forms = [(action or page_url, fields) for action, fields in parser.forms if fields]
    assert forms, f"no form on {page_url}"
    return forms


def payloads(fields: list[str]):
    """(description, keyword arguments of client.post) for each kind of bad input."""
    yield "NUL", {"data": {name: f"a\x00{name}" for name in fields}}
    yield "100 kB", {"data": dict.fromkeys(fields, BIG)}
    yield "several values", {"data": {name: ["1", "two", ""] for name in fields}}
    yield (
        "files for text",
        {"data": {name: SimpleUploadedFile("x.txt", b"\x00\xff") for name in fields}},
    )
    # What a client sends for "\ud800" when it encodes with surrogatepass: invalid UTF-8.
    body = "&".join(f"{urllib.parse.quote(name)}=%ED%A0%80" for name in fields)
    yield "surrogate bytes", {"data": body, "content_type": "application/x-www-form-urlencoded"}
    yield (
        "JSON where a form is expected",
        {
            "data": json.dumps({name: [1, {"a": None}] for name in fields}),
            "content_type": "application/json",
        },
    )


def fuzz(client, page_url: str) -> list[str]:
    client.raise_request_exception = False
    problems = []
    for action, fields in post_forms(client, page_url):
        for description, kwargs in payloads(fields):
            response = client.post(action, **kwargs)
            if response.status_code >= 500:
                problems.append(f"{action} with {description}: {response.status_code}")
    return problems


@pytest.mark.parametrize("page", ["/signup/", "/login/", "/password-reset/"])
def test_public_forms_never_answer_a_500(client, db, page):
    assert fuzz(client, page) == []


@pytest.mark.parametrize("page", ["/clinic/team/", "/clinic/settings/", "/account/"])
def test_owner_pages_never_answer_a_500(client, clinic_a, alice, page):
    session_login(client, alice, clinic_a)
    assert fuzz(client, page) == []


@pytest.mark.parametrize(
    "page",
    [
        "/admin/clinical/patient/add/",
        "/admin/clinical/medicine/add/",
        "/admin/clinical/office/add/",
    ],
)
def test_admin_forms_never_answer_a_500(client, clinic_a, alice, page):
    log_in(client, staff(alice), clinic_a)
    assert fuzz(client, page) == []


@pytest.mark.parametrize(
    "query",
    ["q=%00", "q=%ED%A0%80", f"q={BIG}", "o=%00", "gender__exact=%00", "p=%00", "q=a&q=b"],
)
def test_admin_lists_never_answer_a_500(client, clinic_a, alice, query):
    log_in(client, staff(alice), clinic_a)
    client.raise_request_exception = False
    for model in ("patient", "medicine", "appointment", "prescription"):
        response = client.get(f"/admin/clinical/{model}/?{query}")
        assert response.status_code < 500, (model, query)


def test_a_next_that_is_not_a_path_redirects_home_instead_of_failing(client, clinic_a, alice):
    # Found by the fuzzing above: redirect() took "nosuchview" for a view name to reverse.
    session_login(client, alice, clinic_a)
    client.raise_request_exception = False
    for next_url in ("nosuchview", "dashboard", "https://evil.example/", "//evil.example/"):
        response = client.post("/verify-email/resend/", {"next": next_url})
        assert response.status_code == 302, next_url
        assert response["Location"] == "/clinic/"
    response = client.post("/verify-email/resend/", {"next": "/clinic/team/"})
    assert response["Location"] == "/clinic/team/"
