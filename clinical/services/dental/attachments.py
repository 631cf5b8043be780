"""Dental attachments: an x-ray, photo or PDF stored for one observation or one procedure,
written by the clinical staff. What a file is comes from its first bytes, whatever its name
or declared type says; stored files are deleted once the deletion of their record has
committed, so a rolled-back request never loses a file."""

from __future__ import annotations

import os
import re

from django.conf import settings
from django.db import transaction

from clinical.models import DentalAttachment, DentalObservation, DentalProcedure
from clinical.services.common import clean_text, field_error, full_clean, get_in_clinic
from clinical.services.dental.checks import delete_files_on_commit
from core.errors import ApplicationError
from tenants.audit import audit_record
from tenants.context import tenant_context

# The first bytes of each accepted kind of file: what the file is, whatever it claims.
SIGNATURES = (
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"%PDF-", "application/pdf"),
)
_UNSAFE_NAME = re.compile(r"[^\w .()+-]")


def sniff_content_type(upload) -> str | None:
    """The content type of an uploaded file from its magic bytes, or None."""
    upload.seek(0)
    head = upload.read(16)
    upload.seek(0)
    for signature, content_type in SIGNATURES:
        if head.startswith(signature):
            return content_type
    return None


def _safe_name(name: str) -> str:
    base = os.path.basename((name or "").replace("\\", "/"))
    return _UNSAFE_NAME.sub("_", base).strip()[:255]


def max_attachment_bytes() -> int:
    return settings.DENTAL_ATTACHMENT_MAX_BYTES


@transaction.atomic
def dental_attachment_create(
    *,
    tenant,
    actor,
    file,
    file_type: str,
    observation_id=None,
    procedure_id=None,
    description: str = "",
) -> DentalAttachment:
    """Store an x-ray, photo or PDF for one observation or one procedure.

    Refused: a file over the size limit (413 `file_too_large`), an empty one, and anything
    whose content is not JPEG, PNG or PDF whatever its name or declared type (400
    `unsupported_file_type`). Stored under the clinic's prefix with a random name.
    """
    with tenant_context(tenant):
        if (observation_id is None) == (procedure_id is None):
            raise ApplicationError(
                "Attach the file to exactly one observation or one procedure.",
                code="invalid_parent",
                field_errors={
                    "observation_id": ["Give observation_id or procedure_id, not both."],
                },
            )
        observation = get_in_clinic(
            DentalObservation.objects.all(),
            observation_id,
            field="observation_id",
            label="observation",
        )
        procedure = get_in_clinic(
            DentalProcedure.objects.all(), procedure_id, field="procedure_id", label="procedure"
        )
        parent = observation or procedure
        limit = max_attachment_bytes()
        if file.size > limit:
            raise ApplicationError(
                f"The file is larger than the limit of {limit // (1024 * 1024) or 1} MB.",
                code="file_too_large",
                status_code=413,
                extra={"limit_bytes": limit, "size_bytes": file.size},
                field_errors={"file": ["Too large."]},
            )
        if file.size == 0:
            raise field_error("file", "The file is empty.")
        content_type = sniff_content_type(file)
        if content_type is None:
            raise ApplicationError(
                "Only JPEG, PNG and PDF files can be attached.",
                code="unsupported_file_type",
                field_errors={"file": ["Not a JPEG, PNG or PDF file."]},
            )
        attachment = DentalAttachment(
            patient_id=parent.patient_id,
            observation=observation,
            procedure=procedure,
            file_type=file_type,
            content_type=content_type,
            size=file.size,
            original_name=_safe_name(getattr(file, "name", "")),
            description=clean_text(description),
            uploaded_by=actor,
        )
        attachment.assign_tenant()
        full_clean(
            attachment,
            exclude=["patient", "observation", "procedure", "uploaded_by", "file"],
            validate_unique=False,
            validate_constraints=False,
        )
        attachment.file.save(attachment.original_name or "upload", file, save=False)
        try:
            with transaction.atomic():
                attachment.save(force_insert=True)
                audit_record(
                    action="dental_attachment.created",
                    actor=actor,
                    object=attachment,
                    patient_id=attachment.patient_id,
                    details={
                        "file_type": file_type,
                        "content_type": content_type,
                        "size": file.size,
                    },
                )
        except Exception:
            # The row was not written: do not leave its file behind.
            attachment.file.storage.delete(attachment.file.name)
            raise
    return attachment


@transaction.atomic
def dental_attachment_delete(*, tenant, actor, attachment: DentalAttachment) -> None:
    """Delete an attachment; its file goes once the deletion has committed."""
    with tenant_context(tenant):
        attachment = DentalAttachment.objects.select_for_update().get(pk=attachment.pk)
        name = attachment.file.name
        audit_record(
            action="dental_attachment.deleted",
            actor=actor,
            object=attachment,
            patient_id=attachment.patient_id,
            details={"file_type": attachment.file_type},
        )
        attachment.delete()
        delete_files_on_commit([name])


def dental_attachment_record_download(*, tenant, attachment, request) -> None:
    """Audit that a clinic member downloaded an attachment's file."""
    with tenant_context(tenant):
        audit_record(
            action="dental_attachment.downloaded",
            request=request,
            object=attachment,
            patient_id=attachment.patient_id,
        )
