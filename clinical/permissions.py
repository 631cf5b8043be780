"""Who may do what with clinical records: the one permission matrix.

Every clinical API view names its `resource`; `ClinicalPermission` looks the request's
action up in MATRIX and lets the request through only when the member's role may do it. An
action missing from the matrix is refused (fail closed), and a test checks that every
action of every clinical view has an entry. `docs/permissions.md` shows this table (a test
keeps the two identical).

`DOCTOR_SELF` means: allowed for this role, but only to a person with an active doctor
profile in the clinic, acting as that doctor (the services refuse anyone else with
`not_a_doctor` / `not_own_prescription`). So an owner who is also a dentist writes
prescriptions; an owner who is not, does not.
"""

from __future__ import annotations

from enum import StrEnum

from rest_framework import permissions

from accounts.models import Role


class Rule(StrEnum):
    ALLOW = "yes"
    DENY = "no"
    DOCTOR_SELF = "as doctor"


Y, N, D = Rule.ALLOW, Rule.DENY, Rule.DOCTOR_SELF
ROLES = (Role.OWNER, Role.ADMIN, Role.DOCTOR, Role.NURSE, Role.RECEPTIONIST)


def _row(*rules: Rule) -> dict[str, Rule]:
    return dict(zip(ROLES, rules, strict=True))


# resource → action → role → rule.    owner admin doctor nurse receptionist
MATRIX: dict[str, dict[str, dict[str, Rule]]] = {
    "doctors": {
        "read": _row(Y, Y, Y, Y, Y),
        "update": _row(Y, Y, N, N, N),
        "deactivate": _row(Y, Y, N, N, N),
        "activate": _row(Y, Y, N, N, N),
    },
    "patients": {
        "read": _row(Y, Y, Y, Y, Y),
        "create": _row(Y, Y, Y, Y, Y),
        "update": _row(Y, Y, Y, Y, Y),
        "delete": _row(Y, Y, N, N, N),
        # Clinical content: the same people who read prescriptions.
        "dental_chart": _row(Y, Y, Y, Y, N),
        "case_summary": _row(Y, Y, Y, Y, N),
    },
    "medicines": {
        "read": _row(Y, Y, Y, Y, Y),
        "create": _row(Y, Y, Y, N, N),
        "update": _row(Y, Y, Y, N, N),
    },
    "short_keys": {
        "read": _row(Y, Y, Y, Y, N),
        "create": _row(Y, Y, Y, N, N),
        "update": _row(Y, Y, Y, N, N),
        "delete": _row(Y, Y, Y, N, N),
        "use": _row(D, D, D, N, N),
    },
    "appointments": {
        "read": _row(Y, Y, Y, Y, Y),
        "create": _row(Y, Y, Y, Y, Y),
        "update": _row(Y, Y, Y, Y, Y),
        "status": _row(Y, Y, Y, Y, Y),
        "reschedule": _row(Y, Y, Y, Y, Y),
    },
    "prescriptions": {
        # Prescriptions hold diagnoses and clinical notes: receptionists see none of them.
        "read": _row(Y, Y, Y, Y, N),
        "print": _row(Y, Y, Y, Y, N),
        "create": _row(D, D, D, N, N),
        "update": _row(D, D, D, N, N),
        "status": _row(D, D, D, N, N),
    },
    # Dental records: findings and treatment are a dentist's (any doctor of the clinic, as
    # themself); nurses read them and upload x-rays and photos; receptionists see none.
    "dental_observations": {
        "read": _row(Y, Y, Y, Y, N),
        "create": _row(D, D, D, N, N),
        "update": _row(D, D, D, N, N),
        "delete": _row(D, D, D, N, N),
    },
    "dental_procedures": {
        "read": _row(Y, Y, Y, Y, N),
        "create": _row(D, D, D, N, N),
        "update": _row(D, D, D, N, N),
        "status": _row(D, D, D, N, N),
        "delete": _row(D, D, D, N, N),
    },
    "dental_templates": {
        "read": _row(Y, Y, Y, Y, N),
        "create": _row(Y, Y, Y, N, N),
        "update": _row(Y, Y, Y, N, N),
        "delete": _row(Y, Y, Y, N, N),
    },
    "dental_attachments": {
        "read": _row(Y, Y, Y, Y, N),
        "create": _row(Y, Y, Y, Y, N),
        "delete": _row(Y, Y, Y, N, N),
    },
    # The clinic's letterheads: no patient data, read by all; set up by owners and admins.
    "print_templates": {
        "read": _row(Y, Y, Y, Y, Y),
        "create": _row(Y, Y, N, N, N),
        "update": _row(Y, Y, N, N, N),
        "delete": _row(Y, Y, N, N, N),
    },
}

# DRF's standard actions and the matrix action they are.
STANDARD_ACTIONS = {
    "list": "read",
    "retrieve": "read",
    "metadata": "read",
    "create": "create",
    "update": "update",
    "partial_update": "update",
    "destroy": "delete",
}


def matrix_action(view, method: str) -> str | None:
    """The matrix action of a request: `matrix_action` set on a custom @action (a name, or
    a {METHOD: name} dict), else the standard mapping of DRF's action names."""
    if method.upper() == "OPTIONS":
        return "read"
    explicit = getattr(view, "matrix_action", None)
    if isinstance(explicit, dict):
        return explicit.get(method.upper())
    if explicit:
        return explicit
    return STANDARD_ACTIONS.get(getattr(view, "action", None))


def rule_for(resource: str, action: str | None, role: str) -> Rule:
    return MATRIX.get(resource, {}).get(action or "", {}).get(role, Rule.DENY)


def role_may(resource: str, action: str, role: str) -> bool:
    return rule_for(resource, action, role) is not Rule.DENY


class ClinicalPermission(permissions.BasePermission):
    """The single enforcement point of MATRIX for the clinical API."""

    message = "Your role in this clinic does not allow this."

    def has_permission(self, request, view):
        membership = getattr(request, "membership", None)
        if membership is None or not request.user or not request.user.is_authenticated:
            return False
        action_map = getattr(view, "action_map", None) or {}
        if request.method.lower() not in action_map and request.method != "OPTIONS":
            # No handler: DRF answers 405 Method Not Allowed, and nothing runs.
            return True
        resource = getattr(view, "resource", None)
        return role_may(resource, matrix_action(view, request.method), membership.role)


def matrix_markdown() -> str:
    """The matrix as the Markdown table in docs/permissions.md."""
    marks = {Rule.ALLOW: "✓", Rule.DENY: "—", Rule.DOCTOR_SELF: "✓ as doctor"}
    header = "| resource | action | " + " | ".join(r.label.lower() for r in ROLES) + " |"
    lines = [header, "|" + "---|" * (len(ROLES) + 2)]
    for resource, actions in MATRIX.items():
        for action, rules in actions.items():
            cells = " | ".join(marks[rules[role]] for role in ROLES)
            lines.append(f"| {resource.replace('_', '-')} | {action} | {cells} |")
    return "\n".join(lines)
