"""Dental attachments: multipart upload sniffed from the content (JPEG, PNG, PDF only), a size
limit, storage under the clinic's prefix, downloads only through the authorised view, and the
file deleted with its record once the deletion has committed."""

from __future__ import annotations

import uuid

import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile

from clinical.models import DentalAttachment, DentalObservation, DentalProcedure
from clinical.tests.conftest import count_queries, h, make_doctor
from tenants.context import tenant_context
from tenants.models import AuditEvent
from tenants.testing import build

URL = "/api/v1/dental/attachments"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 64
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 64
PDF = b"%PDF-1.4\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n"


@pytest.fixture
def observation(clinic_a, dentist, patient):
    with tenant_context(clinic_a):
        return build(DentalObservation, patient=patient, doctor=dentist, tooth_number=46)


@pytest.fixture
def procedure(clinic_a, dentist, patient):
    with tenant_context(clinic_a):
        return build(DentalProcedure, patient=patient, doctor=dentist)


def upload(api, user, clinic, content=PNG, name="xray.png", **fields):
    data = {"file": SimpleUploadedFile(name, content, content_type="image/png"), **fields}
    data.setdefault("file_type", "xray")
    return api.post(URL, data, format="multipart", **h(user, clinic))


@pytest.mark.parametrize(
    ("content", "name", "content_type"),
    [
        (PNG, "arjun-xray.png", "image/png"),
        (JPEG, "arjun-before.jpg", "image/jpeg"),
        (PDF, "arjun-report.pdf", "application/pdf"),
    ],
    ids=["png", "jpeg", "pdf"],
)
def test_an_upload_is_stored_under_the_clinics_prefix_and_downloaded_through_the_api(
    api, clinic_a, bob, observation, media, content, name, content_type
):
    response = upload(api, bob, clinic_a, content, name, observation_id=str(observation.pk))
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["content_type"] == content_type and body["size"] == len(content)
    assert body["observation_id"] == str(observation.pk) and body["procedure_id"] is None
    assert body["patient_id"] == str(observation.patient_id)
    assert body["original_name"] == name
    assert body["file_url"].endswith(f"/api/v1/dental/attachments/{body['id']}/download")
    with tenant_context(clinic_a):
        stored = DentalAttachment.objects.get().file.name
    assert stored.startswith(f"{clinic_a.pk}/dental/") and name not in stored
    assert (media / stored).read_bytes() == content

    download = api.get(body["file_url"], **h(bob, clinic_a))
    assert download.status_code == 200
    assert download["Content-Type"] == content_type
    assert download["X-Content-Type-Options"] == "nosniff"
    assert b"".join(download.streaming_content) == content
    with tenant_context(clinic_a):
        assert AuditEvent.objects.filter(action="dental_attachment.downloaded").count() == 1


def test_the_observation_and_the_list_carry_the_file_url(api, clinic_a, bob, observation, media):
    created = upload(api, bob, clinic_a, observation_id=str(observation.pk)).json()
    detail = api.get(f"/api/v1/dental/observations/{observation.pk}", **h(bob, clinic_a)).json()
    assert [a["file_url"] for a in detail["attachments"]] == [created["file_url"]]
    listed = api.get(URL, {"observation": str(observation.pk)}, **h(bob, clinic_a)).json()
    assert [a["id"] for a in listed["results"]] == [created["id"]]


def test_a_procedure_takes_attachments_too(api, clinic_a, bob, procedure, media):
    response = upload(
        api, bob, clinic_a, JPEG, "before.jpg", procedure_id=str(procedure.pk), file_type="before"
    )
    assert response.status_code == 201, response.json()
    assert response.json()["procedure_id"] == str(procedure.pk)


@pytest.mark.parametrize(
    ("content", "name"),
    [
        (b"GIF89a" + b"\x00" * 32, "x.gif"),
        (b"<html><script>alert(1)</script></html>", "x.png"),
        (b"MZ\x90\x00" + b"\x00" * 32, "x.pdf"),
        (b"PK\x03\x04" + b"\x00" * 32, "x.jpg"),
        (b"not a png at all", "x.png"),
    ],
    ids=["gif", "html", "exe", "zip", "text"],
)
def test_content_that_is_not_jpeg_png_or_pdf_is_refused_whatever_its_name(
    api, clinic_a, bob, observation, media, content, name
):
    response = upload(api, bob, clinic_a, content, name, observation_id=str(observation.pk))
    assert response.status_code == 400
    assert response.json()["code"] == "unsupported_file_type"
    assert "file" in response.json()["errors"]
    with tenant_context(clinic_a):
        assert not DentalAttachment.objects.exists()
    assert not media.exists() or not any(media.rglob("*.*"))


def test_a_file_over_the_limit_is_refused_and_nothing_is_stored(
    api, clinic_a, bob, observation, media, settings
):
    settings.DENTAL_ATTACHMENT_MAX_BYTES = 1024
    response = upload(api, bob, clinic_a, PNG + b"\x00" * 1024, observation_id=str(observation.pk))
    assert response.status_code == 413
    assert response.json()["code"] == "file_too_large"
    assert response.json()["limit_bytes"] == 1024
    with tenant_context(clinic_a):
        assert not DentalAttachment.objects.exists()
    assert not media.exists() or not any(media.rglob("*.*"))
    assert upload(api, bob, clinic_a, PNG, observation_id=str(observation.pk)).status_code == 201


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        ({}, "observation_id"),
        ({"observation_id": "both", "procedure_id": "both"}, "observation_id"),
        ({"observation_id": "not-a-uuid"}, "observation_id"),
        ({"observation_id": str(uuid.uuid4())}, "observation_id"),
        ({"procedure_id": str(uuid.uuid4())}, "procedure_id"),
        ({"observation_id": "obs", "file_type": "selfie"}, "file_type"),
    ],
)
def test_bad_upload_input_is_a_field_error(
    api, clinic_a, bob, observation, procedure, media, fields, error
):
    fields = {
        k: (str(observation.pk) if v in ("both", "obs") and k == "observation_id" else v)
        for k, v in fields.items()
    }
    if fields.get("procedure_id") == "both":
        fields["procedure_id"] = str(procedure.pk)
    response = upload(api, bob, clinic_a, **fields)
    assert response.status_code == 400, response.json()
    assert error in response.json()["errors"]


def test_an_upload_without_a_file_or_an_empty_one_is_a_400(api, clinic_a, bob, observation, media):
    headers = h(bob, clinic_a)
    missing = api.post(
        URL,
        {"file_type": "xray", "observation_id": str(observation.pk)},
        format="multipart",
        **headers,
    )
    assert missing.status_code == 400 and "file" in missing.json()["errors"]
    empty = upload(api, bob, clinic_a, b"", observation_id=str(observation.pk))
    assert empty.status_code == 400 and "file" in empty.json()["errors"]


def test_another_clinics_observation_is_refused_like_a_missing_one(
    api, clinic_a, clinic_b, bob, dentist, media
):
    with tenant_context(clinic_b):
        foreign = build(DentalObservation)
    answers = [
        upload(api, bob, clinic_a, observation_id=str(pk)).json()
        for pk in (foreign.pk, uuid.uuid4())
    ]
    assert answers[0] == answers[1]
    assert answers[0]["errors"] == {"observation_id": ["No such observation in this clinic."]}


def test_another_clinic_and_guessed_paths_get_404(
    api, client, clinic_a, clinic_b, bob, charlie, observation, media
):
    created = upload(api, bob, clinic_a, observation_id=str(observation.pk)).json()
    make_doctor(clinic_b, charlie)
    outsider = h(charlie, clinic_b)
    for path in (f"{URL}/{created['id']}", f"{URL}/{created['id']}/download/"):
        assert api.get(path, **outsider).status_code == 404
    assert api.delete(f"{URL}/{created['id']}", **outsider).status_code == 404
    assert api.get(URL, **outsider).json()["count"] == 0
    # Without a token the download is refused, and the stored path is served by nothing.
    assert api.get(created["file_url"]).status_code == 401
    with tenant_context(clinic_a):
        stored = DentalAttachment.objects.get().file.name
    for guess in (f"/media/{stored}", f"/{stored}", f"/api/v1/media/{stored}"):
        assert client.get(guess).status_code == 404, guess
    with tenant_context(clinic_a):
        assert DentalAttachment.objects.exists()


def test_receptionists_neither_upload_nor_download(api, clinic_a, bob, observation, staff, media):
    created = upload(api, bob, clinic_a, observation_id=str(observation.pk)).json()
    reception = h(staff["receptionist"], clinic_a)
    assert api.get(f"{URL}/{created['id']}/download/", **reception).status_code == 403
    refused = upload(api, staff["receptionist"], clinic_a, observation_id=str(observation.pk))
    assert refused.status_code == 403
    # A nurse uploads x-rays.
    nurse = upload(api, staff["nurse"], clinic_a, observation_id=str(observation.pk))
    assert nurse.status_code == 201


def test_the_file_is_deleted_with_its_record_on_commit(
    api, clinic_a, bob, observation, media, django_capture_on_commit_callbacks
):
    created = upload(api, bob, clinic_a, observation_id=str(observation.pk)).json()
    with tenant_context(clinic_a):
        stored = DentalAttachment.objects.get().file.name
    assert default_storage.exists(stored)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = api.delete(f"{URL}/{created['id']}", **h(bob, clinic_a))
    assert response.status_code == 204
    assert default_storage.exists(stored), "nothing is deleted before the commit"
    for callback in callbacks:
        callback()
    assert not default_storage.exists(stored)
    with tenant_context(clinic_a):
        assert not DentalAttachment.objects.exists()


@pytest.mark.parametrize("parent", ["observation", "procedure"])
def test_deleting_the_record_deletes_its_attachments_and_files(
    api,
    clinic_a,
    bob,
    observation,
    procedure,
    media,
    parent,
    django_capture_on_commit_callbacks,
):
    row = observation if parent == "observation" else procedure
    upload(api, bob, clinic_a, **{f"{parent}_id": str(row.pk)})
    upload(api, bob, clinic_a, JPEG, "b.jpg", **{f"{parent}_id": str(row.pk)})
    with tenant_context(clinic_a):
        stored = list(DentalAttachment.objects.values_list("file", flat=True))
    assert len(stored) == 2
    with django_capture_on_commit_callbacks(execute=True):
        response = api.delete(f"/api/v1/dental/{parent}s/{row.pk}", **h(bob, clinic_a))
    assert response.status_code == 204
    assert not any(default_storage.exists(name) for name in stored)
    with tenant_context(clinic_a):
        assert not DentalAttachment.objects.exists()


def test_a_failed_deletion_keeps_the_file(api, clinic_a, bob, observation, media, monkeypatch):
    """The file goes only after the commit: a deletion that fails leaves it in place."""
    created = upload(api, bob, clinic_a, observation_id=str(observation.pk)).json()
    with tenant_context(clinic_a):
        stored = DentalAttachment.objects.get().file.name

    def broken(**kwargs):
        raise RuntimeError("audit store down")

    monkeypatch.setattr("clinical.services.dental.attachments.audit_record", broken)
    with pytest.raises(RuntimeError):
        api.delete(f"{URL}/{created['id']}", **h(bob, clinic_a))
    assert default_storage.exists(stored)


def test_a_failed_upload_leaves_no_file_behind(api, clinic_a, bob, observation, media, monkeypatch):
    def broken(**kwargs):
        raise RuntimeError("audit store down")

    monkeypatch.setattr("clinical.services.dental.attachments.audit_record", broken)
    with pytest.raises(RuntimeError):
        upload(api, bob, clinic_a, observation_id=str(observation.pk))
    assert not media.exists() or not any(media.rglob("*.*"))


def test_an_x_ray_larger_than_the_in_memory_request_limit_is_accepted(
    api, clinic_a, bob, observation, media, settings
):
    """Uploads have their own limit: DATA_UPLOAD_MAX_MEMORY_SIZE (2.5 MB) covers the other
    fields of a request, not its files."""
    big = JPEG + b"\x00" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1024 * 1024)
    response = upload(api, bob, clinic_a, big, "pano.jpg", observation_id=str(observation.pk))
    assert response.status_code == 201, response.json()
    assert response.json()["size"] == len(big)


def test_a_large_upload_with_an_idempotency_key_is_stored_once(
    api, clinic_a, bob, observation, media, settings
):
    """A mobile client retrying an x-ray upload gets the first answer back, whatever the
    file's size; the same key with another file is refused."""
    big = JPEG + b"\x01" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1024 * 1024)

    def send(content):
        data = {
            "file": SimpleUploadedFile("pano.jpg", content, content_type="image/jpeg"),
            "file_type": "xray",
            "observation_id": str(observation.pk),
        }
        headers = {**h(bob, clinic_a), "HTTP_IDEMPOTENCY_KEY": "xray-upload-1"}
        return api.post(URL, data, format="multipart", **headers)

    first = send(big)
    assert first.status_code == 201, first.json()
    again = send(big)
    assert again.status_code == 201
    assert again["Idempotent-Replayed"] == "true"
    assert again.json()["id"] == first.json()["id"]
    other = send(big[:-1] + b"\x02")
    assert other.status_code == 422
    assert other.json()["code"] == "idempotency_key_reused"
    with tenant_context(clinic_a):
        assert DentalAttachment.objects.count() == 1


def test_a_list_runs_a_constant_number_of_queries(api, clinic_a, bob, observation, media):
    headers = h(bob, clinic_a)
    upload(api, bob, clinic_a, observation_id=str(observation.pk))
    api.get(URL, **headers)  # warm up
    one, _ = count_queries(lambda: api.get(URL, **headers))
    for _n in range(4):
        upload(api, bob, clinic_a, observation_id=str(observation.pk))
    many, response = count_queries(lambda: api.get(URL, **headers))
    assert response.json()["count"] == 5
    assert many == one
