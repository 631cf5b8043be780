"""The plan checks' data: several clinics of realistic volume, committed and analysed, built
once for the package (it takes most of its run time)."""

from __future__ import annotations

import pytest
from django.db import connections

from accounts.testing import create_clinic
from tenants.context import tenant_context
from tenants.testing import build
from tenants.tests.query_plans.plans import CLINIC_TABLES

PATIENTS_PER_CLINIC = 2000
CLINICS = 3


def _fill(clinic):
    """A clinic with realistic volume in its busy tables, and a row in every other one."""
    from clinical.models import (
        Doctor,
        Medicine,
        PrescriptionItem,
        SharedMedicine,
        ShortKey,
        ShortKeyItem,
    )
    from clinical.testing import bulk_clinical_records

    with tenant_context(clinic, user=clinic.owner):
        doctor = build(Doctor)
        medicine = build(Medicine)
        Medicine.objects.bulk_create(
            Medicine(name=f"Own medicine {n:03d}", strength="500 mg") for n in range(150)
        )
        build(ShortKey, code="SK1")
        patients = bulk_clinical_records(
            doctor=doctor, patients=PATIENTS_PER_CLINIC, prescriptions_per_patient=3
        )
        _fill_dental(doctor, patients[:PATIENTS_PER_CLINIC])
        # Lines naming a shared medicine and a clinic's own, so the lists join both tables.
        build(PrescriptionItem, shared_medicine=SharedMedicine.objects.order_by("name").first())
        build(ShortKeyItem, shared_medicine=SharedMedicine.objects.order_by("name").first())
        _fill_every_other_table(clinic, medicine)


def _fill_dental(doctor, patients):
    """A dental practice's records: findings and procedures for every patient, and the
    clinic's own observation templates beside the shared ones."""
    from clinical.models import DentalObservation, DentalProcedure, DentalTemplate

    DentalObservation.objects.bulk_create(
        DentalObservation(
            patient=patient,
            doctor=doctor,
            tooth_number=11 + n % 8,
            condition_type="caries",
            treatment_required=True,
        )
        for n, patient in enumerate(patients)
    )
    DentalProcedure.objects.bulk_create(
        DentalProcedure(
            patient=patient,
            doctor=doctor,
            procedure_code="D2391",
            procedure_name="Resin composite, one surface",
            teeth=[11 + n % 8],
        )
        for n, patient in enumerate(patients)
    )
    DentalTemplate.objects.bulk_create(
        DentalTemplate(name=f"Own template {n:03d}", condition_type="caries", notes="Notes")
        for n in range(100)
    )


def _attach_an_xray(clinic):
    """A stored file, so the download endpoint has something to serve."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    from clinical.models import DentalObservation
    from clinical.services.dental import dental_attachment_create

    png = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 64
    with tenant_context(clinic, user=clinic.owner):
        observation = DentalObservation.objects.order_by("id").first()
        dental_attachment_create(
            tenant=clinic,
            actor=clinic.owner,
            file=SimpleUploadedFile("xray.png", png, content_type="image/png"),
            file_type="xray",
            observation_id=observation.pk,
        )


def _letterhead_images(clinic):
    """A logo and a signature on the clinic's print template, so their endpoints serve."""
    import io

    from django.core.files.uploadedfile import SimpleUploadedFile
    from PIL import Image

    from clinical.models import PrintTemplate
    from clinical.services.printing import print_template_update

    def png():
        buffer = io.BytesIO()
        Image.new("RGB", (40, 20), "navy").save(buffer, format="PNG")
        return SimpleUploadedFile("image.png", buffer.getvalue(), content_type="image/png")

    with tenant_context(clinic, user=clinic.owner):
        for template in PrintTemplate.objects.all():
            print_template_update(
                tenant=clinic, actor=clinic.owner, template=template, logo=png(), signature=png()
            )


def _fill_every_other_table(clinic, medicine):
    """One row in each clinic table the bulk fill left empty, so detail endpoints have an
    object to show (the builders make valid rows of any tenant-owned model)."""
    from django.apps import apps

    from tenants.scoping import TenantOwnedModel

    for model in apps.get_models():
        if (
            issubclass(model, TenantOwnedModel)
            and not model._meta.abstract
            and not model._default_manager.exists()
        ):
            build(model)


@pytest.fixture(scope="package")
def clinics(django_db_setup, django_db_blocker, tmp_path_factory):
    """Several clinics of equal size, committed and analysed like production tables."""
    import io

    from django.core.management import call_command
    from django.test import override_settings

    from clinical.services.medicines import STARTER_CATALOGUE
    from conftest import _truncate_everything
    from tenants.models import Tenant
    from tenants.platform import platform_access

    media = override_settings(MEDIA_ROOT=tmp_path_factory.mktemp("media"))
    media.enable()
    with django_db_blocker.unblock():
        call_command("load_medicines", str(STARTER_CATALOGUE), stdout=io.StringIO())
        call_command("load_dental_templates", stdout=io.StringIO())
        made = [create_clinic(f"Plan Clinic {n}") for n in range(CLINICS)]
        # Other clinics, so the clinics table is not small enough to read whole.
        with platform_access(reason="plan checks: many clinics"):
            Tenant.objects.using("platform").bulk_create(
                Tenant(name=f"Other clinic {n}", code=f"other-{n}") for n in range(300)
            )
        for clinic in made:
            _fill(clinic)
        _attach_an_xray(made[0])
        _letterhead_images(made[0])
        # The owner role may ANALYZE (policies do not apply to statistics).
        with connections["owner"].cursor() as cursor:
            for table in sorted(CLINIC_TABLES):
                cursor.execute(f'ANALYZE "{table}"')
        connections["owner"].close()
        yield made
        _truncate_everything()
    media.disable()
