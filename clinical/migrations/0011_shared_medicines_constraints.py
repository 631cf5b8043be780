"""Issue 17, part 2: the shared medicines move to a reference table of their own (step 3 of 3).

`clinical_medicine` now holds only clinics' rows: tenant_id NOT NULL, the plain clinic
policies, unique per clinic. Every line names exactly one medicine, and the database checks
either reference: the composite foreign key (tenant_id, medicine_id) →
clinical_medicine(tenant_id, id) for a clinic's own medicine (never another clinic's), the
ordinary foreign key to the reference table for a shared one.

`clinical_medicinecatalogue` is the catalogue a clinic reads: a UNION ALL of both tables,
`security_invoker` so that each table's row-level security applies to the reader
(clinical.models.medicines.CatalogueMedicine says why a view).
"""

import django.core.validators
import django.db.models.deletion
import django.utils.timezone
from decimal import Decimal
from django.db import migrations, models

from tenants.operations import AddTenantForeignKey, EnableTenantRLS

FIELDS = (
    "name, generic_name, composition, manufacturer, dosage_form, strength, category, price, "
    "prescription_only, atc_code, notes, is_active, created_at, updated_at"
)
CREATE_VIEW = (
    "CREATE VIEW clinical_medicinecatalogue WITH (security_invoker = true) AS "
    f"SELECT id, NULL::uuid AS tenant_id, true AS is_global, {FIELDS} "
    "FROM clinical_sharedmedicine "
    "UNION ALL "
    f"SELECT id, tenant_id, false AS is_global, {FIELDS} FROM clinical_medicine"
)


class Migration(migrations.Migration):

    dependencies = [
        ('clinical', '0010_shared_medicines_data'),
        ('tenants', '0006_outboxemail'),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name='medicine',
            name='medicine_tenant_name_form_strength_uniq',
        ),
        migrations.AlterField(
            model_name='medicine',
            name='tenant',
            field=models.ForeignKey(db_index=False, editable=False, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='tenants.tenant'),
        ),
        migrations.AddConstraint(
            model_name='medicine',
            constraint=models.UniqueConstraint(fields=('tenant', 'name', 'dosage_form', 'strength'), name='medicine_tenant_name_form_strength_uniq'),
        ),
        EnableTenantRLS('medicine', previous_kind='catalog'),
        AddTenantForeignKey('prescriptionitem', 'medicine'),
        AddTenantForeignKey('shortkeyitem', 'medicine'),
        migrations.AddConstraint(
            model_name='prescriptionitem',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('medicine__isnull', False), ('shared_medicine__isnull', True)), models.Q(('medicine__isnull', True), ('shared_medicine__isnull', False)), _connector='OR'), name='prescriptionitem_one_medicine'),
        ),
        migrations.AddConstraint(
            model_name='prescriptionitem',
            constraint=models.UniqueConstraint(fields=('tenant', 'prescription', 'shared_medicine'), name='prescriptionitem_tenant_shared_medicine_uniq'),
        ),
        migrations.AddConstraint(
            model_name='shortkeyitem',
            constraint=models.CheckConstraint(condition=models.Q(models.Q(('medicine__isnull', False), ('shared_medicine__isnull', True)), models.Q(('medicine__isnull', True), ('shared_medicine__isnull', False)), _connector='OR'), name='shortkeyitem_one_medicine'),
        ),
        migrations.AddConstraint(
            model_name='shortkeyitem',
            constraint=models.UniqueConstraint(fields=('tenant', 'short_key', 'shared_medicine'), name='shortkeyitem_tenant_shared_medicine_uniq'),
        ),
        migrations.CreateModel(
            name='CatalogueMedicine',
            fields=[
                ('id', models.UUIDField(editable=False, primary_key=True, serialize=False)),
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
                ('tenant', models.ForeignKey(blank=True, db_constraint=False, editable=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to='tenants.tenant')),
                ('is_global', models.BooleanField(editable=False)),
            ],
            options={
                'verbose_name': 'medicine',
                'db_table': 'clinical_medicinecatalogue',
                'ordering': ['name', 'strength', 'id'],
                'abstract': False,
                'managed': False,
            },
        ),
        migrations.RunSQL(CREATE_VIEW, reverse_sql="DROP VIEW IF EXISTS clinical_medicinecatalogue"),
    ]
