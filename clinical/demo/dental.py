"""The demo dental practice's chart: findings on the family's teeth, a treatment plan with
work under way and done, through the dental services."""

from __future__ import annotations

import datetime
from decimal import Decimal

from django.utils import timezone

from clinical.models import Appointment, DentalObservation, Doctor
from clinical.models import Patient as PatientModel
from clinical.services import (
    dental_observation_create,
    dental_procedure_create,
    dental_procedure_transition,
)
from tenants.context import tenant_context

# (tooth, surface, condition, severity, treatment required, days ago, notes)
DEMO_FINDINGS = [
    (46, "occlusal", "caries", "severe", True, 0, "Deep caries approaching the pulp; tender."),
    (36, "occlusal", "filled", "", False, 400, "Composite restoration, margins intact."),
    (16, "", "crown", "", False, 700, "Metal-ceramic crown, satisfactory."),
    (26, "", "root_canal_treated", "", True, 700, "RCT done elsewhere; needs a crown."),
    (38, "", "impacted", "mild", False, 400, "Mesioangular impaction, asymptomatic."),
    (18, "", "missing", "", False, 700, "Extracted years ago."),
    (11, "", "fracture", "mild", False, 30, "Enamel chip on the incisal edge; smoothed."),
    (47, "buccal", "periodontal_pocket", "mild", True, 30, "5 mm pocket, bleeding on probing."),
    (24, "mesial", "caries", "moderate", True, 30, "Proximal caries on the bitewing."),
]
# (code, name, teeth, estimate, status path, planned in days, notes)
DEMO_PROCEDURES = [
    ("D3330", "Root canal treatment, molar", [46], "6500.00", ["in_progress"], 0, ""),
    ("D2740", "Crown, porcelain/ceramic", [46], "9000.00", [], 21, "After the RCT."),
    ("D2740", "Crown, porcelain/ceramic", [26], "9000.00", [], 35, ""),
    ("D2392", "Resin composite, two surfaces", [24], "1800.00", [], 7, ""),
    (
        "D1110",
        "Prophylaxis (scaling and polishing)",
        [],
        "1200.00",
        ["in_progress", "completed"],
        0,
        "",
    ),
]


def seed_dental_chart(*, tenant) -> bool:
    """A filled-in chart for the dental practice's first patient (and two primary teeth of
    the family's child), through the dental services. Idempotent: does nothing when the
    clinic has dental records already. Answers whether it created them."""
    with tenant_context(tenant):
        if DentalObservation.objects.exists():
            return False
        doctor = Doctor.objects.select_related("user").order_by("created_at").first()
        family = list(
            PatientModel.objects.active().filter(mobile="9845012345").order_by("created_at")
        )
        visit = (
            Appointment.objects.filter(patient=family[0], status="completed").first()
            if family
            else None
        )
    if doctor is None or not family:
        return False
    patient, actor, today = family[0], doctor.user, timezone.localdate()
    by_tooth = {}
    for tooth, surface, condition, severity, required, days_ago, notes in DEMO_FINDINGS:
        by_tooth[tooth] = dental_observation_create(
            tenant=tenant,
            actor=actor,
            patient_id=patient.pk,
            appointment_id=visit.pk if visit is not None and days_ago == 0 else None,
            tooth_number=tooth,
            tooth_surface=surface,
            condition_type=condition,
            severity=severity,
            treatment_required=required,
            observed_on=today - datetime.timedelta(days=days_ago),
            notes=notes,
        )
    for code, name, teeth, estimate, path, planned_in, notes in DEMO_PROCEDURES:
        procedure = dental_procedure_create(
            tenant=tenant,
            actor=actor,
            patient_id=patient.pk,
            observation_id=by_tooth[teeth[0]].pk if teeth and teeth[0] in by_tooth else None,
            procedure_code=code,
            procedure_name=name,
            teeth=teeth,
            estimated_cost=Decimal(estimate),
            planned_date=today + datetime.timedelta(days=planned_in),
            notes=notes,
        )
        for status in path:
            dental_procedure_transition(
                tenant=tenant,
                actor=actor,
                procedure=procedure,
                status=status,
                actual_cost=Decimal(estimate) if status == "completed" else None,
            )
    if len(family) > 2:
        child = family[2]
        for tooth, condition in ((54, "caries"), (65, "filled")):
            dental_observation_create(
                tenant=tenant,
                actor=actor,
                patient_id=child.pk,
                tooth_number=tooth,
                tooth_surface="occlusal",
                condition_type=condition,
                severity="mild" if condition == "caries" else "",
                treatment_required=condition == "caries",
            )
    return True
