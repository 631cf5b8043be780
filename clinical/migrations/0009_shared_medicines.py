"""Issue 17, part 2: the shared medicines move to a reference table of their own (step 1 of 3).

This step makes room: the reference table `clinical_sharedmedicine` (row-level security kind
"reference": every clinic reads it, none writes it), a `shared_medicine` column on
prescription and short-key lines, and the lines' `medicine` column loses its single-column
foreign key and the catalogue trigger (a trigger Citus refuses). Step 2 (0010) moves the
rows, step 3 (0011) adds the constraints that check every reference again.
"""

import django.core.validators
import django.db.models.deletion
import django.utils.timezone
import tenants.scoping
import uuid
from decimal import Decimal
from django.db import migrations, models

from tenants import keys
from tenants.operations import EnableTenantRLS

LINE_TABLES = ("clinical_prescriptionitem", "clinical_shortkeyitem")


def _drop_triggers() -> list[str]:
    statements = []
    for table in LINE_TABLES:
        statements += keys.drop_catalog_ref_sql(table, "medicine_id")
    return statements + [f"DROP FUNCTION IF EXISTS {keys.CATALOG_REF_FUNCTION}()"]


def _restore_triggers() -> list[str]:
    statements = []
    for table in LINE_TABLES:
        statements += keys.add_catalog_ref_sql(table, "medicine_id", "clinical_medicine")
    return statements


class Migration(migrations.Migration):

    dependencies = [
        ('clinical', '0008_print_templates'),
        ('tenants', '0006_outboxemail'),
    ]

    operations = [
        migrations.CreateModel(
            name='SharedMedicine',
            fields=[
                ('id', models.UUIDField(default=uuid.uuid4, editable=False, primary_key=True, serialize=False)),
                ('name', models.CharField(max_length=200)),
                ('generic_name', models.CharField(blank=True, max_length=200)),
                ('composition', models.CharField(blank=True, max_length=500)),
                ('manufacturer', models.CharField(blank=True, max_length=200)),
                ('dosage_form', models.CharField(choices=[('tablet', 'Tablet'), ('capsule', 'Capsule'), ('syrup', 'Syrup'), ('suspension', 'Suspension'), ('solution', 'Oral solution'), ('drops', 'Drops'), ('injection', 'Injection'), ('cream', 'Cream'), ('ointment', 'Ointment'), ('gel', 'Gel'), ('lotion', 'Lotion'), ('inhaler', 'Inhaler'), ('nasal_spray', 'Nasal spray'), ('powder', 'Powder'), ('mouthwash', 'Mouthwash'), ('lozenge', 'Lozenge'), ('suppository', 'Suppository'), ('other', 'Other')], max_length=20)),
                ('strength', models.CharField(blank=True, max_length=100)),
                ('category', models.CharField(blank=True, max_length=100)),
                ('price', models.DecimalField(blank=True, decimal_places=2, max_digits=10, null=True, validators=[django.core.validators.MinValueValidator(Decimal('0')), django.core.validators.MaxValueValidator(Decimal('10000000'))])),
                ('prescription_only', models.BooleanField(default=True)),
                ('atc_code', models.CharField(blank=True, max_length=7, validators=[django.core.validators.RegexValidator('^[A-Z](\\d{2}([A-Z]([A-Z](\\d{2})?)?)?)?$', 'Enter a WHO ATC code such as N02BE01.', code='invalid_atc_code')])),
                ('notes', models.TextField(blank=True)),
                ('is_active', models.BooleanField(default=True)),
                ('created_at', models.DateTimeField(default=django.utils.timezone.now, editable=False)),
                ('updated_at', models.DateTimeField(auto_now=True)),
            ],
            options={
                'ordering': ['name', 'strength', 'id'],
                'abstract': False,
            },
        ),
        migrations.AddIndex(
            model_name='sharedmedicine',
            index=models.Index(fields=['name', 'strength', 'id'], name='sharedmedicine_name'),
        ),
        migrations.AddConstraint(
            model_name='sharedmedicine',
            constraint=models.UniqueConstraint(fields=('name', 'dosage_form', 'strength'), name='sharedmedicine_name_form_strength_uniq'),
        ),
        EnableTenantRLS('sharedmedicine', kind='reference'),
        migrations.AddField(
            model_name='prescriptionitem',
            name='shared_medicine',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='clinical.sharedmedicine'),
        ),
        migrations.AddField(
            model_name='shortkeyitem',
            name='shared_medicine',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='clinical.sharedmedicine'),
        ),
        # The catalogue triggers go (Citus refuses triggers); step 3 replaces them with the
        # composite foreign key to the clinic's own medicines.
        migrations.RunSQL(_drop_triggers(), reverse_sql=_restore_triggers()),
        migrations.AlterField(
            model_name='prescriptionitem',
            name='medicine',
            field=tenants.scoping.TenantForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='clinical.medicine'),
        ),
        migrations.AlterField(
            model_name='shortkeyitem',
            name='medicine',
            field=tenants.scoping.TenantForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='clinical.medicine'),
        ),
    ]
