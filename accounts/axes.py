"""django-axes hooks: how a login's username is read, and what a locked-out client sees."""

from __future__ import annotations

from django.http import JsonResponse
from django.shortcuts import render

from accounts.models import normalize_email


def username_from(request, credentials) -> str:
    """Lockouts are keyed by (e-mail, IP); the e-mail is compared case-insensitively."""
    credentials = credentials or {}
    raw = credentials.get("username") or credentials.get("email")
    if raw is None and request is not None:
        raw = request.POST.get("email") or request.POST.get("username")
    return normalize_email(raw or "")


def lockout_response(request, original_response=None, credentials=None):
    detail = "Too many failed attempts. Try again later or reset your password."
    if request.path.startswith("/api/"):
        return JsonResponse({"code": "locked_out", "detail": detail}, status=429)
    return render(request, "accounts/locked_out.html", {"detail": detail}, status=429)
