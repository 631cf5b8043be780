"""`make run` demo clinics have clinical records to click through, a demo prescription prints
to PDF, and the dental practice has a filled-in dental chart."""

from __future__ import annotations

import io

from django.core.management import call_command
from pypdf import PdfReader

from accounts.selectors import person_by_email
from accounts.testing import membership_of
from clinical.models import (
    Appointment,
    DentalObservation,
    DentalProcedure,
    Doctor,
    DoctorAvailability,
    Medicine,
    Patient,
    Prescription,
    SharedDentalTemplate,
    ShortKey,
)
from clinics.demo import DEMO_PASSWORD
from tenants.context import tenant_context
from tenants.platform import platform_access


def _login(api, email):
    response = api.post(
        "/api/v1/auth/token", {"email": email, "password": DEMO_PASSWORD}, format="json"
    )
    assert response.status_code == 200, response.json()
    return {"HTTP_AUTHORIZATION": f"Bearer {response.json()['access']}"}


def test_demo_clinics_have_records_and_a_printable_prescription(live_db, api):
    call_command("seed_demo", stdout=io.StringIO())
    asha = person_by_email("asha@demo.clinic")
    clinic = membership_of(asha, _clinic_of(asha)).tenant
    with tenant_context(clinic):
        assert Doctor.objects.count() == 2
        assert DoctorAvailability.objects.count() == 2 * 12
        menon = Patient.objects.filter(mobile="9845012345").order_by("created_at")
        assert [p.relationship_to_primary for p in menon] == ["self", "spouse", "child"]
        assert Appointment.objects.filter(status="completed").count() == 1
        assert Appointment.objects.filter(status__in=["scheduled", "confirmed"]).count() == 4
        active = Prescription.objects.get(status="active")
        assert active.appointment is not None and active.items.count() == 4
        assert ShortKey.objects.filter(code="RCT").exists()
        assert Medicine.objects.filter(tenant__isnull=False, price__isnull=False).exists()
    response = api.get(f"/api/v1/prescriptions/{active.pk}/pdf/", **_login(api, asha.email))
    assert response.status_code == 200 and response.content.startswith(b"%PDF-")
    text = PdfReader(io.BytesIO(response.content)).pages[0].extract_text()
    assert "Asha Dental Care" in text and "Amoxicillin" in text and "pulpitis" in text
    # The family clinic's nurse reads and prints its prescriptions too.
    nurse = _login(api, "joseph@demo.clinic")
    listed = api.get("/api/v1/prescriptions/", **nurse).json()
    assert listed["count"] == 4  # two of them for the Hindi- and Tamil-named patients
    printed = api.get(f"/api/v1/prescriptions/{listed['results'][0]['id']}/print/", **nurse)
    assert printed.status_code == 200 and "Sunrise Family Clinic" in printed.content.decode()


def _clinic_of(user):
    from accounts.selectors import memberships_of

    return memberships_of(user)[0].tenant


def test_the_dental_practice_has_a_filled_in_chart_and_seeding_again_adds_nothing(live_db, api):
    call_command("seed_demo", stdout=io.StringIO())
    asha = person_by_email("asha@demo.clinic")
    clinic = membership_of(asha, _clinic_of(asha)).tenant
    with tenant_context(clinic):
        arjun = Patient.objects.get(first_name="Arjun", last_name="Menon")
        counts = (DentalObservation.objects.count(), DentalProcedure.objects.count())
        assert DentalObservation.objects.filter(patient=arjun).count() >= 8
        visit_findings = DentalObservation.objects.filter(patient=arjun, appointment__isnull=False)
        rx = Prescription.objects.get(status="active")
        assert {o.prescription_id for o in visit_findings} == {rx.pk}
    with platform_access(reason="test: shared templates"):
        assert SharedDentalTemplate.objects.count() >= 25

    headers = _login(api, asha.email)
    chart = api.get(f"/api/v1/patients/{arjun.pk}/dental-chart/", **headers).json()
    teeth = {t["tooth_number"]: t for t in chart["teeth"]}
    assert teeth[46]["condition_type"] == "caries" and teeth[46]["open_procedures"]
    assert teeth[16]["condition_type"] == "crown" and teeth[18]["condition_type"] == "missing"
    assert {p["status"] for p in chart["whole_mouth_procedures"]} == {"completed"}
    printed = api.get(f"/api/v1/prescriptions/{rx.pk}/print/", **headers).content.decode()
    assert "Dental findings" in printed and "Deep caries" in printed
    pdf = api.get(f"/api/v1/patients/{arjun.pk}/case-summary/pdf/", **headers)
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF-")
    # The receptionist sees the patient but not the chart.
    meena = _login(api, "meena@demo.clinic")
    assert api.get(f"/api/v1/patients/{arjun.pk}/dental-chart/", **meena).status_code == 403

    out = io.StringIO()
    call_command("seed_demo", stdout=out)
    with tenant_context(clinic):
        again = (DentalObservation.objects.count(), DentalProcedure.objects.count())
    assert again == counts


def test_a_dental_practice_seeded_before_the_dental_records_gets_its_chart(live_db):
    call_command("seed_demo", stdout=io.StringIO())
    asha = person_by_email("asha@demo.clinic")
    clinic = membership_of(asha, _clinic_of(asha)).tenant
    with tenant_context(clinic):
        DentalProcedure.objects.all().delete()
        DentalObservation.objects.all().delete()
    out = io.StringIO()
    call_command("seed_demo", stdout=out)
    assert "Asha Dental Care: dental chart added" in out.getvalue()
    with tenant_context(clinic):
        assert DentalObservation.objects.exists()


def test_the_demo_prints_a_letterhead_and_hindi_and_tamil_names_shaped(live_db, api):
    from clinical.models import PrintTemplate
    from clinical.pdf import FONT_DIR
    from clinical.tests.pdf_glyphs import contains_shaped, text_layer

    call_command("seed_demo", stdout=io.StringIO())
    nurse = _login(api, "joseph@demo.clinic")
    clinic = _clinic_of(person_by_email("joseph@demo.clinic"))
    with tenant_context(clinic):
        template = PrintTemplate.objects.get()
        assert template.logo.name and template.signature.name
        rxs = {
            rx.patient.first_name: rx
            for rx in Prescription.objects.filter(patient__first_name__in=["अनीता", "கவிதா"])
        }
    for first, name, script, label in (
        ("अनीता", "अनीता शर्मा", "Devanagari", "पर्चा"),  # she reads Hindi: Hindi labels
        ("கவிதா", "கவிதா செல்வி", "Tamil", "Prescription"),
    ):
        response = api.get(f"/api/v1/prescriptions/{rxs[first].pk}/pdf/", **nurse)
        assert response.status_code == 200
        text = " ".join(text_layer(response.content).split())
        assert name in text and label in text
        assert contains_shaped(response.content, FONT_DIR / f"NotoSans{script}-Bold.ttf", name)
        images = [i for p in PdfReader(io.BytesIO(response.content)).pages for i in p.images]
        assert len(images) == 2  # logo and signature
