"""The dental chart (JSON and a printable tooth grid), the case summary (HTML and PDF) and the
dental records on a dentist's printed prescription; through the API and the browser session."""

from __future__ import annotations

import datetime
import io

import pytest
from django.utils import timezone
from pypdf import PdfReader

from accounts.testing import add_member, session_login
from clinical.models import DentalAttachment, DentalObservation, Prescription
from clinical.models.dental import ALL_TEETH
from clinical.services import (
    dental_observation_create,
    dental_procedure_create,
    dental_procedure_transition,
    prescription_create,
)
from clinical.tests.conftest import count_queries, h, item, make_doctor
from tenants.context import tenant_context
from tenants.models import AuditEvent
from tenants.testing import build

TODAY = timezone.localdate()


def days_ago(n: int) -> datetime.date:
    return TODAY - datetime.timedelta(days=n)


def find(clinic, bob, patient, tooth, condition, *, when=0, **fields):
    return dental_observation_create(
        tenant=clinic,
        actor=bob,
        patient_id=patient.pk,
        tooth_number=tooth,
        condition_type=condition,
        observed_on=days_ago(when),
        **fields,
    )


def plan(clinic, bob, patient, teeth, *, code="D2391", name="Composite", path=(), **fields):
    procedure = dental_procedure_create(
        tenant=clinic,
        actor=bob,
        patient_id=patient.pk,
        procedure_code=code,
        procedure_name=name,
        teeth=teeth,
        **fields,
    )
    for status in path:
        procedure = dental_procedure_transition(
            tenant=clinic, actor=bob, procedure=procedure, status=status
        )
    return procedure


def chart_url(patient) -> str:
    return f"/api/v1/patients/{patient.pk}/dental-chart/"


def test_the_chart_has_every_tooth_with_its_latest_finding_and_procedures(
    api, clinic_a, bob, dentist, patient
):
    find(clinic_a, bob, patient, 46, "caries", when=30)
    latest = find(clinic_a, bob, patient, 46, "filled", when=1)
    find(clinic_a, bob, patient, 54, "caries", treatment_required=True)
    open_one = plan(clinic_a, bob, patient, [46, 47], name="Onlay")
    done = plan(clinic_a, bob, patient, [46], name="Filling", path=["in_progress", "completed"])
    plan(clinic_a, bob, patient, [46], name="Cancelled", path=["cancelled"])
    cleaning = plan(clinic_a, bob, patient, [], code="D1110", name="Prophylaxis")

    response = api.get(chart_url(patient), **h(bob, clinic_a))

    assert response.status_code == 200
    body = response.json()
    assert body["patient"]["id"] == str(patient.pk) and body["observations"] == 3
    teeth = {t["tooth_number"]: t for t in body["teeth"]}
    assert [t["tooth_number"] for t in body["teeth"]] == list(ALL_TEETH)
    assert teeth[46]["condition_type"] == "filled"
    assert teeth[46]["observation_id"] == str(latest.pk)
    assert [p["id"] for p in teeth[46]["open_procedures"]] == [str(open_one.pk)]
    assert [p["id"] for p in teeth[46]["completed_procedures"]] == [str(done.pk)]
    assert [p["id"] for p in teeth[47]["open_procedures"]] == [str(open_one.pk)]
    assert teeth[54]["dentition"] == "primary" and teeth[54]["treatment_required"] is True
    assert teeth[11]["condition_type"] is None and teeth[11]["open_procedures"] == []
    assert [p["id"] for p in body["whole_mouth_procedures"]] == [str(cleaning.pk)]
    with tenant_context(clinic_a):
        assert AuditEvent.objects.filter(action="patient.dental_chart_viewed").exists()


def test_the_chart_runs_the_same_queries_for_one_record_or_many(
    api, clinic_a, bob, dentist, patient
):
    headers = h(bob, clinic_a)
    find(clinic_a, bob, patient, 46, "caries")
    plan(clinic_a, bob, patient, [46])
    api.get(chart_url(patient), **headers)  # warm up
    one, _ = count_queries(lambda: api.get(chart_url(patient), **headers))
    for n, tooth in enumerate((11, 12, 13, 21, 22, 31, 36, 41, 51, 85)):
        find(clinic_a, bob, patient, tooth, "caries", when=n)
        find(clinic_a, bob, patient, tooth, "filled")
        plan(clinic_a, bob, patient, [tooth, 46], path=["in_progress", "completed"][: n % 3])
    many, response = count_queries(lambda: api.get(chart_url(patient), **headers))
    assert response.json()["observations"] == 21
    assert many == one


def test_another_clinic_gets_404_and_receptionists_403(
    api, clinic_a, clinic_b, bob, charlie, dentist, patient, staff
):
    find(clinic_a, bob, patient, 46, "caries")
    outsider = h(charlie, clinic_b)
    base = f"/api/v1/patients/{patient.pk}"
    for path in ("dental-chart/", "dental-chart/print/", "case-summary/", "case-summary/pdf/"):
        assert api.get(f"{base}/{path}", **outsider).status_code == 404, path
        reception = api.get(f"{base}/{path}", **h(staff["receptionist"], clinic_a))
        assert reception.status_code == 403, path
        assert api.get(f"{base}/{path}", **h(staff["nurse"], clinic_a)).status_code == 200


def test_the_printable_chart_colours_each_tooth_by_its_condition(
    api, clinic_a, bob, dentist, patient
):
    find(clinic_a, bob, patient, 46, "caries")
    find(clinic_a, bob, patient, 11, "crown")
    plan(clinic_a, bob, patient, [46], name="Root canal <script>")
    response = api.get(f"/api/v1/patients/{patient.pk}/dental-chart/print/", **h(bob, clinic_a))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    page = response.content.decode()
    assert 'data-tooth="46"' in page and 'data-tooth="85"' in page
    # Colour, pattern and the condition's name: colour is never the only cue.
    assert 'pattern-dots" style="background-color: #b42318" data-tooth="46"' in page  # caries
    assert 'pattern-ring" style="background-color: #7a5900" data-tooth="11"' in page  # crown
    assert 'background-color: #ffffff" data-tooth="21"' in page  # no finding
    assert "Asha Dental Care" in page and "Arjun Menon" in page
    assert "Root canal &lt;script&gt;" in page and "<script>" not in page.split("</style>")[1]


@pytest.mark.parametrize("role", ["owner", "doctor", "nurse", "admin"])
def test_members_open_the_chart_page_in_the_browser(
    client, clinic_a, alice, bob, dentist, patient, role
):
    find(clinic_a, bob, patient, 46, "caries")
    user = {"owner": alice, "doctor": bob}.get(role) or add_member(clinic_a, role=role).user
    session_login(client, user, clinic_a)
    response = client.get(f"/clinic/patients/{patient.pk}/dental-chart/")
    assert response.status_code == 200
    assert 'data-tooth="46"' in response.content.decode()


def test_the_chart_page_refuses_receptionists_and_other_clinics(
    client, clinic_a, clinic_b, charlie, patient
):
    reception = add_member(clinic_a, role="receptionist").user
    session_login(client, reception, clinic_a)
    assert client.get(f"/clinic/patients/{patient.pk}/dental-chart/").status_code == 403
    session_login(client, charlie, clinic_b)
    for path in ("dental-chart/", "case-summary/", "case-summary/pdf/"):
        assert client.get(f"/clinic/patients/{patient.pk}/{path}").status_code == 404


@pytest.fixture
def treated(clinic_a, alice, bob, dentist, patient, medicine):
    """A patient with findings, procedures, a prescription and an attachment over time."""
    old = find(clinic_a, bob, patient, 36, "filled", when=400, notes="Old amalgam")
    recent = find(
        clinic_a, bob, patient, 46, "caries", when=3, severity="severe", notes="Deep caries"
    )
    plan(
        clinic_a,
        bob,
        patient,
        [46],
        code="D3330",
        name="Root canal treatment, molar",
        estimated_cost="6500.00",
        path=["in_progress"],
    )
    rx = prescription_create(
        tenant=clinic_a,
        actor=bob,
        patient_id=patient.pk,
        diagnosis="Irreversible pulpitis 46",
        items=[item(medicine)],
        status="active",
    )
    with tenant_context(clinic_a):
        build(
            DentalAttachment,
            observation=recent,
            original_name="iopa-46.jpg",
            content_type="image/jpeg",
        )
    return {"old": old, "recent": recent, "rx": rx}


def summary(api, user, clinic, patient, suffix="", **params):
    return api.get(
        f"/api/v1/patients/{patient.pk}/case-summary/{suffix}", params, **h(user, clinic)
    )


def test_the_case_summary_pdf_is_a_real_pdf_with_the_patients_treatment(
    api, clinic_a, bob, patient, treated
):
    response = summary(api, bob, clinic_a, patient, "pdf/", **{"from": days_ago(30)})
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF-")
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(response.content)).pages)
    for expected in (
        "Asha Dental Care",
        "Arjun Menon",
        "Deep caries",
        "Root canal treatment, molar",
        "D3330",
        treated["rx"].prescription_number,
        "Irreversible pulpitis 46",
        "Paracetamol",
        "iopa-46.jpg",
    ):
        assert expected in text, expected
    assert "Old amalgam" not in text, "findings before the range are left out"
    assert 'filename="case-summary-arjun-menon-' in response["Content-Disposition"]
    with tenant_context(clinic_a):
        [event] = AuditEvent.objects.filter(action="patient.case_summary_printed")
    assert event.details["format"] == "pdf" and event.patient_id == patient.pk


def test_the_case_summary_page_covers_everything_by_default(api, clinic_a, bob, patient, treated):
    response = summary(api, bob, clinic_a, patient)
    assert response.status_code == 200
    page = response.content.decode()
    assert "Old amalgam" in page and "Deep caries" in page
    assert treated["rx"].prescription_number in page
    narrow = summary(api, bob, clinic_a, patient, **{"from": days_ago(2), "to": days_ago(1)})
    page = narrow.content.decode()
    assert "Deep caries" not in page and "No findings recorded in this period." in page


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"from": "yesterday"}, "from"),
        ({"to": "2026-02-30"}, "to"),
        ({"from": "2026-05-02", "to": "2026-05-01"}, "from"),
        ({"from": "01/05/2026"}, "from"),
    ],
)
@pytest.mark.parametrize("suffix", ["", "pdf/"])
def test_a_bad_date_range_is_a_400_with_the_field(
    api, clinic_a, bob, dentist, patient, params, field, suffix
):
    response = summary(api, bob, clinic_a, patient, suffix, **params)
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid" and field in body["errors"]


def test_the_case_summary_through_the_browser_session(client, clinic_a, alice, patient, treated):
    session_login(client, alice, clinic_a)
    page = client.get(f"/clinic/patients/{patient.pk}/case-summary/")
    assert page.status_code == 200 and "Deep caries" in page.content.decode()
    pdf = client.get(f"/clinic/patients/{patient.pk}/case-summary/pdf/", {"from": days_ago(10)})
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF-")
    bad = client.get(f"/clinic/patients/{patient.pk}/case-summary/", {"from": "soon"})
    assert bad.status_code == 400


def test_a_dentists_printed_prescription_shows_its_dental_records(
    api, clinic_a, alice, bob, dentist, patient, medicine
):
    from clinical.services import appointment_book

    visit = appointment_book(
        tenant=clinic_a,
        actor=alice,
        patient_id=patient.pk,
        doctor_id=dentist.pk,
        appointment_date=TODAY,
        appointment_time=datetime.time(19, 0),
        appointment_type="walk_in",
    )
    finding = find(
        clinic_a, bob, patient, 46, "caries", appointment_id=visit.pk, notes="Deep, near pulp"
    )
    rx = prescription_create(
        tenant=clinic_a,
        actor=bob,
        patient_id=patient.pk,
        appointment_id=visit.pk,
        diagnosis="Pulpitis 46",
        items=[item(medicine)],
        status="active",
    )
    plan(
        clinic_a,
        bob,
        patient,
        [46],
        code="D3330",
        name="Root canal treatment, molar",
        observation_id=finding.pk,
        prescription_id=rx.pk,
    )
    page = api.get(f"/api/v1/prescriptions/{rx.pk}/print/", **h(bob, clinic_a)).content.decode()
    assert "Dental findings" in page and "Deep, near pulp" in page
    assert "Dental treatment" in page and "Root canal treatment, molar" in page
    pdf = api.get(f"/api/v1/prescriptions/{rx.pk}/pdf/", **h(bob, clinic_a)).content
    text = PdfReader(io.BytesIO(pdf)).pages[0].extract_text()
    assert "Deep, near pulp" in text and "D3330" in text


def test_a_general_doctors_prescription_has_no_dental_section(
    api, clinic_a, bob, doctor, patient, medicine
):
    with tenant_context(clinic_a):
        assert doctor.specialization == "General Medicine"
        rx = build(Prescription, patient=patient, doctor=doctor)
        build(DentalObservation, patient=patient, doctor=doctor, prescription=rx)
    page = api.get(f"/api/v1/prescriptions/{rx.pk}/print/", **h(bob, clinic_a)).content.decode()
    assert "Dental findings" not in page


@pytest.mark.parametrize(
    ("specialization", "dental"),
    [
        ("Dentistry", True),
        ("Dental Surgeon", True),
        ("Orthodontics", True),
        ("Periodontics", True),
        ("Oral and Maxillofacial Surgery", True),
        ("General Medicine", False),
        ("Paediatrics", False),
    ],
)
def test_which_specializations_are_dental(specialization, dental):
    from clinical.models import Doctor
    from clinical.printing import is_dental

    assert is_dental(Doctor(specialization=specialization)) is dental


def test_a_procedure_is_filed_under_its_planned_day_until_it_is_done(
    api, clinic_a, bob, dentist, patient
):
    plan(clinic_a, bob, patient, [11], name="Veneer", planned_date=TODAY + datetime.timedelta(30))
    assert "Veneer" not in summary(api, bob, clinic_a, patient).content.decode()
    later = TODAY + datetime.timedelta(31)
    assert "Veneer" in summary(api, bob, clinic_a, patient, to=later).content.decode()


def test_another_doctor_of_clinic_b_cannot_print_clinic_as_summary(api, clinic_b, charlie, patient):
    make_doctor(clinic_b, charlie)
    assert summary(api, charlie, clinic_b, patient, "pdf/").status_code == 404
