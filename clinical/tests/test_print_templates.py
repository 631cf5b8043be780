"""Print templates: the clinic's letterhead on prints. Owners and admins set them up through
the API (and the admin); the doctor's template applies, else the office's, else the
clinic's, else the built-in one; the HTML print and the PDF use the same; images are
sniffed, size-limited, stored under the clinic's prefix and served only to the clinic."""

from __future__ import annotations

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image
from pypdf import PdfReader

from clinical.models import PrintTemplate
from clinical.services import office_create, prescription_create
from clinical.tests.conftest import h, item
from clinical.tests.pdf_glyphs import text_layer
from tenants.context import tenant_context
from tenants.models import AuditEvent

URL = "/api/v1/print-templates"


def png(colour="navy", size=(120, 40)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, format="PNG")
    return buffer.getvalue()


def upload(name: str, data: bytes, content_type="image/png") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data, content_type=content_type)


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def office(clinic_a, doctor):
    office = office_create(
        tenant=clinic_a, name="Jayanagar Branch", address="9th Block, Bengaluru", phone="0802"
    )
    with tenant_context(clinic_a):
        doctor.offices.add(office, through_defaults={})
    return office


@pytest.fixture
def rx(clinic_a, bob, doctor, office, patient, medicine):
    return prescription_create(
        tenant=clinic_a,
        actor=bob,
        patient_id=patient.pk,
        diagnosis="Viral fever",
        instructions="Rest",
        follow_up_date=None,
        items=[item(medicine)],
        status="active",
    )


def create(api, user, clinic, **fields):
    body = {"name": "Letterhead", **fields}
    return api.post(URL, body, format="multipart", **h(user, clinic))


def printed(api, bob, clinic, rx) -> tuple[str, str]:
    html = api.get(f"/api/v1/prescriptions/{rx.pk}/print/", **h(bob, clinic)).content.decode()
    pdf = api.get(f"/api/v1/prescriptions/{rx.pk}/pdf/", **h(bob, clinic)).content
    return html, " ".join(text_layer(pdf).split())


def test_owner_sets_up_a_letterhead_with_logo_and_signature_and_every_print_uses_it(
    api, clinic_a, alice, bob, rx
):
    response = create(
        api,
        alice,
        clinic_a,
        header_title="Asha Clinic & Diagnostics",
        registration_number="GSTIN 29ABCDE1234F1Z5",
        doctor_registration="KMC 98765",
        footer_text="Timings 9 am to 7 pm",
        logo=upload("logo.png", png()),
        signature=upload("sign.png", png("black", (200, 60))),
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["scope"] == "clinic" and body["logo_url"] and body["signature_url"]
    with tenant_context(clinic_a):
        template = PrintTemplate.objects.get(pk=body["id"])
    # Stored under the clinic's prefix with a random name, never the client's.
    assert template.logo.name.startswith(f"{clinic_a.pk}/print/")
    assert "logo" not in template.logo.name.split("/")[-1]
    html, pdf_text = printed(api, bob, clinic_a, rx)
    for text in ("Asha Clinic &amp; Diagnostics", "GSTIN 29ABCDE1234F1Z5", "KMC 98765",
                 "Timings 9 am to 7 pm", 'src="data:image/png;base64,'):  # fmt: skip
        assert text in html, text
    for text in ("Asha Clinic & Diagnostics", "GSTIN 29ABCDE1234F1Z5", "KMC 98765",
                 "Timings 9 am to 7 pm"):  # fmt: skip
        assert text in pdf_text, text
    pdf = api.get(f"/api/v1/prescriptions/{rx.pk}/pdf/", **h(bob, clinic_a)).content
    images = [img for page in PdfReader(io.BytesIO(pdf)).pages for img in page.images]
    assert len(images) == 2  # the logo and the signature
    with tenant_context(clinic_a):
        assert AuditEvent.objects.filter(action="print_template.created").count() == 1


def test_the_doctors_template_wins_then_the_offices_then_the_clinics_then_built_in(
    api, clinic_a, alice, bob, doctor, office, rx
):
    ids = {}
    for scope, extra in (
        ("clinic", {}),
        ("office", {"office_id": str(office.pk)}),
        ("doctor", {"doctor_id": str(doctor.pk)}),
    ):
        response = create(api, alice, clinic_a, header_title=f"{scope} letterhead", **extra)
        assert response.status_code == 201, response.json()
        ids[scope] = response.json()["id"]
    for scope in ("doctor", "office", "clinic"):
        html, pdf_text = printed(api, bob, clinic_a, rx)
        assert f"{scope} letterhead" in html and f"{scope} letterhead" in pdf_text, scope
        assert api.delete(f"{URL}/{ids[scope]}", **h(alice, clinic_a)).status_code == 204
    html, pdf_text = printed(api, bob, clinic_a, rx)
    assert "Asha Dental Care" in html and "Asha Dental Care" in pdf_text  # built-in


def test_paper_orientation_margins_and_sections_shape_both_prints(api, clinic_a, alice, bob, rx):
    response = create(
        api,
        alice,
        clinic_a,
        paper_size="a5",
        orientation="landscape",
        margin_left_mm=30,
        show_diagnosis="false",
    )
    assert response.status_code == 201, response.json()
    assert response.json()["show_advice"] is True  # absent from the form: left alone
    html, pdf_text = printed(api, bob, clinic_a, rx)
    assert "size: A5 landscape" in html and "30mm" in html
    assert "Viral fever" not in html and "Viral fever" not in pdf_text
    assert "Rest" in pdf_text
    pdf = api.get(f"/api/v1/prescriptions/{rx.pk}/pdf/", **h(bob, clinic_a)).content
    box = PdfReader(io.BytesIO(pdf)).pages[0].mediabox
    assert (round(float(box.width)), round(float(box.height))) == (595, 420)  # A5 landscape


def test_preview_shows_the_template_with_sample_data_as_html_and_pdf(api, clinic_a, alice, bob):
    template_id = create(api, alice, clinic_a, header_title="Preview Clinic").json()["id"]
    page = api.get(f"{URL}/{template_id}/preview", **h(bob, clinic_a))
    assert page.status_code == 200 and page["Content-Type"].startswith("text/html")
    assert "Preview Clinic" in page.content.decode() and "RX-PREVIEW" in page.content.decode()
    pdf = api.get(f"{URL}/{template_id}/preview", {"format": "pdf"}, **h(bob, clinic_a))
    assert pdf["Content-Type"] == "application/pdf"
    text = " ".join(text_layer(pdf.content).split())
    assert "Preview Clinic" in text and "अनीता शर्मा" in text
    bad = api.get(f"{URL}/{template_id}/preview", {"format": "docx"}, **h(bob, clinic_a))
    assert bad.status_code == 400 and bad.json()["code"] == "invalid"


@pytest.mark.parametrize(
    ("data", "status", "code"),
    [
        (b"%PDF-1.4 not an image", 400, "unsupported_file_type"),
        (b"GIF89a" + b"\x00" * 40, 400, "unsupported_file_type"),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 40, 400, "unsupported_file_type"),  # damaged
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * (1024 * 1024 + 1), 413, "file_too_large"),
    ],
    ids=["pdf-named-png", "gif", "damaged-png", "too-large"],
)
def test_an_image_that_is_not_a_small_jpeg_or_png_is_refused_and_nothing_is_written(
    api, clinic_a, alice, data, status, code
):
    response = create(api, alice, clinic_a, logo=upload("logo.png", data))
    assert response.status_code == status
    assert response.json()["code"] == code and response.json()["detail"]
    with tenant_context(clinic_a):
        assert not PrintTemplate.objects.exists()


def test_one_template_per_scope_and_the_scope_is_in_the_clinic(
    api, clinic_a, clinic_b, alice, charlie, office
):
    assert create(api, alice, clinic_a).status_code == 201
    second = create(api, alice, clinic_a)
    assert second.status_code == 409 and second.json()["code"] == "print_template_exists"
    # Another clinic's office is unknown here, exactly like a missing one.
    foreign = create(api, charlie, clinic_b, office_id=str(office.pk))
    assert foreign.status_code == 400 and "office_id" in foreign.json()["errors"]


def test_another_clinic_never_sees_the_templates_nor_their_images(
    api, clinic_a, clinic_b, alice, charlie
):
    template_id = create(api, alice, clinic_a, logo=upload("l.png", png())).json()["id"]
    assert api.get(f"{URL}/{template_id}/logo", **h(alice, clinic_a)).status_code == 200
    outsider = h(charlie, clinic_b)
    assert api.get(URL, **outsider).json()["results"] == []
    for path in ("", "/logo", "/preview"):
        assert api.get(f"{URL}/{template_id}{path}", **outsider).status_code == 404, path
    assert (
        api.patch(f"{URL}/{template_id}", {"name": "x"}, format="json", **outsider).status_code
        == 404
    )


def test_replacing_an_image_deletes_the_old_file_after_commit(
    api, clinic_a, alice, django_capture_on_commit_callbacks
):
    template_id = create(api, alice, clinic_a, logo=upload("a.png", png())).json()["id"]
    with tenant_context(clinic_a):
        old = PrintTemplate.objects.get(pk=template_id).logo
    storage, old_name = old.storage, old.name
    with django_capture_on_commit_callbacks(execute=True):
        response = api.patch(
            f"{URL}/{template_id}",
            {"logo": upload("b.png", png("red"))},
            format="multipart",
            **h(alice, clinic_a),
        )
    assert response.status_code == 200
    assert not storage.exists(old_name)
    with django_capture_on_commit_callbacks(execute=True):
        api.patch(f"{URL}/{template_id}", {"remove_logo": True}, format="json",
                  **h(alice, clinic_a))  # fmt: skip
    assert api.get(f"{URL}/{template_id}", **h(alice, clinic_a)).json()["logo_url"] is None
