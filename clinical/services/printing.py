"""Print templates: create, change and delete the clinic's letterheads (owners and admins,
through the API and the admin alike).

Images (the logo and the doctor's signature) follow the rules of dental attachments: the
content is sniffed (JPEG or PNG, whatever the name says), the size is limited, the file is
stored under the clinic's prefix with a random name, and it is served only to the clinic.
"""

from __future__ import annotations

import io

from django.db import IntegrityError, transaction

from clinical.models import Doctor, Office, PrintTemplate
from clinical.services.common import field_error, full_clean, get_in_clinic
from clinical.services.dental.attachments import sniff_content_type
from core.errors import ApplicationError
from tenants.audit import audit_record
from tenants.context import tenant_context

# A letterhead logo or a signature is small; a 4000 x 4000 image is more than any print
# needs and bounds the memory a decode can take.
PRINT_IMAGE_MAX_BYTES = 1024 * 1024
PRINT_IMAGE_MAX_PIXELS = 4000 * 4000
IMAGES = ("logo", "signature")
EDITABLE_FIELDS = (
    "name",
    "paper_size",
    "orientation",
    "margin_top_mm",
    "margin_right_mm",
    "margin_bottom_mm",
    "margin_left_mm",
    "header_title",
    "header_address",
    "header_phone",
    "registration_number",
    "doctor_name",
    "doctor_qualification",
    "doctor_registration",
    "footer_text",
    "language",
    *(f"show_{section}" for section in PrintTemplate.SECTIONS),
)


def _check_image(upload, field: str) -> str:
    """The sniffed content type of an uploaded logo or signature; a 4xx otherwise."""
    if upload.size > PRINT_IMAGE_MAX_BYTES:
        raise ApplicationError(
            f"The image is larger than the limit of {PRINT_IMAGE_MAX_BYTES // 1024} KB.",
            code="file_too_large",
            status_code=413,
            extra={"limit_bytes": PRINT_IMAGE_MAX_BYTES, "size_bytes": upload.size},
            field_errors={field: ["Too large."]},
        )
    if upload.size == 0:
        raise field_error(field, "The file is empty.")
    content_type = sniff_content_type(upload)
    if content_type not in PrintTemplate.EXTENSIONS:
        raise ApplicationError(
            "Only JPEG and PNG images can be used.",
            code="unsupported_file_type",
            field_errors={field: ["Not a JPEG or PNG image."]},
        )
    # Imported here, not at the top: Pillow is heavy, and only an uploaded letterhead image
    # needs it (every request imports the services).
    from PIL import Image

    upload.seek(0)
    try:
        with Image.open(io.BytesIO(upload.read())) as image:
            width, height = image.size
            image.verify()
    except Exception:
        raise ApplicationError(
            "The image could not be read.",
            code="unsupported_file_type",
            field_errors={field: ["A damaged or incomplete image."]},
        ) from None
    finally:
        upload.seek(0)
    if width * height > PRINT_IMAGE_MAX_PIXELS:
        raise field_error(field, "The image has too many pixels (at most 4000 x 4000).")
    return content_type


def _store_images(template: PrintTemplate, images: dict) -> list[str]:
    """Save the new images' files; returns the names written (to delete if the row is not)."""
    written = []
    for field, (upload, content_type) in images.items():
        extension = PrintTemplate.EXTENSIONS[content_type]
        getattr(template, field).save(f"{field}{extension}", upload, save=False)
        setattr(template, f"{field}_content_type", content_type)
        written.append(getattr(template, field).name)
    return written


def _delete_files(names) -> None:
    storage = PrintTemplate._meta.get_field("logo").storage
    for name in [n for n in names if n]:
        storage.delete(name)


def _save(template: PrintTemplate, *, images: dict, old_files: list[str], insert: bool) -> None:
    written = _store_images(template, images)
    try:
        with transaction.atomic():
            template.save(force_insert=insert)
    except IntegrityError:
        _delete_files(written)
        raise ApplicationError(
            f"This {template.scope} already has a print template.",
            code="print_template_exists",
            status_code=409,
        ) from None
    except Exception:
        _delete_files(written)
        raise
    if old_files:
        transaction.on_commit(lambda: _delete_files(old_files))


def _images(files: dict) -> dict:
    return {
        field: (upload, _check_image(upload, field))
        for field, upload in files.items()
        if upload is not None
    }


@transaction.atomic
def print_template_create(
    *, tenant, actor, office_id=None, doctor_id=None, logo=None, signature=None, **fields
) -> PrintTemplate:
    """A template for the clinic (no office, no doctor), one office or one doctor."""
    with tenant_context(tenant):
        if office_id and doctor_id:
            raise ApplicationError(
                "A template is for the clinic, one office or one doctor, not both.",
                code="invalid_scope",
                field_errors={"doctor_id": ["Give office_id or doctor_id, not both."]},
            )
        office = get_in_clinic(Office.objects.all(), office_id, field="office_id", label="office")
        doctor = get_in_clinic(Doctor.objects.all(), doctor_id, field="doctor_id", label="doctor")
        unknown = set(fields) - set(EDITABLE_FIELDS)
        if unknown:
            raise field_error(sorted(unknown)[0], "Not a field of a print template.")
        template = PrintTemplate(office=office, doctor=doctor, created_by=actor, **fields)
        template.assign_tenant()
        full_clean(template, exclude=["office", "doctor", "created_by", "logo", "signature"],
                   validate_constraints=False)  # fmt: skip
        images = _images({"logo": logo, "signature": signature})
        _save(template, images=images, old_files=[], insert=True)
        audit_record(
            action="print_template.created",
            actor=actor,
            object=template,
            details={"scope": template.scope, "images": sorted(images)},
        )
    return template


@transaction.atomic
def print_template_update(
    *,
    tenant,
    actor,
    template: PrintTemplate,
    logo=None,
    signature=None,
    remove_logo: bool = False,
    remove_signature: bool = False,
    **changes,
) -> PrintTemplate:
    """Change a template's fields; a new logo or signature replaces the old file, which is
    deleted once the change has committed."""
    with tenant_context(tenant):
        template = PrintTemplate.objects.select_for_update().get(pk=template.pk)
        unknown = set(changes) - set(EDITABLE_FIELDS)
        if unknown:
            raise field_error(sorted(unknown)[0], "Not a field of a print template.")
        for name, value in changes.items():
            setattr(template, name, value)
        full_clean(template, exclude=["office", "doctor", "created_by", "logo", "signature"],
                   validate_constraints=False)  # fmt: skip
        images = _images({"logo": logo, "signature": signature})
        old_files = []
        for field, remove in (("logo", remove_logo), ("signature", remove_signature)):
            if (field in images or remove) and getattr(template, field).name:
                old_files.append(getattr(template, field).name)
                if field not in images:
                    setattr(template, field, "")
                    setattr(template, f"{field}_content_type", "")
        _save(template, images=images, old_files=old_files, insert=False)
        audit_record(
            action="print_template.updated",
            actor=actor,
            object=template,
            details={
                "fields": sorted(changes),
                "images": sorted(images),
                "removed": [f for f, r in (("logo", remove_logo), ("signature", remove_signature))
                            if r],
            },
        )  # fmt: skip
    return template


@transaction.atomic
def print_template_delete(*, tenant, actor, template: PrintTemplate) -> None:
    """Delete a template (prints fall back to the next one); its images go on commit."""
    with tenant_context(tenant):
        template = PrintTemplate.objects.select_for_update().get(pk=template.pk)
        files = [template.logo.name, template.signature.name]
        audit_record(
            action="print_template.deleted",
            actor=actor,
            object=template,
            details={"scope": template.scope},
        )
        template.delete()
        transaction.on_commit(lambda: _delete_files(files))
