"""The dental chart and the case summary: reads of a patient's dental records, as data for the
API and as printable pages (HTML, and PDF through clinical/pdf_documents.py like the
prescriptions).

Plain functions, so the API (`patients/{id}/dental-chart/`, `…/case-summary/`) and the
browser pages share them; clinical.documents adds the role check, the patient look-up and
the audit record around them. The chart is a constant number of queries however many records
the patient has: the latest observation of every tooth in one `DISTINCT ON` query, the
procedures in one, and a count.

The printed tooth grid is an HTML table (each tooth a cell coloured by its latest
condition, with the condition's abbreviation in it, so colour is never the only cue).
"""

from __future__ import annotations

import datetime

from django.db.models import Prefetch, Q
from django.utils import timezone

from clinical.models import (
    DentalAttachment,
    DentalObservation,
    DentalProcedure,
    Prescription,
    PrescriptionItem,
)
from clinical.models.dental import ALL_TEETH, ConditionType, Severity, ToothSurface, tooth_kind
from clinical.print_templates import letterhead, template_for, template_language
from clinical.printing import document_response, print_language, render_html
from clinical.selectors import medicine_lines
from clinical.services.common import field_error
from core.validators import DATE_MAX, DATE_MIN, DATE_RANGE_MESSAGE
from tenants.context import tenant_context
from tenants.models import Tenant

# How each condition shows on the printed chart: a fill that white text is readable on
# (WCAG AA, at least 4.5:1), a pattern, and the condition's name in the cell, so that colour
# is never the only cue (a photocopy, a colour-blind reader). A tooth with no finding is
# white.
CONDITION_COLOURS = {
    ConditionType.CARIES: "#b42318",
    ConditionType.FRACTURE: "#a04400",
    ConditionType.MISSING: "#5f6368",
    ConditionType.FILLED: "#1d4ed8",
    ConditionType.CROWN: "#7a5900",
    ConditionType.ROOT_CANAL_TREATED: "#6b21a8",
    ConditionType.MOBILITY: "#0f6e66",
    ConditionType.PERIODONTAL_POCKET: "#a3195b",
    ConditionType.IMPACTED: "#6d4c41",
    ConditionType.OTHER: "#455a64",
}
CONDITION_PATTERNS = {
    ConditionType.CARIES: "dots",
    ConditionType.FRACTURE: "zigzag",
    ConditionType.MISSING: "cross",
    ConditionType.FILLED: "solid",
    ConditionType.CROWN: "ring",
    ConditionType.ROOT_CANAL_TREATED: "vertical",
    ConditionType.MOBILITY: "horizontal",
    ConditionType.PERIODONTAL_POCKET: "diagonal",
    ConditionType.IMPACTED: "back-diagonal",
    ConditionType.OTHER: "grid",
}
NO_FINDING = "#ffffff"
CHART_TEXT_ON_FILL = "#ffffff"
CHART_TEXT_ON_WHITE = "#111111"

# The chart as a dentist reads it, facing the patient: upper jaw on top, the patient's right
# on the left of the page.
PERMANENT_ROWS = (
    (list(range(18, 10, -1)), list(range(21, 29))),
    (list(range(48, 40, -1)), list(range(31, 39))),
)
PRIMARY_ROWS = (
    (list(range(55, 50, -1)), list(range(61, 66))),
    (list(range(85, 80, -1)), list(range(71, 76))),
)
CHART_TEMPLATE = "clinical/dental_chart_print.html"
SUMMARY_TEMPLATE = "clinical/case_summary_print.html"


def _procedure(procedure: DentalProcedure) -> dict:
    return {
        "id": procedure.pk,
        "procedure_code": procedure.procedure_code,
        "procedure_name": procedure.procedure_name,
        "status": procedure.status,
        "status_label": procedure.get_status_display(),
        "teeth": list(procedure.teeth),
        "planned_date": procedure.planned_date,
        "completed_date": procedure.completed_date,
    }


def dental_chart(*, tenant, patient) -> dict:
    """Every tooth (permanent and primary, FDI order) with its latest finding and its open
    and completed procedures; procedures on no particular tooth are listed apart. Three
    queries, whatever the number of records."""
    with tenant_context(tenant):
        latest = {
            o.tooth_number: o
            for o in DentalObservation.objects.filter(patient=patient)
            .order_by("tooth_number", "-observed_on", "-created_at", "-id")
            .distinct("tooth_number")
        }
        procedures = list(
            DentalProcedure.objects.filter(
                patient=patient,
                status__in=[*DentalProcedure.OPEN, DentalProcedure.Status.COMPLETED],
            ).order_by("created_at", "id")
        )
        total = DentalObservation.objects.filter(patient=patient).count()
    by_tooth: dict[int, dict[str, list]] = {n: {"open": [], "completed": []} for n in ALL_TEETH}
    whole_mouth = []
    for procedure in procedures:
        row = _procedure(procedure)
        if not procedure.teeth:
            whole_mouth.append(row)
            continue
        for number in procedure.teeth:
            if number in by_tooth:
                by_tooth[number]["open" if procedure.is_open else "completed"].append(row)
    teeth = []
    for number in ALL_TEETH:
        finding = latest.get(number)
        teeth.append(
            {
                "tooth_number": number,
                "dentition": tooth_kind(number),
                "condition_type": finding.condition_type if finding else None,
                "tooth_surface": finding.tooth_surface if finding else "",
                "severity": finding.severity if finding else "",
                "observed_on": finding.observed_on if finding else None,
                "observation_id": finding.pk if finding else None,
                "treatment_required": bool(
                    finding and finding.treatment_required and not finding.treatment_done
                ),
                "open_procedures": by_tooth[number]["open"],
                "completed_procedures": by_tooth[number]["completed"],
            }
        )
    return {
        "patient": patient,
        "teeth": teeth,
        "whole_mouth_procedures": whole_mouth,
        "observations": total,
    }


def _grid(rows, teeth: dict[int, dict]) -> list[list[dict]]:
    grid = []
    for right, left in rows:
        cells = []
        for number in [*right, None, *left]:
            if number is None:
                cells.append({"divider": True})
                continue
            tooth = teeth[number]
            condition = tooth["condition_type"]
            cells.append(
                {
                    "number": number,
                    "condition": ConditionType(condition).label if condition else "",
                    "colour": CONDITION_COLOURS.get(condition, NO_FINDING),
                    "pattern": CONDITION_PATTERNS.get(condition, ""),
                    "dark": condition is None,
                    "open": bool(tooth["open_procedures"]),
                }
            )
        grid.append(cells)
    return grid


def chart_print_context(chart: dict, *, tenant, for_pdf: bool = False) -> dict:
    teeth = {t["tooth_number"]: t for t in chart["teeth"]}
    patient = chart["patient"]
    clinic = Tenant.objects.get(pk=getattr(tenant, "pk", tenant))
    return {
        "clinic": clinic,
        "patient": patient,
        "patient_age": patient.age,
        "permanent": _grid(PERMANENT_ROWS, teeth),
        "primary": _grid(PRIMARY_ROWS, teeth),
        "findings": [_labelled(t) for t in chart["teeth"] if t["condition_type"]],
        "open_procedures": _unique(p for t in chart["teeth"] for p in t["open_procedures"])
        + [p for p in chart["whole_mouth_procedures"] if p["status"] in DentalProcedure.OPEN],
        "legend": [
            {
                "label": c.label,
                "colour": CONDITION_COLOURS[c],
                "pattern": CONDITION_PATTERNS[c],
            }
            for c in ConditionType
        ],
        "language": print_language(patient=patient, default=template_language(template_for())),
        "for_pdf": for_pdf,
        "printed_at": timezone.localtime(),
    }


def _labelled(tooth: dict) -> dict:
    return {
        **tooth,
        "condition_label": ConditionType(tooth["condition_type"]).label,
        "surface_label": ToothSurface(tooth["tooth_surface"]).label
        if tooth["tooth_surface"]
        else "",
        "severity_label": Severity(tooth["severity"]).label if tooth["severity"] else "",
    }


def _unique(procedures) -> list[dict]:
    seen, result = set(), []
    for procedure in procedures:
        if procedure["id"] not in seen:
            seen.add(procedure["id"])
            result.append(procedure)
    return result


def render_chart_html(chart: dict, *, tenant) -> str:
    with tenant_context(tenant):
        return render_html(CHART_TEMPLATE, chart_print_context(chart, tenant=tenant))


# --- the case summary -------------------------------------------------------------------------


def parse_date_range(date_from, date_to) -> tuple[datetime.date | None, datetime.date]:
    """?from=&to= as dates (YYYY-MM-DD): `from` not after `to`; `to` defaults to today and
    no `from` means from the first record. Bad input is a 400 field error."""

    def parse(value, name):
        if value in (None, ""):
            return None
        try:
            parsed = datetime.date.fromisoformat(str(value))
        except ValueError:
            raise field_error(name, "Enter a date as YYYY-MM-DD.") from None
        if not DATE_MIN <= parsed <= DATE_MAX:
            raise field_error(name, DATE_RANGE_MESSAGE)
        return parsed

    start, end = parse(date_from, "from"), parse(date_to, "to")
    end = end or timezone.localdate()
    if start is not None and start > end:
        raise field_error("from", "The start of the range is after its end.")
    return start, end


def _in_range(name: str, start, end) -> Q:
    q = Q(**{f"{name}__lte": end})
    return q & Q(**{f"{name}__gte": start}) if start else q


def case_summary(*, tenant, patient, date_from, date_to) -> dict:
    """The patient's dental treatment over the range: observations (by the day observed),
    procedures (by the day done, else started, else planned, else written down),
    prescriptions (by visit) and attachments (by upload)."""
    with tenant_context(tenant):
        observations = list(
            DentalObservation.objects.filter(patient=patient)
            .filter(_in_range("observed_on", date_from, date_to))
            .order_by("observed_on", "tooth_number", "created_at")
        )
        procedures = [
            p
            for p in DentalProcedure.objects.filter(patient=patient).order_by("created_at", "id")
            if (date_from is None or p.record_date >= date_from) and p.record_date <= date_to
        ]
        prescriptions = list(
            Prescription.objects.filter(patient=patient)
            .filter(_in_range("visit_date", date_from, date_to))
            .exclude(status=Prescription.Status.CANCELLED)
            .select_related("doctor__user")
            .prefetch_related(Prefetch("items", queryset=medicine_lines(PrescriptionItem)))
            .order_by("visit_date", "created_at")
        )
        attachments = list(
            DentalAttachment.objects.filter(patient=patient)
            .filter(_in_range("created_at__date", date_from, date_to))
            .order_by("created_at")
        )
        clinic = Tenant.objects.get(pk=getattr(tenant, "pk", tenant))
        template = template_for()
        head = letterhead(template=template, clinic=clinic)
    estimated = sum((p.estimated_cost or 0 for p in procedures if p.status != "cancelled"), 0)
    paid = sum((p.actual_cost or 0 for p in procedures if p.status == "completed"), 0)
    return {
        "clinic": clinic,
        "patient": patient,
        "patient_age": patient.age,
        "date_from": date_from,
        "date_to": date_to,
        "observations": observations,
        "procedures": procedures,
        "prescriptions": prescriptions,
        "attachments": attachments,
        "estimated_total": estimated,
        "actual_total": paid,
        "printed_at": timezone.localtime(),
        "letterhead": head,
        "language": print_language(patient=patient, default=head["language"]),
    }


def render_case_summary_html(summary: dict, *, for_pdf: bool = False) -> str:
    return render_html(SUMMARY_TEMPLATE, {**summary, "for_pdf": for_pdf})


def render_case_summary_pdf(summary: dict) -> bytes:
    # Imported here, not at the top: the PDF renderer loads fpdf2 and HarfBuzz, which only a
    # PDF needs.
    from clinical.pdf_documents import case_summary_pdf

    return case_summary_pdf(summary, language=summary["language"])


def case_summary_filename(summary: dict) -> str:
    patient = summary["patient"]
    name = "-".join(part for part in patient.full_name.lower().split() if part.isalnum())
    return f"case-summary-{name or patient.pk}-{summary['date_to']:%Y%m%d}.pdf"


def case_summary_response(summary: dict, *, fmt: str):
    """The case summary as the answer, an HTML page or a PDF (clinical.documents)."""
    if fmt == "pdf":
        content = render_case_summary_pdf(summary)
    else:
        content = render_case_summary_html(summary)
    return document_response(content, fmt=fmt, filename=case_summary_filename(summary))


def chart_response(chart: dict, *, tenant):
    """The printable chart as the answer (clinical.documents)."""
    return document_response(render_chart_html(chart, tenant=tenant), fmt="html")
